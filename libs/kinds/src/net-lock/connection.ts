// A TCP connection as the network lock names it: both ends' addresses (16
// bytes, network order; IPv4 in the first 4) and ports, and the family the
// firewall sees — an IPv4-mapped IPv6 connection (::ffff:a.b.c.d) travels
// as IPv4, so it is locked with iptables / the conns4 set, as upstream CRIU
// does. Addresses are written out by us (never image text passed through).
import { AF } from '@criu-ts/kernel';

export interface Connection {
  family: number;
  src: Buffer;
  srcPort: number;
  dst: Buffer;
  dstPort: number;
}

/** The IPv4 view of a v4-mapped IPv6 connection (upstream tests the peer's address: bytes 8..11 = 00 00 ff ff). */
export function wireForm(conn: Connection): Connection {
  const mapped = conn.family === AF.INET6 && conn.dst.readUInt32BE(8) === 0xffff;
  if (!mapped) return conn;
  const v4 = (address: Buffer): Buffer => Buffer.concat([address.subarray(12, 16), Buffer.alloc(12)]);
  return { family: AF.INET, src: v4(conn.src), srcPort: conn.srcPort, dst: v4(conn.dst), dstPort: conn.dstPort };
}

/** Text form of an address for iptables and nft: dotted quad, or eight full hex groups. */
export function addressText(family: number, address: Buffer): string {
  if (family === AF.INET) return [...address.subarray(0, 4)].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(address.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/** "127.0.0.1:5000 - 127.0.0.1:41234" for logs. */
export function connectionText(conn: Connection): string {
  const wire = wireForm(conn);
  return `${addressText(wire.family, wire.src)}:${wire.srcPort} - ${addressText(wire.family, wire.dst)}:${wire.dstPort}`;
}
