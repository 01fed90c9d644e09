// AF_PACKET sockets → files.img file_entry {type PACKETSK, psk:
// packet_sock_entry}, as upstream CRIU 4.x writes them (packet(7)). Saved,
// from packet_diag (sock_diag(7)): type (SOCK_RAW, SOCK_DGRAM or the old
// SOCK_PACKET), protocol (network order, as socket(2) takes it), the
// device it is bound to (ifindex), TPACKET version, reserve, timestamp
// source, copy threshold, PACKET_AUXDATA/ORIGDEV/VNET_HDR/LOSS, multicast
// memberships (mclist), fanout group, RX and TX ring geometries; file
// flags, owner and socket options. Not saved, as upstream: the frames
// queued or in the rings (a packet socket sees traffic, not a stream).
// Refused: a membership added more than once (its count is not restored,
// as upstream). Restore: packet-restore.ts.
import { UnsupportedError } from '@criu-ts/base';
import { AF, SO, SOL, getsockoptInt, listPacketSockets, PDI, type PacketDiagSocket, type PacketRingConfig } from '@criu-ts/kernel';
import { FdTypes, type FileEntry, type PacketRing, type PacketSockEntry } from '@criu-ts/images';
import type { DumpContext } from '../../dump-context.js';
import type { FdDumpEnv, FdKind } from '../fd-kind.js';
import { S_IF, fileType, type OpenFd } from '../open-fd.js';
import { inOtherNetNs, netNsId } from './socket-ns.js';
import { readSocketOpts } from './socket-opts.js';
import { openPacketSocket } from './packet-restore.js';

const PACKET_TABLE_KEY = 'sockets.packet-diag';

function isPacketSocket(fd: OpenFd): boolean {
  if (fd.target.kind !== 'socket' && fileType(fd.stat) !== S_IF.SOCK) return false;
  return getsockoptInt(fd.local, SOL.SOCKET, SO.DOMAIN) === AF.PACKET;
}

/** packet_diag's view of every packet socket, asked once per dump. */
function packetTable(ctx: DumpContext): Map<number, PacketDiagSocket> {
  return ctx.shared(PACKET_TABLE_KEY, () => new Map(listPacketSockets().map((sk) => [sk.ino, sk])));
}

/** 16-bit host order ↔ network order */
export const swap16 = (n: number): number => ((n & 0xff) << 8) | ((n >> 8) & 0xff);

const ringEntry = (r: PacketRingConfig | undefined): PacketRing | undefined =>
  r === undefined
    ? undefined
    : { block_size: r.blockSize, block_nr: r.blockNr, frame_size: r.frameSize, frame_nr: r.frameNr, retire_tmo: r.retireTmo, sizeof_priv: r.sizeofPriv, features: r.features };

function refuse(fd: OpenFd, kind: string): never {
  throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind });
}

function dumpPacketSocket(env: FdDumpEnv, fd: OpenFd, fileId: number): FileEntry {
  const ino = Number(fd.stat.ino);
  if (inOtherNetNs(env.ctx, fd.local)) refuse(fd, `packet socket ino ${ino} of a network namespace other than the tree's`);
  const sk = packetTable(env.ctx).get(ino);
  if (sk === undefined) refuse(fd, `packet socket ino ${ino} that packet_diag does not list`);
  const repeated = sk.memberships.find((m) => m.count !== 1);
  if (repeated !== undefined) refuse(fd, `packet socket ino ${ino} with a membership (type ${repeated.type}, ifindex ${repeated.ifindex}) added ${repeated.count} times`);
  const protocol = getsockoptInt(fd.local, SOL.SOCKET, SO.PROTOCOL);
  const psk: PacketSockEntry = {
    id: fileId,
    type: sk.type,
    protocol: swap16(sk.protocol),
    flags: fd.flags,
    ifindex: sk.ifindex,
    fown: fd.fown,
    opts: readSocketOpts(fd.local, { family: AF.PACKET, type: sk.type, protocol }),
    version: sk.version,
    reserve: sk.reserve,
    aux_data: (sk.flags & PDI.AUXDATA) !== 0,
    orig_dev: (sk.flags & PDI.ORIGDEV) !== 0,
    vnet_hdr: (sk.flags & PDI.VNETHDR) !== 0,
    loss: (sk.flags & PDI.LOSS) !== 0,
    timestamp: sk.tstamp,
    copy_thresh: sk.copyThresh,
    mclist: sk.memberships.map((m) => ({ index: m.ifindex, type: m.type, addr: new Uint8Array(m.addr) })),
    ns_id: netNsId(env.ctx, fd.pid),
  };
  if (sk.fanout !== undefined) psk.fanout = sk.fanout;
  const rx = ringEntry(sk.rxRing);
  const tx = ringEntry(sk.txRing);
  if (rx !== undefined) psk.rx_ring = rx;
  if (tx !== undefined) psk.tx_ring = tx;
  env.log.info(`fd ${fd.fd}: packet socket ino ${ino} type ${sk.type} protocol 0x${sk.protocol.toString(16)} ifindex ${sk.ifindex} version ${sk.version}`);
  return { type: FdTypes.PACKETSK, id: fileId, psk };
}

export const packetSocketKind: FdKind = {
  name: 'packetsk',
  matches: isPacketSocket,
  dump: dumpPacketSocket,
  type: FdTypes.PACKETSK,
  open: openPacketSocket,
};
