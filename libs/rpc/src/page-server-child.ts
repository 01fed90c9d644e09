// PAGE_SERVER_CHLD: a page server as this session's child (not daemonized):
// the response comes once it listens (its --status-fd), with its pid and
// port; WAIT_PID later reports how it ended.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CriuError } from '@criu-ts/base';
import { hasField, RpcError } from './messages.js';
import { requestArgs } from './request-args.js';
import type { Handler } from './session-context.js';
import { removeScratch, scratchDir, toolCommand } from './tool-run.js';

const READY_FD = 3;
const READY_TIMEOUT_MS = 30_000;

/** A wait status as waitpid(2) reports it. */
export function waitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal !== null) return (constants.signals[signal] ?? 0) & 0x7f;
  return ((code ?? 0) & 0xff) << 8;
}

export const handlePageServerChild: Handler = async (ctx, req) => {
  const opts = req.opts ?? {};
  if (!hasField(opts, 'ps')) throw new RpcError('PAGE_SERVER_CHLD needs criu_opts.ps (the port to listen on)');
  const ps = opts.ps as { address?: string; port?: number; fd?: number };
  if (ps.fd !== undefined) throw new RpcError('PAGE_SERVER_CHLD with ps.fd is not supported; give address and port');
  const args = requestArgs(opts, { mode: 'page-server', swrk: ctx.swrk, peerPid: ctx.peer.pid });
  const argv = [...args.argv, ...(ps.address === undefined ? [] : ['--address', ps.address]), ...(ps.port === undefined ? [] : ['--port', String(ps.port)]), '--status-fd', String(READY_FD)];
  const command = toolCommand('criu-page-server');
  const scratch = scratchDir();
  const out = openSync(join(scratch, 'output'), 'w', 0o600);
  const child = spawn(command.file, [...command.args, ...argv], { stdio: ['ignore', out, out, 'pipe'], argv0: 'criu-page-server' });
  closeSync(out);
  const ended = new Promise<number>((done) => child.once('exit', (code, signal) => done(waitStatus(code, signal))));
  void ended.then(() => removeScratch(scratch));
  const ready = child.stdio[READY_FD] as Readable;
  const started = await new Promise<boolean>((done) => {
    const timer = setTimeout(() => done(false), READY_TIMEOUT_MS);
    ready.once('data', () => done(true));
    ready.once('end', () => done(false));
    ended.then(() => clearTimeout(timer), () => clearTimeout(timer));
  });
  ready.destroy();
  if (!started || child.pid === undefined) {
    child.kill('SIGKILL');
    throw new CriuError('the page server did not start (see its log)', { code: 'ECRIU' });
  }
  ctx.children.set(child.pid, ended);
  return { type: req.type, success: true, ps: { pid: child.pid, ...(ps.port === undefined ? {} : { port: ps.port }) } };
};
