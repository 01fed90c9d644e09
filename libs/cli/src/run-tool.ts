// runTool: the one entry of every tool's main.ts. It parses the common and
// the tool's options (config files first, then the command line), sets up
// the log, runs the tool and maps what it throws to criu's exit codes:
//   UsageError → the message and a hint on stderr, exit 1, nothing done;
//   CriuError  → "Error (criu): message" in the log, its exitCode;
//   anything else → an internal error with its stack in the log, exit 1.
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { CriuError, UsageError, errnoOf, logSafe, type Logger } from '@criu-ts/base';
import { canonicalArgs, indexOptions, wantsHelpOrVersion } from './canonical-args.js';
import { commonOptions, type CommonOptions } from './common-options.js';
import { configTokens } from './config-file.js';
import { configSources, readConfigSources } from './config-sources.js';
import { helpText } from './help-text.js';
import { openLog, type OpenedLog } from './log-setup.js';
import type { OptionTable, OptionValues } from './option-spec.js';
import { lastRaw, parseCanonical } from './parse-options.js';
import { RPC_CONFIG_ENV, reportToService } from './service-channel.js';

export interface PositionalSpec {
  name: string;
  describe: string;
  choices?: readonly string[];
  required?: boolean;
}

export interface ToolContext<T extends OptionTable> {
  /** e.g. 'criu-dump' */
  readonly tool: string;
  readonly options: CommonOptions & OptionValues<T>;
  /** positional arguments by name; undefined when not given */
  readonly args: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** absolute -D directory */
  readonly imagesDir: string;
  /** absolute -W directory (the images dir by default) */
  readonly workDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export interface ToolSpec<T extends OptionTable> {
  name: string;
  /** one line for --help */
  summary: string;
  /** e.g. 'criu-dump [pre-dump] -t PID [options]' */
  usage: string;
  options: T;
  positionals?: readonly PositionalSpec[];
  run(ctx: ToolContext<T>): void | Promise<void>;
}

/** Where a tool reads its arguments and writes its messages: the process, or a test's stand-in. */
export interface ToolIo {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** instead of /etc/criu/default.conf */
  globalConfigPath?: string;
}

// libs/cli/package.json, found from libs/cli/dist/ or from a tool's bundle in
// tools/NAME/dist/ (both three levels below the workspace root)
const packageJson = JSON.parse(readFileSync(new URL('../../../libs/cli/package.json', import.meta.url), 'utf8')) as { version: string; criuVersion: string };
export const VERSION: string = packageJson.version;
/** the criu(8) version whose command line and image format we implement: what -V reports, as criu does */
export const CRIU_VERSION: string = packageJson.criuVersion;

export function processIo(): ToolIo {
  return {
    argv: process.argv.slice(2),
    env: process.env,
    cwd: process.cwd(),
    stdout: (text) => writeSync(1, text),
    stderr: (text) => writeSync(2, text),
  };
}

interface Prepared<T extends OptionTable> {
  options: CommonOptions & OptionValues<T>;
  args: Record<string, string | undefined>;
  imagesDir: string;
  workDir: string;
  notes: { warn: string[]; info: string[] };
}

function positionalArgs(specs: readonly PositionalSpec[], words: readonly string[]): Record<string, string | undefined> {
  if (words.length > specs.length) {
    const extra = words.slice(specs.length);
    throw new UsageError(`excessive parameter${extra.length > 1 ? 's' : ''}: ${extra.join(' ')}`);
  }
  const args: Record<string, string | undefined> = {};
  for (const [i, spec] of specs.entries()) {
    const word = words[i];
    if (word === undefined && spec.required === true) throw new UsageError(`missing ${spec.name}: ${spec.describe}`);
    if (word !== undefined && spec.choices !== undefined && !spec.choices.includes(word)) {
      throw new UsageError(`'${word}' is not a valid ${spec.name} (expected ${spec.choices.join(' or ')})`);
    }
    args[spec.name] = word;
  }
  return args;
}

/** criu_opts.config_file of an RPC request: read after the command line, so it overrides the request (criu's RPC config). */
function rpcConfigTokens(index: ReturnType<typeof indexOptions>, io: ToolIo): { tokens: string[]; notes: string[] } {
  const path = io.env[RPC_CONFIG_ENV];
  if (path === undefined || path === '') return { tokens: [], notes: [] };
  // like criu, a missing RPC config file (runc names /etc/criu/runc.conf whether or not it exists) is skipped with a note
  const read = readConfigSources([{ path: resolve(io.cwd, path), kind: 'env' }]);
  const tokens = configTokens(index, read.lines);
  return { tokens: tokens.tokens, notes: [...read.notes, ...tokens.notes] };
}

function prepare<T extends OptionTable>(spec: ToolSpec<T>, io: ToolIo): Prepared<T> {
  const table = { ...commonOptions, ...spec.options };
  const index = indexOptions(table);
  const cliTokens = canonicalArgs(index, io.argv);
  const sources = configSources({
    globalPath: io.globalConfigPath,
    env: io.env,
    cwd: io.cwd,
    configFile: lastRaw(cliTokens, 'config'),
    noDefaultConfig: lastRaw(cliTokens, 'no-default-config') === 'true',
  });
  const read = readConfigSources(sources);
  const fromFiles = configTokens(index, read.lines);
  const fromRpc = rpcConfigTokens(index, io);
  const parsed = parseCanonical(table, [...fromFiles.tokens, ...cliTokens, ...fromRpc.tokens]);
  const options = parsed.values as CommonOptions & OptionValues<T>;
  return {
    options,
    args: positionalArgs(spec.positionals ?? [], parsed.positionals),
    imagesDir: resolve(io.cwd, options.imagesDir),
    workDir: resolve(io.cwd, options.workDir ?? options.imagesDir),
    notes: { warn: read.notes, info: [...fromFiles.notes, ...fromRpc.notes] },
  };
}

/** --close FD: close each before anything else, as criu does. */
function closeFds(fds: readonly number[], notes: string[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
      notes.push(`Closed fd ${fd}`);
    } catch (error) {
      if (errnoOf(error) !== 'EBADF') throw error;
      notes.push(`fd ${fd} was not open`);
    }
  }
}

function usageFailure(name: string, error: UsageError, io: ToolIo): number {
  io.stderr(`${name}: ${error.message}\n`);
  if (error.hint !== undefined) io.stderr(`${name}: ${error.hint}\n`);
  io.stderr(`Try '${name} --help' for more information.\n`);
  return error.exitCode;
}

/** Map what a tool threw to an exit code, reporting it where criu would (and to the RPC service that ran the tool). */
export function reportFailure(name: string, error: unknown, io: ToolIo, log: Logger | undefined): number {
  reportToService(io.env, error instanceof Error ? error.message : String(error), error instanceof CriuError ? error.code : 'ECRIU');
  if (error instanceof UsageError) return usageFailure(name, error, io);
  const report = (line: string): void => (log === undefined ? io.stderr(`Error (criu): ${logSafe(line)}\n`) : log.error(line));
  if (error instanceof CriuError) {
    report(error.message);
    if (error.hint !== undefined) report(`hint: ${error.hint}`);
    return error.exitCode;
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  report(`internal error: ${text}`);
  return 1;
}

function contextFor<T extends OptionTable>(spec: ToolSpec<T>, prepared: Prepared<T>, io: ToolIo, log: Logger): ToolContext<T> {
  const { options, args, imagesDir, workDir } = prepared;
  return { tool: spec.name, options, args, log, imagesDir, workDir, env: io.env, cwd: io.cwd };
}

export function toolHelp<T extends OptionTable>(spec: ToolSpec<T>): string {
  const positionals = (spec.positionals ?? []).map((p) => `  ${p.name.padEnd(34)}${p.describe}`);
  const summary = positionals.length === 0 ? spec.summary : `${spec.summary}\n\nArguments:\n${positionals.join('\n')}`;
  return helpText(spec.usage, summary, [
    { title: `Options of ${spec.name}`, table: spec.options },
    { title: 'Common options', table: commonOptions },
  ]);
}

/** Parse, set up logging, run the tool; resolves to the exit status. main.ts: `process.exitCode = await runTool(spec)`. */
export async function runTool<T extends OptionTable>(spec: ToolSpec<T>, io: ToolIo = processIo()): Promise<number> {
  const early = wantsHelpOrVersion(io.argv);
  if (early === 'help') io.stdout(toolHelp(spec));
  if (early === 'version') io.stdout(`Version: ${CRIU_VERSION}\nGitID: criu-ts-${VERSION} (${spec.name})\n`);
  if (early !== undefined) return 0;
  let prepared: Prepared<T>;
  let opened: OpenedLog | undefined;
  try {
    prepared = prepare(spec, io);
    closeFds(prepared.options.close, prepared.notes.info);
    const { verbosity, logFile, logPid } = prepared.options;
    opened = openLog({ logFile, workDir: prepared.workDir, level: verbosity, logPid, where: 'criu' });
  } catch (error) {
    return reportFailure(spec.name, error, io, undefined);
  }
  const log = opened.logger;
  prepared.notes.warn.forEach((note) => log.warn(note));
  prepared.notes.info.forEach((note) => log.info(note));
  try {
    await spec.run(contextFor(spec, prepared, io, log));
    return 0;
  } catch (error) {
    return reportFailure(spec.name, error, io, log);
  } finally {
    opened.close();
  }
}
