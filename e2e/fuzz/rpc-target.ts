// Fuzz target for RPC messages: criu swrk / criu service read a criu_req
// from a SOCK_SEQPACKET socket, one message per packet, with the service's
// own decoder (@criu-ts/rpc decodeRequest over our proto/rpc.proto). It must
// return a request or throw our typed error (RpcError, code ERPC), never
// anything else, and never keep more than the packet's bytes.
import { decodeRequest, encodeRequest, type CriuReq } from '@criu-ts/rpc';
import { mutatedFrom } from './mutate.js';
import { FuzzFinding, expectBounded, expectCriuError, type FuzzTarget } from './target.js';

function seeds(): Buffer[] {
  const requests: CriuReq[] = [
    { type: 'DUMP', opts: { images_dir_fd: 5, pid: 4242, leave_running: true, log_level: 4, log_file: 'dump.log', shell_job: true } },
    { type: 'RESTORE', opts: { images_dir_fd: -1, images_dir: '/tmp/ckpt', inherit_fd: [{ key: 'pipe:[123]', fd: 3 }], ext_mnt: [{ key: 'a', val: 'b' }] }, notify_success: true },
    { type: 'FEATURE_CHECK', features: { mem_track: true, lazy_pages: false } },
    { type: 'WAIT_PID', pid: 7 },
    { type: 'PAGE_SERVER', opts: { images_dir_fd: 3, ps: { address: '127.0.0.1', port: 27000 } }, keep_open: true },
  ] as unknown as CriuReq[];
  return requests.map((request) => encodeRequest(request));
}

/** Fields of rpc.proto whose type is an enum: decoded as their names, which the input does not carry. */
const ENUM_FIELDS = new Set(['type', 'manage_cgroups_mode', 'pre_dump_mode', 'network_lock']);

/**
 * What a decoded message holds from the packet: its strings, bytes and
 * repeated fields (enum names not counted). A string counts its UTF-16 code
 * units, at most one per input byte: a byte that is not UTF-8 decodes to one
 * U+FFFD, which UTF-8 would spell in 3 bytes (counting those made a 9-byte
 * invalid address "hold" 25, seed 994831489).
 */
function heldBytes(value: unknown, key = ''): number {
  if (ENUM_FIELDS.has(key)) return 1;
  if (typeof value === 'string') return value.length;
  if (Buffer.isBuffer(value)) return value.length;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + Math.max(1, heldBytes(item)), 0);
  if (typeof value === 'object' && value !== null) return Object.entries(value).reduce((sum: number, [k, item]) => sum + heldBytes(item, k), 0);
  return 0;
}

export function rpcTarget(): FuzzTarget<Buffer> {
  return {
    name: 'rpc/criu_req',
    weight: 6,
    arbitrary: mutatedFrom(seeds(), { maxEdits: 4 }),
    check(packet) {
      let request: CriuReq;
      try {
        request = decodeRequest(packet);
      } catch (error) {
        expectCriuError(error, ['ERPC']);
        return 'rejected';
      }
      if (typeof request.type !== 'string') throw new FuzzFinding(`a decoded request without a type: ${JSON.stringify(Object.keys(request))}`);
      expectBounded('request fields', heldBytes(request), packet.length);
      return 'accepted';
    },
  };
}
