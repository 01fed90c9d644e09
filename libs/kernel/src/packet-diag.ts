// packet_diag (sock_diag(7) for AF_PACKET, linux/packet_diag.h): every
// packet socket of this network namespace with what only the kernel can
// list — the device it is bound to, TPACKET version, reserve, timestamp
// source, copy threshold, option flags, multicast memberships, ring
// geometries and fanout. Request built and replies parsed over raw bytes.
import { AF } from './socket-calls.js';
import { encodeFamilyDiagRequest, parseAttributes, sockDiagDump } from './netlink-diag.js';

/** pdiag_show bits */
const PACKET_SHOW = { INFO: 0x1, MCLIST: 0x2, RING_CFG: 0x4, FANOUT: 0x8 } as const;
const PACKET_DIAG = { INFO: 0, MCLIST: 1, RX_RING: 2, TX_RING: 3, FANOUT: 4 } as const;
/** pdi_flags */
export const PDI = { RUNNING: 0x1, AUXDATA: 0x2, ORIGDEV: 0x4, VNETHDR: 0x8, LOSS: 0x10 } as const;

/** struct packet_diag_mclist: one membership (MAX_ADDR_LEN 32 address bytes) */
export interface PacketMembership {
  ifindex: number;
  count: number;
  type: number;
  addr: Buffer;
}

/** struct packet_diag_ring */
export interface PacketRingConfig {
  blockSize: number;
  blockNr: number;
  frameSize: number;
  frameNr: number;
  retireTmo: number;
  sizeofPriv: number;
  features: number;
}

export interface PacketDiagSocket {
  ino: number;
  type: number;
  /** the protocol as the socket holds it, host order (ETH_P_IP is 0x0800) */
  protocol: number;
  ifindex: number;
  version: number;
  reserve: number;
  copyThresh: number;
  tstamp: number;
  flags: number;
  memberships: PacketMembership[];
  /** PACKET_FANOUT's value (id | type << 16 | flags), undefined when not in a fanout group */
  fanout?: number;
  rxRing?: PacketRingConfig;
  txRing?: PacketRingConfig;
}

const MCLIST_SIZE = 44;

function ringOf(buf: Buffer | undefined): PacketRingConfig | undefined {
  if (buf === undefined || buf.length < 28) return undefined;
  const word = (i: number): number => buf.readUInt32LE(i * 4);
  return { blockSize: word(0), blockNr: word(1), frameSize: word(2), frameNr: word(3), retireTmo: word(4), sizeofPriv: word(5), features: word(6) };
}

function membershipsOf(buf: Buffer | undefined): PacketMembership[] {
  const list: PacketMembership[] = [];
  if (buf === undefined) return list;
  for (let at = 0; at + MCLIST_SIZE <= buf.length; at += MCLIST_SIZE) {
    const alen = buf.readUInt16LE(at + 10);
    list.push({ ifindex: buf.readUInt32LE(at), count: buf.readUInt32LE(at + 4), type: buf.readUInt16LE(at + 8), addr: Buffer.from(buf.subarray(at + 12, at + 12 + Math.min(alen, 32))) });
  }
  return list;
}

/** Parses a packet_diag reply payload (struct packet_diag_msg, 16 bytes, + attributes). */
export function parsePacketDiag(payload: Buffer): PacketDiagSocket {
  const attrs = parseAttributes(payload.subarray(16));
  const info = attrs.get(PACKET_DIAG.INFO) ?? Buffer.alloc(24);
  const fanout = attrs.get(PACKET_DIAG.FANOUT);
  return {
    type: payload.readUInt8(1),
    protocol: payload.readUInt16LE(2),
    ino: payload.readUInt32LE(4),
    ifindex: info.readUInt32LE(0),
    version: info.readUInt32LE(4),
    reserve: info.readUInt32LE(8),
    copyThresh: info.readUInt32LE(12),
    tstamp: info.readUInt32LE(16),
    flags: info.readUInt32LE(20),
    memberships: membershipsOf(attrs.get(PACKET_DIAG.MCLIST)),
    fanout: fanout === undefined ? undefined : fanout.readUInt32LE(0),
    rxRing: ringOf(attrs.get(PACKET_DIAG.RX_RING)),
    txRing: ringOf(attrs.get(PACKET_DIAG.TX_RING)),
  };
}

/** A dump request for every packet socket, with everything packet_diag can show. */
export function encodePacketDiagRequest(seq = 1): Buffer {
  const buf = encodeFamilyDiagRequest(AF.PACKET, 0, seq);
  buf.writeUInt32LE(PACKET_SHOW.INFO | PACKET_SHOW.MCLIST | PACKET_SHOW.RING_CFG | PACKET_SHOW.FANOUT, 24);
  return buf;
}

/** Every packet socket of this process's network namespace. */
export function listPacketSockets(): PacketDiagSocket[] {
  return sockDiagDump(encodePacketDiagRequest(), 'sock_diag(AF_PACKET)').map(parsePacketDiag);
}
