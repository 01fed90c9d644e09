// The channel between a tool and the RPC service that started it (criu
// swrk / criu service run each request as the tool's child, as upstream
// criu forks per request). The service passes one end of a UNIX stream
// socketpair and names its fd in CRIU_TS_SERVICE_FD; on it the tool
// writes one JSON record per line:
//   {"type":"notify","action":"post-dump","pid":N} — an action-script stage
//     (with notify_scripts): the tool blocks until the service answers
//     {"ok":true} or {"ok":false}, having asked its RPC client;
//   {"type":"notify","action":"orphan-pts-master","fd":N} — the same, with
//     the tool's fd N sent along (SCM_RIGHTS) to the client: the service
//     takes a copy of it (pidfd_getfd) while the tool waits;
//   {"type":"error","message":"...","code":"ESRCH"} — why the tool failed,
//     for the response's cr_errmsg and cr_errno.
// Without the variable nothing of this happens: a tool run by hand never
// writes or waits here.
import { readSync, writeSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';

export const SERVICE_FD_ENV = 'CRIU_TS_SERVICE_FD';
/** set to 1 when the RPC client asked for notify_scripts */
export const SERVICE_NOTIFY_ENV = 'CRIU_TS_SERVICE_NOTIFY';
/** set to 1 when the RPC client asked for orphan_pts_master: a pty slave whose master is not dumped gets a new pty, its master sent to the client */
export const SERVICE_ORPHAN_PTS_MASTER_ENV = 'CRIU_TS_SERVICE_ORPHAN_PTS_MASTER';
/** criu_opts.config_file: read after the command line, so that it overrides the request's options */
export const RPC_CONFIG_ENV = 'CRIU_TS_RPC_CONFIG_FILE';

type Env = Readonly<Record<string, string | undefined>>;

export type ServiceRecord =
  | { type: 'notify'; action: string; pid?: number; fd?: number }
  | { type: 'error'; message: string; code: string };

function channelFd(env: Env): number | undefined {
  const raw = env[SERVICE_FD_ENV];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

function send(fd: number, record: ServiceRecord): void {
  writeSync(fd, `${JSON.stringify(record)}\n`);
}

function readLine(fd: number): string {
  const chunks: Buffer[] = [];
  const one = Buffer.alloc(256);
  for (;;) {
    const got = readSync(fd, one, 0, one.length, null);
    if (got === 0) throw new CriuError('the RPC service closed its channel while the tool waited for an answer', { code: 'ECONNRESET' });
    chunks.push(Buffer.from(one.subarray(0, got)));
    const text = Buffer.concat(chunks).toString('utf8');
    const end = text.indexOf('\n');
    if (end >= 0) return text.slice(0, end);
  }
}

/** Whether this tool runs for an RPC client that wants action-script notifications. */
export function serviceNotifies(env: Env): boolean {
  return channelFd(env) !== undefined && env[SERVICE_NOTIFY_ENV] === '1';
}

/** Whether the RPC client asked for orphan_pts_master (DUMP and RESTORE). */
export function serviceOrphanPtsMaster(env: Env): boolean {
  return channelFd(env) !== undefined && env[SERVICE_ORPHAN_PTS_MASTER_ENV] === '1';
}

/**
 * Asks the RPC client, through the service, to run `action` (with our fd
 * `passFd` sent along, when given); a CriuError if it reports failure.
 */
export function notifyService(env: Env, action: string, pid: number | undefined, passFd?: number): void {
  const fd = channelFd(env);
  if (fd === undefined) return;
  send(fd, { type: 'notify', action, ...(pid === undefined ? {} : { pid }), ...(passFd === undefined ? {} : { fd: passFd }) });
  const answer = JSON.parse(readLine(fd)) as { ok?: unknown };
  if (answer.ok !== true) throw new CriuError(`${action}: the RPC client reported a failure of its ${action} script`, { code: 'EACTIONSCRIPT' });
}

/** Tells the service why the tool failed; a service that went away is no reason to fail differently. */
export function reportToService(env: Env, message: string, code: string): void {
  const fd = channelFd(env);
  if (fd === undefined) return;
  try {
    send(fd, { type: 'error', message, code });
  } catch (error) {
    if (!(error instanceof Error)) throw error;
  }
}
