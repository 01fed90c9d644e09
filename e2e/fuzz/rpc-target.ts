// Fuzz target for RPC messages (criu swrk / criu service read criu_req from
// a SOCK_SEQPACKET socket, one message per packet). Until the service is on
// main, requests are decoded with our schema codec (wire.ts's decodeMessage,
// as the images are) over CRIU's rpc.proto: from proto/ when our schemas
// carry it, else from the copy beside this file. Point `decodeRequest` at
// the service's own decoder once it exists: it must return a request or
// throw our typed error, never anything else, and never keep more than the
// packet's bytes.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { CriuError } from '@criu-ts/base';
import { decodeMessage, encodeMessage, hasMessageType, messageType, type ImageMessage } from '@criu-ts/images';
import { mutatedFrom } from './mutate.js';
import { FuzzFinding, expectBounded, expectCriuError, type FuzzTarget } from './target.js';

let vendored: protobuf.Namespace | undefined;

function requestType(name: string): protobuf.Type {
  if (hasMessageType(name)) return messageType(name);
  vendored ??= protobuf.parse(readFileSync(fileURLToPath(new URL('./rpc.proto', import.meta.url)), 'utf8'), { keepCase: true }).root.resolveAll();
  return vendored.lookupType(name);
}

/** The decoder under test: one packet → a criu_req, or our typed error. */
export function decodeRequest(packet: Buffer): ImageMessage {
  try {
    return decodeMessage(requestType('criu_req'), packet);
  } catch (error) {
    if (error instanceof CriuError || !(error instanceof Error)) throw error;
    // protobufjs' own errors (RangeError index out of range, missing required, ...) become ours
    throw new CriuError(`rpc: cannot decode criu_req: ${error.message}`, { code: 'EBADMSG', cause: error });
  }
}

function seeds(): Buffer[] {
  const type = requestType('criu_req');
  const requests: ImageMessage[] = [
    { type: 1, opts: { images_dir_fd: 5, pid: 4242, leave_running: true, log_level: 4, log_file: 'dump.log', shell_job: true } },
    { type: 2, opts: { images_dir_fd: -1, images_dir: '/tmp/ckpt', inherit_fd: [{ key: 'pipe:[123]', fd: 3 }], ext_mnt: [{ key: 'a', val: 'b' }] }, notify_success: true },
    { type: 9, features: { mem_track: true, lazy_pages: false } },
    { type: 11, pid: 7 },
    { type: 5, opts: { images_dir_fd: 3, ps: { address: '127.0.0.1', port: 27000 } }, keep_open: true },
  ];
  return requests.map((request) => encodeMessage(type, request));
}

/** Bytes held by a decoded message's strings, bytes and repeated fields. */
function heldBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (Buffer.isBuffer(value)) return value.length;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + Math.max(1, heldBytes(item)), 0);
  if (typeof value === 'object' && value !== null) return Object.values(value).reduce((sum: number, item) => sum + heldBytes(item), 0);
  return 0;
}

export function rpcTarget(): FuzzTarget<Buffer> {
  return {
    name: 'rpc/criu_req',
    weight: 6,
    arbitrary: mutatedFrom(seeds(), { maxEdits: 4 }),
    check(packet) {
      let request: ImageMessage;
      try {
        request = decodeRequest(packet);
      } catch (error) {
        expectCriuError(error, ['EBADMSG', 'EINVAL']);
        return 'rejected';
      }
      if (typeof request.type !== 'number') throw new FuzzFinding(`a decoded request without a type: ${JSON.stringify(Object.keys(request))}`);
      expectBounded('request fields', heldBytes(request), packet.length);
      return 'accepted';
    },
  };
}
