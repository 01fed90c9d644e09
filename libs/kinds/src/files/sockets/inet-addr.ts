// Inet addresses as inet_sk_entry holds them: src_addr/dst_addr are the
// address bytes (network order) copied into u32 words of the host (x86_64:
// little-endian) — one word for IPv4, four for IPv6 — and ports as numbers.
// Raw sockaddr_in / sockaddr_in6 (ip(7), ipv6(7)) from getsockname(2).
import { AF } from '@criu-ts/kernel';

export interface InetEndpoint {
  port: number;
  /** 16 bytes, network order; IPv4 in the first 4 */
  address: Buffer;
}

/** Address bytes → the image's u32 words (1 for AF_INET, 4 for AF_INET6). */
export function addressWords(family: number, address: Buffer): number[] {
  const count = family === AF.INET6 ? 4 : 1;
  const words: number[] = [];
  for (let i = 0; i < count; i++) words.push(address.readUInt32LE(i * 4));
  return words;
}

/** A raw sockaddr_in / sockaddr_in6 → port and address; undefined for other families or short buffers. */
export function parseInetSockaddr(raw: Buffer): InetEndpoint | undefined {
  if (raw.length < 8) return undefined;
  const family = raw.readUInt16LE(0);
  const address = Buffer.alloc(16);
  if (family === AF.INET) {
    raw.copy(address, 0, 4, 8);
  } else if (family === AF.INET6 && raw.length >= 24) {
    raw.copy(address, 0, 8, 24);
  } else {
    return undefined;
  }
  return { port: raw.readUInt16BE(2), address };
}

/**
 * Whether an IPv6 address needs a scope (interface) to bind: link-local
 * fe80::/10, and node/link-local multicast — then the bound device is saved.
 */
export function needsScopeId(address: Buffer): boolean {
  if (address[0] === 0xff) return (address[1] & 0x0f) === 0x01 || (address[1] & 0x0f) === 0x02;
  return address[0] === 0xfe && (address[1] & 0xc0) === 0x80;
}

/** Text form for logs: 127.0.0.1:80, [::1]:53. */
export function endpointText(family: number, endpoint: InetEndpoint): string {
  if (family === AF.INET) return `${[...endpoint.address.subarray(0, 4)].join('.')}:${endpoint.port}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(endpoint.address.readUInt16BE(i).toString(16));
  return `[${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]:${endpoint.port}`;
}
