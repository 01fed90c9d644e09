// Runs one request's tool as a child, as upstream criu forks per request:
// the tool parses the options the request became (request-args.ts) with
// the very parser, config files and checks of the CLI, and runs the same
// library code. Between them runs the service channel (libs/cli
// service-channel.ts): the tool's notify records are relayed to the RPC
// client and its answer sent back (an fd a record names is taken from the
// tool with pidfd_getfd and sent along); its error record becomes
// cr_errmsg and cr_errno. The tool's stdout and stderr go to a private file, copied to
// our stderr once it ends (the client's socket is never the tool's stdio).
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@criu-ts/base';
import { RPC_CONFIG_ENV, SERVICE_FD_ENV, SERVICE_NOTIFY_ENV, SERVICE_ORPHAN_PTS_MASTER_ENV, SIBLING_FD_ENV } from '@criu-ts/cli';
import { SOCK, pidfdGetfd, pidfdOpen, socketpair } from '@criu-ts/kernel';

export interface ToolRunInput {
  /** e.g. 'criu-dump' */
  tool: string;
  args: readonly string[];
  log: Logger;
  /** criu_opts.config_file */
  configFile?: string;
  /** notify_scripts: relay the tool's action-script stages to the client, with our copies of the fds it sent along */
  notify?: (action: string, pid: number | undefined, fds: readonly number[]) => boolean;
  /** orphan_pts_master: the tool hands a new pty master to the client (through notify) */
  orphanPtsMaster?: boolean;
  /** fds the tool gets: our `fd` as its fd `at` (inherit_fd, ps.fd) */
  passFds?: readonly PassedFd[];
  /** a private directory for the tool's files (see scratchDir) */
  scratch: string;
  /** criu-launcher's channel, for a criu-restore asked for rst_sibling (libs/cli launcher-channel.ts) */
  siblingChannel?: number;
}

export interface PassedFd {
  at: number;
  fd: number;
}

export interface ToolOutcome {
  /** exit status, or null when killed by a signal */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** the tool's own account of its failure */
  error?: { message: string; code: string };
  /** what it wrote to stdout/stderr */
  output: string;
}

/** How long the channel may stay open after the tool exited (a descendant holding it): then we stop waiting. */
const CHANNEL_DRAIN_MS = 2000;

/** The tool's main script: $CRIU_TS_TOOLS_DIR/NAME if set (as the umbrella does), else the sibling package. */
export function toolCommand(tool: string, env: NodeJS.ProcessEnv = process.env): { file: string; args: string[] } {
  const dir = env.CRIU_TS_TOOLS_DIR;
  if (dir !== undefined && dir !== '') return { file: join(dir, tool), args: [] };
  const here = dirname(fileURLToPath(import.meta.url));
  return { file: process.execPath, args: [resolve(here, `../../../tools/${tool}/dist/main.cjs`)] };
}

/** A private (0700) directory for one request's files; remove it with rmSync(recursive). */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'criu-rpc-'));
}

type Stdio = 'ignore' | number;

function stdioFor(outFd: number, channelAt: number, channel: number, passFds: readonly PassedFd[]): Stdio[] {
  const top = Math.max(channelAt, ...passFds.map((pass) => pass.at));
  const stdio: Stdio[] = Array.from({ length: top + 1 }, () => 'ignore');
  stdio[0] = 'ignore';
  stdio[1] = outFd;
  stdio[2] = outFd;
  for (const pass of passFds) stdio[pass.at] = pass.fd;
  stdio[channelAt] = channel;
  return stdio;
}

type ChannelRecord = { type?: string; action?: string; pid?: number; fd?: number; message?: string; code?: string };

/** Our copy of the tool's fd `fd` (pidfd_getfd; the tool waits for the answer meanwhile). */
function takeToolFd(toolPid: number, fd: number): number {
  const pidfd = pidfdOpen(toolPid);
  try {
    return pidfdGetfd(pidfd, fd);
  } finally {
    closeSync(pidfd);
  }
}

/** Relays one notify record; whether the client's handler succeeded. */
function relayRecord(record: ChannelRecord, input: ToolRunInput, toolPid: number | undefined): boolean {
  if (input.notify === undefined) return true;
  const action = String(record.action);
  if (record.fd === undefined) return input.notify(action, record.pid, []);
  let fd: number;
  try {
    if (toolPid === undefined || !Number.isInteger(record.fd)) throw new Error(`no tool to take fd ${String(record.fd)} from`);
    fd = takeToolFd(toolPid, record.fd);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    input.log.error(`${input.tool}: cannot take its fd ${String(record.fd)} for the ${action} notification: ${error.message}`);
    return false;
  }
  try {
    return input.notify(action, record.pid, [fd]);
  } finally {
    closeSync(fd);
  }
}

function serveChannel(socket: Socket, input: ToolRunInput, outcome: { error?: ToolOutcome['error'] }, tool: { readonly pid?: number }): void {
  let pending = '';
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      let record: ChannelRecord;
      try {
        record = JSON.parse(line) as typeof record;
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        input.log.warn(`${input.tool}: unreadable service channel record: ${line.slice(0, 200)}`);
        continue;
      }
      if (record.type === 'error') outcome.error ??= { message: String(record.message), code: String(record.code) };
      if (record.type === 'notify') socket.write(`${JSON.stringify({ ok: relayRecord(record, input, tool.pid) })}\n`);
    }
  });
  socket.on('error', (error) => input.log.warn(`${input.tool}: service channel: ${error.message}`));
}

/** Runs the tool to its end. */
export async function runToolChild(input: ToolRunInput): Promise<ToolOutcome> {
  const outPath = join(input.scratch, 'output');
  const outFd = openSync(outPath, 'w', 0o600);
  const [ours, theirs] = socketpair(SOCK.STREAM | SOCK.CLOEXEC);
  const channelAt = Math.max(2, ...(input.passFds ?? []).map((pass) => pass.at)) + 1;
  const passFds = [...(input.passFds ?? [])];
  const command = toolCommand(input.tool);
  const env: NodeJS.ProcessEnv = { ...process.env, [SERVICE_FD_ENV]: String(channelAt) };
  delete env[SIBLING_FD_ENV];
  if (input.siblingChannel !== undefined) {
    passFds.push({ at: channelAt + 1, fd: input.siblingChannel });
    env[SIBLING_FD_ENV] = String(channelAt + 1);
  }
  if (input.notify !== undefined) env[SERVICE_NOTIFY_ENV] = '1';
  if (input.orphanPtsMaster === true) env[SERVICE_ORPHAN_PTS_MASTER_ENV] = '1';
  if (input.configFile !== undefined) env[RPC_CONFIG_ENV] = input.configFile;
  input.log.info(`running ${input.tool} ${input.args.join(' ')}`);
  const socket = new Socket({ fd: ours, readable: true, writable: true });
  const outcome: { error?: ToolOutcome['error'] } = {};
  const running: { pid?: number } = {};
  serveChannel(socket, input, outcome, running);
  const ended = new Promise<void>((done) => socket.once('close', () => done()));
  let child;
  try {
    child = spawn(command.file, [...command.args, ...input.args], { stdio: stdioFor(outFd, channelAt, theirs, passFds), env, argv0: input.tool });
    running.pid = child.pid;
  } finally {
    closeSync(theirs);
    closeSync(outFd);
  }
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('error', (error) => {
      input.log.error(`cannot run ${input.tool}: ${error.message}`);
      done({ code: 127, signal: null });
    });
    child.once('exit', (code, signal) => done({ code, signal }));
  });
  const drain = setTimeout(() => socket.destroy(), CHANNEL_DRAIN_MS);
  await ended;
  clearTimeout(drain);
  const output = readFileSync(outPath, 'utf8');
  if (output.length > 0) writeSync(2, output);
  return { ...exit, error: outcome.error, output };
}

/** Removes a scratch directory made by scratchDir. */
export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
