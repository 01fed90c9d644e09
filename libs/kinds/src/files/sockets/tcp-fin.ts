// A FIN (or ACK) from the peer, made up for a half-closed connection being
// restored (the kernel has no repair call that queues the peer's FIN): a raw
// IPv4/IPv6 packet with the header written here (ip(7) IPPROTO_RAW,
// ipv6(7)), from the peer's address and port to ours, sequence and
// acknowledgement numbers where the connection stands, marked 0xC114 so the
// network lock lets it through (as upstream's libsoccr does with libnet).
// IPv4-mapped connections send IPv4.
import { closeSync } from 'node:fs';
import { AF, IPPROTO, SO, SOCK, SOL, sendto, setsockoptInt, socket } from '@criu-ts/kernel';
import { SOCCR_MARK } from '../../net-lock/index.js';

export const TCP_FLAG = { FIN: 0x01, ACK: 0x10 } as const;

export interface FinPacket {
  family: number;
  /** 16 bytes each, network order; `from` is the peer */
  from: Buffer;
  fromPort: number;
  to: Buffer;
  toPort: number;
  seq: number;
  ack: number;
  window: number;
  flags: number;
}

function checksum(parts: readonly Buffer[]): number {
  let sum = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i += 2) sum += (part[i]! << 8) | (part[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function tcpHeader(p: FinPacket): Buffer {
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(p.fromPort, 0);
  tcp.writeUInt16BE(p.toPort, 2);
  tcp.writeUInt32BE(p.seq >>> 0, 4);
  tcp.writeUInt32BE(p.ack >>> 0, 8);
  tcp.writeUInt8(5 << 4, 12);
  tcp.writeUInt8(p.flags, 13);
  tcp.writeUInt16BE(Math.min(p.window, 0xffff), 14);
  return tcp;
}

/** The IP packet and where to send it (AF_INET: the addresses' first 4 bytes). */
export function finPacket(p: FinPacket): { packet: Buffer; addr: Buffer } {
  const tcp = tcpHeader(p);
  const v4 = p.family === AF.INET;
  const from = v4 ? p.from.subarray(0, 4) : p.from;
  const to = v4 ? p.to.subarray(0, 4) : p.to;
  const pseudo = Buffer.alloc(v4 ? 4 : 8);
  // the pseudo-header's protocol and TCP length (the addresses go first)
  if (v4) {
    pseudo.writeUInt16BE(IPPROTO.TCP, 0);
    pseudo.writeUInt16BE(tcp.length, 2);
  } else {
    pseudo.writeUInt32BE(tcp.length, 0);
    pseudo.writeUInt8(IPPROTO.TCP, 7);
  }
  tcp.writeUInt16BE(checksum([from, to, pseudo, tcp]), 16);
  const ip = Buffer.alloc(v4 ? 20 : 40);
  if (v4) {
    ip.writeUInt8(0x45, 0);
    ip.writeUInt16BE(ip.length + tcp.length, 2);
    ip.writeUInt16BE(242, 4);
    ip.writeUInt8(64, 8);
    ip.writeUInt8(IPPROTO.TCP, 9);
    from.copy(ip, 12);
    to.copy(ip, 16);
  } else {
    ip.writeUInt32BE(0x60000000, 0);
    ip.writeUInt16BE(tcp.length, 4);
    ip.writeUInt8(IPPROTO.TCP, 6);
    ip.writeUInt8(64, 7);
    from.copy(ip, 8);
    to.copy(ip, 24);
  }
  const addr = Buffer.alloc(v4 ? 16 : 28);
  addr.writeUInt16LE(p.family, 0);
  to.copy(addr, v4 ? 4 : 8);
  return { packet: Buffer.concat([ip, tcp]), addr };
}

/** Sends the made-up packet. */
export function sendFin(p: FinPacket): void {
  const { packet, addr } = finPacket(p);
  const fd = socket(p.family, SOCK.RAW | SOCK.CLOEXEC, IPPROTO.RAW);
  try {
    setsockoptInt(fd, SOL.SOCKET, SO.MARK, SOCCR_MARK);
    sendto(fd, packet, 0, addr);
  } finally {
    closeSync(fd);
  }
}
