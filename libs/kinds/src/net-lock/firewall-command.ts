// Runs iptables / ip6tables / nft for the network lock: argument vectors,
// never a shell; stdin for an nft script; bounded in time. A failure is a
// CriuError naming the command and what it printed.
import { spawnSync } from 'node:child_process';
import { CriuError, type Logger } from '@criu-ts/base';

const TIMEOUT_MS = 30_000;

export interface CommandResult {
  ok: boolean;
  output: string;
}

/** Runs `argv`; never throws for a non-zero exit (the caller decides). */
export function runCommand(argv: readonly string[], log: Logger, input?: string): CommandResult {
  log.debug(`running ${argv.join(' ')}`);
  const result = spawnSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8', timeout: TIMEOUT_MS, stdio: ['pipe', 'pipe', 'pipe'] });
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code ?? 'ECRIU';
    throw new CriuError(`${argv[0]}: could not run it: ${result.error.message}`, { code, cause: result.error, hint: `install ${argv[0]} or use --network-lock skip` });
  }
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  return { ok: result.status === 0, output };
}

/** Runs `argv` and throws unless it exits 0. */
export function mustRun(argv: readonly string[], what: string, log: Logger, input?: string): void {
  const result = runCommand(argv, log, input);
  if (!result.ok) throw new CriuError(`${what}: ${argv.join(' ')} failed${result.output === '' ? '' : `: ${result.output}`}`, { code: 'ENETLOCK' });
}
