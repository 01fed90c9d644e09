// Restore half of socket-opts.ts: sk_opts_entry back onto a socket made in
// the tool (socket(7)), as upstream CRIU 4.x restores it: buffer sizes
// with SO_SNDBUFFORCE/SO_RCVBUFFORCE (the image holds the doubled sizes the
// kernel reported, so half is set), SO_BUF_LOCK, priority, rcvlowat, mark,
// the boolean options that are on, linger, TCP keepalive tunables,
// timeouts, the bound device and a classic BPF filter. SO_REUSEADDR and
// SO_REUSEPORT are not set here: each socket kind restores them around its
// bind. Also the file side (file_entry flags, F_SETSIG/F_SETOWN_EX owner)
// and the state queued data is written in (largest buffers, O_NONBLOCK).
import { SyscallError } from '@criu-ts/base';
import { F, O, SO, SOL, SYS, TCP_OPT, bufferAddress, fcntl, trySyscall } from '@criu-ts/kernel';
import type { FownEntry, SkOptsEntry, TcpOptsEntry } from '@criu-ts/images';
import { SO_SET, setsockoptBuffer, setsockoptValue } from './socket-restore-calls.js';

/** INT_MAX / 2: the kernel doubles what is set */
const MAX_BUFFER = 0x3fffffff;

const BOOLEAN_OPTIONS: ReadonlyArray<[keyof SkOptsEntry, number]> = [
  ['so_passcred', SO.PASSCRED], ['so_passsec', SO.PASSSEC], ['so_dontroute', SO.DONTROUTE],
  ['so_no_check', SO.NO_CHECK], ['so_broadcast', SO.BROADCAST], ['so_oobinline', SO.OOBINLINE], ['so_keepalive', SO.KEEPALIVE],
];

const NUMERIC_OPTIONS: ReadonlyArray<[keyof SkOptsEntry, number, number]> = [
  ['so_buf_lock', SOL.SOCKET, SO.BUF_LOCK], ['so_priority', SOL.SOCKET, SO.PRIORITY], ['so_rcvlowat', SOL.SOCKET, SO.RCVLOWAT],
  ['so_mark', SOL.SOCKET, SO.MARK], ['tcp_keepcnt', SOL.TCP, TCP_OPT.KEEPCNT], ['tcp_keepidle', SOL.TCP, TCP_OPT.KEEPIDLE],
  ['tcp_keepintvl', SOL.TCP, TCP_OPT.KEEPINTVL],
];

function timeval(sec: bigint, usec: bigint): Buffer {
  const tv = Buffer.alloc(16);
  tv.writeBigInt64LE(BigInt.asIntN(64, sec), 0);
  tv.writeBigInt64LE(BigInt.asIntN(64, usec), 8);
  return tv;
}

/** so_filter words (code<<48 | jt<<40 | jf<<32 | k) → struct sock_fprog for SO_ATTACH_FILTER. */
export function filterProgram(words: readonly bigint[]): { fprog: Buffer; filter: Buffer } {
  const filter = Buffer.alloc(words.length * 8);
  words.forEach((word, i) => {
    filter.writeUInt16LE(Number((word >> 48n) & 0xffffn), i * 8);
    filter.writeUInt8(Number((word >> 40n) & 0xffn), i * 8 + 2);
    filter.writeUInt8(Number((word >> 32n) & 0xffn), i * 8 + 3);
    filter.writeUInt32LE(Number(word & 0xffffffffn), i * 8 + 4);
  });
  const fprog = Buffer.alloc(16);
  fprog.writeUInt16LE(words.length, 0);
  return { fprog, filter };
}

function attachFilter(fd: number, words: readonly bigint[], what: string): void {
  const { fprog, filter } = filterProgram(words);
  fprog.writeBigUInt64LE(bufferAddress(filter), 8); // filter stays referenced until setsockopt returns
  setsockoptBuffer(fd, SOL.SOCKET, SO_SET.ATTACH_FILTER, fprog, what);
}

/** Sets every option the entry holds (see the module comment). */
export function restoreSocketOpts(fd: number, opts: SkOptsEntry, what: string): void {
  setsockoptValue(fd, SOL.SOCKET, SO_SET.SNDBUFFORCE, Math.floor(opts.so_sndbuf / 2), what);
  setsockoptValue(fd, SOL.SOCKET, SO_SET.RCVBUFFORCE, Math.floor(opts.so_rcvbuf / 2), what);
  for (const [field, level, name] of NUMERIC_OPTIONS) {
    const value = opts[field];
    if (typeof value === 'number') setsockoptValue(fd, level, name, value, what);
  }
  for (const [field, name] of BOOLEAN_OPTIONS) {
    const value = opts[field];
    if (value === true || (typeof value === 'number' && value !== 0)) setsockoptValue(fd, SOL.SOCKET, name, 1, what);
  }
  if (opts.so_linger !== undefined) {
    const linger = Buffer.alloc(8);
    linger.writeInt32LE(1, 0);
    linger.writeInt32LE(opts.so_linger | 0, 4);
    setsockoptBuffer(fd, SOL.SOCKET, SO.LINGER, linger, what);
  }
  setsockoptBuffer(fd, SOL.SOCKET, SO.SNDTIMEO, timeval(opts.so_snd_tmo_sec, opts.so_snd_tmo_usec), what);
  setsockoptBuffer(fd, SOL.SOCKET, SO.RCVTIMEO, timeval(opts.so_rcv_tmo_sec, opts.so_rcv_tmo_usec), what);
  if (opts.so_bound_dev !== undefined && opts.so_bound_dev !== '') {
    setsockoptBuffer(fd, SOL.SOCKET, SO.BINDTODEVICE, Buffer.from(opts.so_bound_dev, 'latin1'), what);
  }
  if (opts.so_filter !== undefined && opts.so_filter.length > 0) attachFilter(fd, opts.so_filter, what);
}

/** tcp_opts_entry (TCP_NODELAY, TCP_CORK, keepalive tunables): each that the image holds. */
export function restoreTcpOpts(fd: number, opts: TcpOptsEntry | undefined, what: string): void {
  if (opts === undefined) return;
  if (opts.nodelay !== undefined) setsockoptValue(fd, SOL.TCP, TCP_OPT.NODELAY, opts.nodelay ? 1 : 0, what);
  if (opts.cork !== undefined) setsockoptValue(fd, SOL.TCP, TCP_OPT.CORK, opts.cork ? 1 : 0, what);
  if (opts.keepcnt !== undefined) setsockoptValue(fd, SOL.TCP, TCP_OPT.KEEPCNT, opts.keepcnt, what);
  if (opts.keepidle !== undefined) setsockoptValue(fd, SOL.TCP, TCP_OPT.KEEPIDLE, opts.keepidle, what);
  if (opts.keepintvl !== undefined) setsockoptValue(fd, SOL.TCP, TCP_OPT.KEEPINTVL, opts.keepintvl, what);
}

/** Before writing queued data through a socket: largest buffers, never block (upstream's restore_prepare_socket). */
export function prepareForQueue(fd: number, what: string): void {
  setsockoptValue(fd, SOL.SOCKET, SO_SET.SNDBUFFORCE, MAX_BUFFER, what);
  setsockoptValue(fd, SOL.SOCKET, SO_SET.RCVBUFFORCE, MAX_BUFFER, what);
  fcntl(fd, F.SETFL, fcntl(fd, F.GETFL) | O.NONBLOCK);
}

function setresuid(ids: readonly number[], what: string): void {
  const { errno } = trySyscall(SYS.setresuid, ids[0]!, ids[1]!, ids[2]!);
  if (errno !== 0) throw new SyscallError({ syscall: `setresuid(${ids.join(', ')})`, errno, path: what });
}

/** The calling thread's real, effective and saved uid. */
function getresuid(what: string): number[] {
  const ids = [Buffer.alloc(4), Buffer.alloc(4), Buffer.alloc(4)] as const;
  const { errno } = trySyscall(SYS.getresuid, ...ids);
  if (errno !== 0) throw new SyscallError({ syscall: 'getresuid', errno, path: what });
  return ids.map((id) => id.readUInt32LE(0));
}

/**
 * F_SETSIG, and F_SETOWN_EX as the owner's uid/euid: the kernel records
 * the caller's ids with the owner, so the main thread (the raw syscall
 * changes only it) takes them for the call and then its own back.
 */
export function restoreFown(fd: number, fown: FownEntry, what: string): void {
  if (fown.signum !== 0) fcntl(fd, F.SETSIG, fown.signum);
  if (fown.pid === 0) return;
  const owner = Buffer.alloc(8);
  owner.writeInt32LE(fown.pid_type, 0);
  owner.writeInt32LE(fown.pid, 4);
  const ours = getresuid(what);
  const switchIds = fown.uid !== ours[0] || fown.euid !== ours[1];
  if (switchIds) setresuid([fown.uid, fown.euid, ours[2]!], what);
  try {
    fcntl(fd, F.SETOWN_EX, owner);
  } finally {
    if (switchIds) setresuid(ours, what);
  }
}

/** file_entry flags (F_SETFL: O_NONBLOCK, O_ASYNC, ...) and owner, as upstream's rst_file_params. */
export function restoreFileParams(fd: number, flags: number, fown: FownEntry, what: string): void {
  fcntl(fd, F.SETFL, flags);
  restoreFown(fd, fown, what);
}
