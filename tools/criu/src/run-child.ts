// Run a tool as the umbrella's child: stdio inherited, the job-control and
// user signals forwarded, and its end passed on — the same exit status,
// or the same signal re-raised on ourselves.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The umbrella's pid, in the tool's environment: the process holding the fds the caller passed to `criu`. */
export const LAUNCHER_PID_ENV = 'CRIU_TS_LAUNCHER_PID';

export const forwardedSignals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/** Where a tool lives: $CRIU_TS_TOOLS_DIR/NAME (an executable) if set, else the sibling package's dist/main.js run by this node. */
export function toolCommand(tool: string, env: NodeJS.ProcessEnv): { file: string; args: string[] } {
  const dir = env.CRIU_TS_TOOLS_DIR;
  if (dir !== undefined && dir !== '') return { file: join(dir, tool), args: [] };
  return { file: process.execPath, args: [fileURLToPath(new URL(`../../${tool}/dist/main.js`, import.meta.url))] };
}

/** Die of `signal` as the child did; if it cannot kill us, exit 128+N like a shell would report it. */
function reraise(signal: NodeJS.Signals): void {
  if (signal !== 'SIGKILL' && signal !== 'SIGSTOP') {
    // a listener added then removed leaves the default action (undoing node's SIG_IGN of SIGPIPE)
    process.on(signal, () => undefined);
    process.removeAllListeners(signal);
  }
  process.exitCode = 128 + (constants.signals[signal] ?? 0);
  process.kill(process.pid, signal);
}

export function runCommandTool(tool: string, args: readonly string[], env: NodeJS.ProcessEnv): void {
  const command = toolCommand(tool, env);
  const script = command.args[0];
  if (!existsSync(script ?? command.file)) {
    process.stderr.write(`criu: ${tool} is not installed (looked for ${script ?? command.file})\n`);
    process.exitCode = 1;
    return;
  }
  // Node marks the fds we inherited close-on-exec, so the tool cannot inherit them: it can take one it
  // needs (criu swrk's socket, --inherit-fd's) from us with pidfd_getfd, knowing our pid from here
  const toolEnv = { ...env, [LAUNCHER_PID_ENV]: String(process.pid) };
  const child = spawn(command.file, [...command.args, ...args], { stdio: 'inherit', env: toolEnv, argv0: tool });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of forwardedSignals) process.on(signal, forward);
  child.once('error', (error) => {
    process.stderr.write(`criu: cannot run ${tool}: ${error.message}\n`);
    process.exitCode = 1;
  });
  child.once('exit', (code, signal) => {
    for (const s of forwardedSignals) process.removeListener(s, forward);
    if (signal !== null) reraise(signal);
    else process.exitCode = code ?? 1;
  });
}
