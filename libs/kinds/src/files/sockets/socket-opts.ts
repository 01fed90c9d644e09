// sk_opts_entry: the SOL_SOCKET options every socket kind saves, read with
// getsockopt(2) on our pidfd_getfd copy of the socket (socket(7)). Saved as
// upstream CRIU 4.x does: buffer sizes as the kernel reports them (doubled),
// timeouts, the boolean options, SO_MARK only when set, SO_LINGER only when
// on, the bound device and a classic BPF filter; TCP keepalive tunables for
// TCP sockets with SO_KEEPALIVE on; SO_PASSCRED/SO_PASSSEC for unix and
// netlink sockets only. Not saved: eBPF programs (SO_ATTACH_BPF,
// which getsockopt cannot show), SO_PEEK_OFF, SO_TIMESTAMP* options.
import { SyscallError } from '@criu-ts/base';
import { AF, IPPROTO, SO, SOCK, SOL, TCP_OPT, getsockoptBytes, getsockoptInt, getsockoptRaw, getsockoptTimeval } from '@criu-ts/kernel';
import type { SkOptsEntry } from '@criu-ts/images';

/** What kind of socket the options are read from. */
export interface SocketIdentity {
  family: number;
  type: number;
  protocol: number;
}

const flag = (fd: number, name: number): boolean => getsockoptInt(fd, SOL.SOCKET, name) !== 0;

/** SO_BINDTODEVICE: the interface name, or undefined when not bound to one. */
export function boundDevice(fd: number): string | undefined {
  const name = getsockoptBytes(fd, SOL.SOCKET, SO.BINDTODEVICE, 16);
  const end = name.indexOf(0);
  const text = name.subarray(0, end < 0 ? name.length : end).toString('latin1');
  return text === '' ? undefined : text;
}

/**
 * A classic BPF filter (SO_GET_FILTER), one u64 per struct sock_filter
 * {u16 code; u8 jt; u8 jf; u32 k}, packed code<<48 | jt<<40 | jf<<32 | k
 * as CRIU stores it so images move across byte orders.
 */
export function socketFilter(fd: number): bigint[] | undefined {
  const count = getsockoptRaw(fd, SOL.SOCKET, SO.GET_FILTER, null);
  if (count === 0) return undefined;
  const raw = Buffer.alloc(count * 8);
  const got = getsockoptRaw(fd, SOL.SOCKET, SO.GET_FILTER, raw);
  const filter: bigint[] = [];
  for (let i = 0; i < got; i++) {
    const at = i * 8;
    const code = BigInt(raw.readUInt16LE(at));
    const jt = BigInt(raw.readUInt8(at + 2));
    const jf = BigInt(raw.readUInt8(at + 3));
    const k = BigInt(raw.readUInt32LE(at + 4));
    filter.push((code << 48n) | (jt << 40n) | (jf << 32n) | k);
  }
  return filter;
}

/** SO_BUF_LOCK (Linux 5.14+); undefined where the kernel does not know it. */
function bufLock(fd: number): number | undefined {
  try {
    return getsockoptInt(fd, SOL.SOCKET, SO.BUF_LOCK);
  } catch (error) {
    if (error instanceof SyscallError && error.code === 'ENOPROTOOPT') return undefined;
    throw error;
  }
}

function keepaliveTunables(fd: number, id: SocketIdentity, keepalive: boolean): Partial<SkOptsEntry> {
  if (!keepalive || id.type !== SOCK.STREAM || id.protocol !== IPPROTO.TCP) return {};
  return {
    tcp_keepcnt: getsockoptInt(fd, SOL.TCP, TCP_OPT.KEEPCNT),
    tcp_keepidle: getsockoptInt(fd, SOL.TCP, TCP_OPT.KEEPIDLE),
    tcp_keepintvl: getsockoptInt(fd, SOL.TCP, TCP_OPT.KEEPINTVL),
  };
}

/** SO_PASSCRED/SO_PASSSEC mean something for unix and netlink sockets only (other families: EOPNOTSUPP since Linux 6.16). */
function credentialPassing(fd: number, id: SocketIdentity): Partial<SkOptsEntry> {
  if (id.family !== AF.UNIX && id.family !== AF.NETLINK) return {};
  return { so_passcred: flag(fd, SO.PASSCRED), so_passsec: flag(fd, SO.PASSSEC) };
}

function lingerSeconds(fd: number): number | undefined {
  const linger = getsockoptBytes(fd, SOL.SOCKET, SO.LINGER, 8);
  return linger.readInt32LE(0) !== 0 ? linger.readInt32LE(4) : undefined;
}

/** The sk_opts_entry of a socket (our copy `fd`). */
export function readSocketOpts(fd: number, id: SocketIdentity): SkOptsEntry {
  const [sndSec, sndUsec] = getsockoptTimeval(fd, SO.SNDTIMEO);
  const [rcvSec, rcvUsec] = getsockoptTimeval(fd, SO.RCVTIMEO);
  const mark = getsockoptInt(fd, SOL.SOCKET, SO.MARK) >>> 0;
  const keepalive = flag(fd, SO.KEEPALIVE);
  const opts: SkOptsEntry = {
    so_sndbuf: getsockoptInt(fd, SOL.SOCKET, SO.SNDBUF) >>> 0,
    so_rcvbuf: getsockoptInt(fd, SOL.SOCKET, SO.RCVBUF) >>> 0,
    so_snd_tmo_sec: sndSec,
    so_snd_tmo_usec: sndUsec,
    so_rcv_tmo_sec: rcvSec,
    so_rcv_tmo_usec: rcvUsec,
    reuseaddr: flag(fd, SO.REUSEADDR),
    so_priority: getsockoptInt(fd, SOL.SOCKET, SO.PRIORITY) >>> 0,
    so_rcvlowat: getsockoptInt(fd, SOL.SOCKET, SO.RCVLOWAT) >>> 0,
    so_mark: mark !== 0 ? mark : undefined,
    ...credentialPassing(fd, id),
    so_dontroute: flag(fd, SO.DONTROUTE),
    so_no_check: flag(fd, SO.NO_CHECK),
    so_bound_dev: boundDevice(fd),
    so_filter: socketFilter(fd),
    so_reuseport: flag(fd, SO.REUSEPORT),
    so_broadcast: flag(fd, SO.BROADCAST),
    so_keepalive: keepalive,
    ...keepaliveTunables(fd, id, keepalive),
    so_oobinline: flag(fd, SO.OOBINLINE) ? 1 : 0,
    so_linger: lingerSeconds(fd),
    so_buf_lock: bufLock(fd),
  };
  return dropUndefined(opts);
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
