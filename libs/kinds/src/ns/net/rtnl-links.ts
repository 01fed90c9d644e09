// The links of the calling thread's network namespace, from an rtnetlink
// RTM_GETLINK dump (rtnetlink(7), netdevice(7)): index, ARPHRD type,
// IFF_* flags, name, MTU, hardware address, the peer's index and netnsid
// (IFLA_LINK, IFLA_LINK_NETNSID), master and the link kind (veth, bridge,
// macvlan, tun, ...) with its IFLA_INFO_DATA. Run it inside the namespace
// (net-ns-enter.ts inNetNs): the socket answers for the namespace it is made in.
import { NETLINK_ROUTE, netlinkDump, parseAttributes } from '@criu-ts/kernel';

const RTM_GETLINK = 18;
const NLM_F_REQUEST_DUMP = 0x1 | 0x300;
const IFLA = { ADDRESS: 1, IFNAME: 3, MTU: 4, LINK: 5, MASTER: 10, LINKINFO: 18, LINK_NETNSID: 37 } as const;
const IFLA_INFO = { KIND: 1, DATA: 2 } as const;

/** ARPHRD_* of the links we know (if_arp.h) */
export const ARPHRD = { ETHER: 1, LOOPBACK: 772, NONE: 65534, SIT: 776 } as const;
/** IFF_* (if.h) */
export const IFF = { UP: 0x1, LOOPBACK: 0x8 } as const;

export interface Link {
  index: number;
  /** ARPHRD_* */
  type: number;
  flags: number;
  name: string;
  mtu: number;
  address?: Buffer;
  /** IFLA_LINK: the peer's (or lower device's) index */
  link?: number;
  /** IFLA_LINK_NETNSID: the namespace of that peer, as this namespace numbers it */
  linkNetnsid?: number;
  master?: number;
  /** IFLA_INFO_KIND: 'veth', 'bridge', 'macvlan', 'tun', ... */
  kind?: string;
  /** IFLA_INFO_DATA's attributes */
  info?: Map<number, Buffer>;
}

export function linkRequest(seq = 1): Buffer {
  const buf = Buffer.alloc(32);
  buf.writeUInt32LE(buf.length, 0);
  buf.writeUInt16LE(RTM_GETLINK, 4);
  buf.writeUInt16LE(NLM_F_REQUEST_DUMP, 6);
  buf.writeUInt32LE(seq, 8);
  // struct ifinfomsg: every family (AF_UNSPEC), index 0
  return buf;
}

const cString = (buf: Buffer): string => {
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? buf.length : end).toString('utf8');
};

/** One RTM_NEWLINK payload (struct ifinfomsg + attributes). */
export function parseLink(payload: Buffer): Link {
  const attrs = parseAttributes(payload.subarray(16));
  const link: Link = {
    type: payload.readUInt16LE(2),
    index: payload.readInt32LE(4),
    flags: payload.readUInt32LE(8),
    name: cString(attrs.get(IFLA.IFNAME) ?? Buffer.alloc(0)),
    mtu: attrs.get(IFLA.MTU)?.readUInt32LE(0) ?? 0,
  };
  const address = attrs.get(IFLA.ADDRESS);
  if (address !== undefined) link.address = Buffer.from(address);
  const peer = attrs.get(IFLA.LINK);
  if (peer !== undefined) link.link = peer.readUInt32LE(0);
  const nsid = attrs.get(IFLA.LINK_NETNSID);
  if (nsid !== undefined) link.linkNetnsid = nsid.readInt32LE(0);
  const master = attrs.get(IFLA.MASTER);
  if (master !== undefined) link.master = master.readUInt32LE(0);
  const linkinfo = attrs.get(IFLA.LINKINFO);
  if (linkinfo !== undefined) {
    const info = parseAttributes(linkinfo);
    const kind = info.get(IFLA_INFO.KIND);
    if (kind !== undefined) link.kind = cString(kind);
    const data = info.get(IFLA_INFO.DATA);
    if (data !== undefined) link.info = parseAttributes(data);
  }
  return link;
}

/** Every link of the calling thread's network namespace, by index. */
export function listLinks(): Link[] {
  return netlinkDump(NETLINK_ROUTE, linkRequest(), 'rtnetlink RTM_GETLINK').map(parseLink).sort((a, b) => a.index - b.index);
}
