// Restore of AF_PACKET sockets (the other half of packet-socket.ts): a new
// socket of the type and protocol, bound to its device (sockaddr_ll with
// the ifindex; an old SOCK_PACKET one by the device's name, and only if it
// was bound), then, in the order the kernel needs them (the version and
// reserve before the rings), the SOL_PACKET options, memberships, rings
// and fanout group, last file flags, owner and socket options. A socket
// whose rings a task maps is made when that task's address space is
// (mappedPacketSocketFd), and is the one its fd gets. See packet(7).
import { closeSync, readFileSync, readdirSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { AF, SOCK, socket } from '@criu-ts/kernel';
import type { FileEntry, PacketRing, PacketSockEntry } from '@criu-ts/images';
import type { RestoreContext } from '../../restore-context.js';
import type { FdRestoreEnv } from '../fd-kind.js';
import { fileEntry, keepOwnFd, restoreFiles } from '../restore-table.js';
import { restoreFileParams, restoreSocketOpts } from './socket-opts-restore.js';
import { bindSocket, setsockoptBuffer, setsockoptValue } from './socket-restore-calls.js';

export const SOL_PACKET = 263;
/** SOL_PACKET option names (linux/if_packet.h) */
export const PACKET = {
  ADD_MEMBERSHIP: 1, RX_RING: 5, COPY_THRESH: 7, AUXDATA: 8, ORIGDEV: 9, VERSION: 10, RESERVE: 12, TX_RING: 13,
  LOSS: 14, VNET_HDR: 15, TIMESTAMP: 17, FANOUT: 18,
} as const;
const SOCK_PACKET = 10;
/** struct packet_mreq with MAX_ADDR_LEN (32) address bytes, as upstream passes it */
const MREQ_BYTES = 8 + 32;

export function describePacket(e: PacketSockEntry): string {
  return `packet socket id ${e.id} type ${e.type} protocol 0x${e.protocol.toString(16)} ifindex ${e.ifindex}`;
}

/** struct sockaddr_ll bound to a device (protocol 0: the socket's own). */
export function packetSockaddr(ifindex: number): Buffer {
  const addr = Buffer.alloc(20);
  addr.writeUInt16LE(AF.PACKET, 0);
  addr.writeInt32LE(ifindex, 4);
  return addr;
}

/** The name of the device with this index (/sys/class/net), for a SOCK_PACKET bind. */
function deviceName(ifindex: number, what: string): string {
  for (const name of readdirSync('/sys/class/net')) {
    if (Number.parseInt(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'), 10) === ifindex) return name;
  }
  throw new CriuError(`${what}: no network device with ifindex ${ifindex} to bind to`, { code: 'ENODEV' });
}

/** struct sockaddr {family, sa_data[14] = the device name}: how SOCK_PACKET binds. */
export function spktSockaddr(device: string): Buffer {
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(AF.PACKET, 0);
  addr.write(device.slice(0, 13), 2, 'latin1');
  return addr;
}

function ringRequest(ring: PacketRing): Buffer {
  const req = Buffer.alloc(28);
  [ring.block_size, ring.block_nr, ring.frame_size, ring.frame_nr, ring.retire_tmo, ring.sizeof_priv, ring.features].forEach((v, i) => req.writeUInt32LE(v >>> 0, i * 4));
  return req;
}

function setPacketOptions(sk: number, e: PacketSockEntry, what: string): void {
  setsockoptValue(sk, SOL_PACKET, PACKET.VERSION, e.version, what);
  setsockoptValue(sk, SOL_PACKET, PACKET.RESERVE, e.reserve, what);
  setsockoptValue(sk, SOL_PACKET, PACKET.TIMESTAMP, e.timestamp, what);
  setsockoptValue(sk, SOL_PACKET, PACKET.COPY_THRESH, e.copy_thresh, what);
  const flags: [boolean, number][] = [[e.aux_data, PACKET.AUXDATA], [e.orig_dev, PACKET.ORIGDEV], [e.vnet_hdr, PACKET.VNET_HDR], [e.loss, PACKET.LOSS]];
  for (const [on, name] of flags) if (on) setsockoptValue(sk, SOL_PACKET, name, 1, what);
  for (const m of e.mclist ?? []) {
    if (m.addr.length > 32) throw new CriuError(`${what}: a membership address of ${m.addr.length} bytes (at most 32)`, { code: 'EINVAL' });
    const mreq = Buffer.alloc(MREQ_BYTES);
    mreq.writeInt32LE(m.index, 0);
    mreq.writeUInt16LE(m.type, 4);
    mreq.writeUInt16LE(m.addr.length, 6);
    Buffer.from(m.addr).copy(mreq, 8);
    setsockoptBuffer(sk, SOL_PACKET, PACKET.ADD_MEMBERSHIP, mreq, what);
  }
  if (e.rx_ring !== undefined) setsockoptBuffer(sk, SOL_PACKET, PACKET.RX_RING, ringRequest(e.rx_ring), what);
  if (e.tx_ring !== undefined) setsockoptBuffer(sk, SOL_PACKET, PACKET.TX_RING, ringRequest(e.tx_ring), what);
  if (e.fanout !== undefined && e.fanout !== 0xffffffff) setsockoptValue(sk, SOL_PACKET, PACKET.FANOUT, e.fanout, what);
}

/**
 * Our fd of packet socket `id` for a mapping of its rings, made before the
 * task's fds (address spaces come first) and kept in the files table, so
 * the fd the task gets later is that same socket.
 */
export function mappedPacketSocketFd(ctx: RestoreContext, id: number, user: string): number {
  const table = restoreFiles(ctx);
  const known = table.opened.get(id);
  if (known !== undefined) return known;
  const entry = fileEntry(ctx, id, user);
  if (entry.psk === undefined) throw new CriuError(`${user}: files.img entry ${id} is no packet socket`, { code: 'EIMAGE' });
  const fd = keepOwnFd(ctx, makePacketSocket(entry.psk));
  table.opened.set(id, fd);
  ctx.log.info(`${user}: ${describePacket(entry.psk)} made for its mapped rings`);
  return fd;
}

export function openPacketSocket(_env: FdRestoreEnv, entry: FileEntry): number {
  const e = entry.psk;
  if (e === undefined) throw new CriuError(`files.img entry id ${entry.id}: type PACKETSK without a packet_sock_entry`, { code: 'EINVAL' });
  return makePacketSocket(e);
}

function makePacketSocket(e: PacketSockEntry): number {
  const what = describePacket(e);
  const sk = socket(AF.PACKET, e.type | SOCK.CLOEXEC, e.protocol);
  try {
    if (e.type === SOCK_PACKET) {
      if (e.ifindex > 0) bindSocket(sk, spktSockaddr(deviceName(e.ifindex, what)), what);
    } else {
      bindSocket(sk, packetSockaddr(e.ifindex), what);
      setPacketOptions(sk, e, what);
    }
    restoreFileParams(sk, e.flags, e.fown, what);
    restoreSocketOpts(sk, e.opts, what);
    return sk;
  } catch (error) {
    closeSync(sk);
    throw error;
  }
}
