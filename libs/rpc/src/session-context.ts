// What a request handler gets: the client's socket and credentials, the
// mode (swrk or a service connection), criu-launcher's channel, the log,
// and the page servers this session started as its children (for WAIT_PID).
import type { Logger } from '@criu-ts/base';
import type { PeerCred } from '@criu-ts/kernel';
import type { CriuReq, CriuResp } from './messages.js';

export interface SessionContext {
  /** the client's SOCK_SEQPACKET socket */
  readonly fd: number;
  readonly peer: PeerCred;
  /** criu swrk (the client's own child) rather than a criu service connection */
  readonly swrk: boolean;
  /** criu-launcher's channel (swrk under the umbrella): handed to criu-restore for rst_sibling */
  readonly siblingChannel?: number;
  readonly log: Logger;
  /** children started by PAGE_SERVER_CHLD: pid → their wait status once they end */
  readonly children: Map<number, Promise<number>>;
}

/** A handler answers one request: the response to send, or undefined when none is due (a self-dump that killed the client). */
export type Handler = (ctx: SessionContext, req: CriuReq, fds: number[]) => Promise<CriuResp | undefined>;
