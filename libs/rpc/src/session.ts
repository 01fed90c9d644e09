// One client's session, as criu swrk serves it (and each connection of
// criu service): read a request, answer it, and go on only if it asked to
// (keep_open, allowed for the requests upstream allows it for) or it was a
// PRE_DUMP (then more PRE_DUMPs or the final DUMP follow). A malformed or
// oversized packet is answered with an error and the session goes on
// reading; the socket is never left with a half-read packet.
import { closeSync } from 'node:fs';
import type { Logger } from '@criu-ts/base';
import { F, FD_CLOEXEC, fcntl, peerCred } from '@criu-ts/kernel';
import { decodeRequest, MAX_REQUEST_BYTES, RpcError, type CriuReq, type ReqType } from './messages.js';
import { recvPacket } from './packet.js';
import { handlePageServerChild } from './page-server-child.js';
import { failureOf, send } from './respond.js';
import type { Handler, SessionContext } from './session-context.js';
import { handleFeatureCheck, handleVersion, handleWaitPid } from './simple-requests.js';
import { toolHandler } from './tool-requests.js';

export interface SessionInput {
  fd: number;
  swrk: boolean;
  /** criu-launcher's channel, when criu swrk runs under it */
  siblingChannel?: number;
  log: Logger;
}

const KEEP_OPEN_OK: ReadonlySet<ReqType> = new Set(['PAGE_SERVER', 'PAGE_SERVER_CHLD', 'CPUINFO_DUMP', 'CPUINFO_CHECK', 'FEATURE_CHECK', 'VERSION']);

const HANDLERS: Readonly<Partial<Record<ReqType, Handler>>> = {
  VERSION: handleVersion,
  FEATURE_CHECK: handleFeatureCheck,
  WAIT_PID: handleWaitPid,
  PAGE_SERVER_CHLD: handlePageServerChild,
};

function handlerFor(type: ReqType): Handler | undefined {
  return HANDLERS[type] ?? toolHandler(type);
}

type Next = { kind: 'request'; req: CriuReq; fds: number[] } | { kind: 'eof' } | { kind: 'bad' };

function nextRequest(ctx: SessionContext): Next {
  const packet = recvPacket(ctx.fd);
  if (packet.kind === 'eof') return packet;
  if (packet.kind === 'oversized') {
    send(ctx.fd, failureOf('EMPTY', new RpcError(`request of ${packet.bytes} bytes refused: the limit is ${MAX_REQUEST_BYTES}`)), ctx.log);
    return { kind: 'bad' };
  }
  try {
    return { kind: 'request', req: decodeRequest(packet.data), fds: packet.fds };
  } catch (error) {
    packet.fds.forEach((fd) => closeSync(fd));
    if (!(error instanceof RpcError)) throw error;
    ctx.log.error(`RPC error: ${error.message}`);
    send(ctx.fd, failureOf('EMPTY', error), ctx.log);
    return { kind: 'bad' };
  }
}

/** Serves one request; whether it succeeded. */
async function serveOne(ctx: SessionContext, req: CriuReq, fds: number[]): Promise<boolean> {
  try {
    if (req.keep_open === true && !KEEP_OPEN_OK.has(req.type)) throw new RpcError(`keep_open is not supported for ${req.type} requests`);
    const handler = handlerFor(req.type);
    if (handler === undefined) throw new RpcError(`Invalid req: ${req.type} is not a request criu serves`);
    const resp = await handler(ctx, req, fds);
    if (resp !== undefined) send(ctx.fd, resp, ctx.log);
    return resp?.success ?? true;
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    send(ctx.fd, failureOf(req.type, error), ctx.log);
    return false;
  } finally {
    fds.forEach((fd) => closeSync(fd));
  }
}

/** Serves the client on `fd` until its session ends; the exit status (0: the last request succeeded). */
export async function serveSession(input: SessionInput): Promise<number> {
  // the client's socket must not leak into the tools we run or the trees they restore
  fcntl(input.fd, F.SETFD, FD_CLOEXEC);
  // nor the launcher's channel: only criu-restore gets it, on purpose (tool-run.ts)
  if (input.siblingChannel !== undefined) fcntl(input.siblingChannel, F.SETFD, FD_CLOEXEC);
  const ctx: SessionContext = {
    fd: input.fd, peer: peerCred(input.fd), swrk: input.swrk, siblingChannel: input.siblingChannel, log: input.log, children: new Map(),
  };
  input.log.info(`RPC session with pid ${ctx.peer.pid} (uid ${ctx.peer.uid})`);
  let preDumping = false;
  for (;;) {
    const next = nextRequest(ctx);
    if (next.kind === 'eof') return 0;
    if (next.kind === 'bad') continue;
    const { req, fds } = next;
    if (preDumping && req.type !== 'PRE_DUMP' && req.type !== 'DUMP') {
      send(ctx.fd, failureOf(req.type, new RpcError(`Bad req seq: ${req.type} after PRE_DUMP (expected PRE_DUMP or DUMP)`)), ctx.log);
      return 1;
    }
    const ok = await serveOne(ctx, req, fds);
    preDumping = req.type === 'PRE_DUMP' && ok;
    if (req.keep_open !== true && !preDumping) return ok ? 0 : 1;
  }
}
