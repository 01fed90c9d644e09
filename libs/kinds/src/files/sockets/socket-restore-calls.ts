// The socket calls restore makes in the tool that @criu-ts/kernel has no
// typed wrapper for yet — socketpair(2), bind(2), listen(2), connect(2),
// shutdown(2), setsockopt(2) of a buffer — over its raw `trySyscall`, each
// failure a SyscallError naming the object (`what`: "unix socket id 5 ino
// 1234", "TCP 127.0.0.1:8080", ...). Plus the sockaddr encodings restore
// binds and connects with (unix(7), ip(7), ipv6(7)).
import { SyscallError } from '@criu-ts/base';
import { AF, SOL, SYS, trySyscall } from '@criu-ts/kernel';

/** sun_path's size: a unix name (path or abstract) is at most this long */
export const UNIX_PATH_MAX = 108;

/** SOL_SOCKET options only restore sets (asm-generic/socket.h) */
export const SO_SET = { SNDBUFFORCE: 32, RCVBUFFORCE: 33, ATTACH_FILTER: 26 } as const;

function call(nr: number, args: (number | Buffer)[], syscall: string, what: string): number {
  const { value, errno } = trySyscall(nr, ...args);
  if (errno !== 0) throw new SyscallError({ syscall, errno, path: what });
  return Number(value);
}

/** socketpair(AF_UNIX, type): both ends, in the tool. */
export function socketPair(type: number, what: string): [number, number] {
  const fds = Buffer.alloc(8);
  call(SYS.socketpair, [AF.UNIX, type, 0, fds], 'socketpair', what);
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

export function bindSocket(fd: number, addr: Buffer, what: string): void {
  call(SYS.bind, [fd, addr, addr.length], 'bind', what);
}

export function listenSocket(fd: number, backlog: number, what: string): void {
  call(SYS.listen, [fd, backlog], 'listen', what);
}

export function connectSocket(fd: number, addr: Buffer, what: string): void {
  call(SYS.connect, [fd, addr, addr.length], 'connect', what);
}

/** sk_shutdown (READ 1, WRITE 2, BOTH 3) → shutdown(2)'s how (SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2). */
export function shutdownSocket(fd: number, shutdown: number, what: string): void {
  call(SYS.shutdown, [fd, shutdown - 1], `shutdown(${['', 'SHUT_RD', 'SHUT_WR', 'SHUT_RDWR'][shutdown]})`, what);
}

export function setsockoptBuffer(fd: number, level: number, name: number, value: Buffer, what: string): void {
  call(SYS.setsockopt, [fd, level, name, value, value.length], `setsockopt(${level === SOL.SOCKET ? 'SOL_SOCKET' : level}, ${name})`, what);
}

export function setsockoptValue(fd: number, level: number, name: number, value: number, what: string): void {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value | 0, 0);
  setsockoptBuffer(fd, level, name, buf, what);
}

/** sockaddr_un for a name as unix_sk_entry keeps it (abstract names start with NUL); length = 2 + name bytes. */
export function unixSockaddr(name: Uint8Array): Buffer {
  const addr = Buffer.alloc(2 + name.length);
  addr.writeUInt16LE(AF.UNIX, 0);
  Buffer.from(name).copy(addr, 2);
  return addr;
}

/** sockaddr_un of family AF_UNSPEC: connect(2) with it dissolves a datagram socket's association. */
export function unspecSockaddr(): Buffer {
  return Buffer.alloc(2);
}

/** Image words (host-order u32 holding network-order bytes) → 16 address bytes. */
export function addressBytes(words: readonly number[]): Buffer {
  const bytes = Buffer.alloc(16);
  words.slice(0, 4).forEach((word, i) => bytes.writeUInt32LE(word >>> 0, i * 4));
  return bytes;
}

/** sockaddr_in / sockaddr_in6 for a port and the image's address words. */
export function inetSockaddr(family: number, port: number, words: readonly number[], scopeId = 0): Buffer {
  const address = addressBytes(words);
  if (family === AF.INET) {
    const addr = Buffer.alloc(16);
    addr.writeUInt16LE(AF.INET, 0);
    addr.writeUInt16BE(port, 2);
    address.copy(addr, 4, 0, 4);
    return addr;
  }
  const addr = Buffer.alloc(28);
  addr.writeUInt16LE(AF.INET6, 0);
  addr.writeUInt16BE(port, 2);
  address.copy(addr, 8, 0, 16);
  addr.writeUInt32LE(scopeId, 24);
  return addr;
}
