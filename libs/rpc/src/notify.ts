// notify_scripts: at each action-script stage the client gets a criu_resp
// of type NOTIFY naming the stage (and, for setup-namespaces and
// post-restore, the root's pid; for orphan-pts-master, with a pty master
// fd attached as SCM_RIGHTS, as upstream sends it) and answers with a criu_req NOTIFY whose
// notify_success says whether its handler succeeded. Anything else — a
// failure, another request, a malformed packet, the client gone — fails
// the stage, and so the action.
import { decodeRequest, encodeResponse } from './messages.js';
import { recvPacket, sendPacket } from './packet.js';
import type { SessionContext } from './session-context.js';

export function relayNotify(ctx: SessionContext, action: string, pid: number | undefined, fds: readonly number[] = []): boolean {
  const notify = pid === undefined ? { script: action } : { script: action, pid };
  ctx.log.info(`RPC notify: ${action}${pid === undefined ? '' : ` (pid ${pid})`}${fds.length === 0 ? '' : ' with an fd'}`);
  try {
    sendPacket(ctx.fd, encodeResponse({ type: 'NOTIFY', success: true, notify }), fds);
    const packet = recvPacket(ctx.fd);
    if (packet.kind !== 'data') {
      ctx.log.error(`RPC client ${packet.kind === 'eof' ? 'went away' : 'sent an oversized answer'} during the ${action} notification`);
      return false;
    }
    const answer = decodeRequest(packet.data);
    if (answer.type !== 'NOTIFY' || answer.notify_success !== true) {
      ctx.log.error(`RPC client reported script error (${action})`);
      return false;
    }
    return true;
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    ctx.log.error(`RPC notify ${action}: ${error.message}`);
    return false;
  }
}
