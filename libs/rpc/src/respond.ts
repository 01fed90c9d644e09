// Building and sending responses: success, or failure with cr_errno and
// cr_errmsg (the first error, as upstream's log_first_err gives it).
import { constants } from 'node:os';
import { CriuError, type Logger } from '@criu-ts/base';
import { EBADRQC, RpcError, encodeResponse, type CriuResp, type ReqType } from './messages.js';
import { sendPacket } from './packet.js';

/** The errno a failure's code names (ESRCH, EEXIST, ...), EBADRQC for bad options, else none. */
export function errnoForCode(code: string): number | undefined {
  if (code === 'EUSAGE' || code === 'ERPC') return EBADRQC;
  const number = (constants.errno as Readonly<Record<string, number>>)[code];
  return typeof number === 'number' ? number : undefined;
}

export function failure(type: ReqType, message: string, code: string): CriuResp {
  const errno = errnoForCode(code);
  return { type, success: false, cr_errmsg: message, ...(errno === undefined ? {} : { cr_errno: errno }) };
}

/** A failure response for something thrown while serving a request. */
export function failureOf(type: ReqType, error: unknown): CriuResp {
  if (error instanceof RpcError) return { type, success: false, cr_errmsg: error.message, cr_errno: error.errno };
  if (error instanceof CriuError) return failure(type, error.message, error.code);
  return failure(type, error instanceof Error ? error.message : String(error), 'ECRIU');
}

export function send(fd: number, resp: CriuResp, log: Logger, fds: readonly number[] = []): void {
  if (!resp.success) log.debug(`RPC ${resp.type} failed: ${resp.cr_errmsg ?? ''}`);
  sendPacket(fd, encodeResponse(resp), fds);
}
