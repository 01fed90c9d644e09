// Connecting the dump to a page server. Plain TCP: a blocking socket made
// with socket(2)/connect(2), so the synchronous dump can write into it and
// splice pages straight from its pipes. TLS: node:tls runs in a worker
// thread that relays between the server and one end of a socketpair(2);
// the dump uses the other end exactly like a plain socket, and the worker
// keeps encrypting while the main thread is blocked in a write.
import { closeSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CriuError, SyscallError } from '@criu-ts/base';
import { AF, SO, SOCK, SOL, SYS, TCP_OPT, setsockoptInt, socket, syscall, trySyscall } from '@criu-ts/kernel';
import { PageServerClient, clientOnOwnedFd } from './client.js';
import { clientTlsOptions, type TlsMaterial } from './tls-files.js';

export interface ConnectOptions {
  /** page server address or host name (--address) */
  address?: string;
  port?: number;
  /** use this connected socket instead (--ps-socket); the caller keeps owning it */
  psSocket?: number;
  tls?: TlsMaterial;
  /** connect, send and answer timeout (default 60 s) */
  timeoutMs?: number;
}

function sockaddr(family: 4 | 6, ip: string, port: number): Buffer {
  if (family === 4) {
    const addr = Buffer.alloc(16);
    addr.writeUInt16LE(AF.INET, 0);
    addr.writeUInt16BE(port, 2);
    ip.split('.').forEach((part, i) => addr.writeUInt8(Number(part), 4 + i));
    return addr;
  }
  const addr = Buffer.alloc(28);
  addr.writeUInt16LE(AF.INET6, 0);
  addr.writeUInt16BE(port, 2);
  const [head = '', tail = ''] = ip.split('::');
  const groups = (text: string): string[] => (text === '' ? [] : text.split(':'));
  const all = [...groups(head), ...Array<string>(8 - groups(head).length - groups(tail).length).fill('0'), ...groups(tail)];
  all.forEach((group, i) => addr.writeUInt16BE(Number.parseInt(group, 16), 8 + i * 2));
  return addr;
}

function setTimeouts(fd: number, timeoutMs: number): void {
  const timeval = Buffer.alloc(16);
  timeval.writeBigInt64LE(BigInt(Math.floor(timeoutMs / 1000)), 0);
  timeval.writeBigInt64LE(BigInt((timeoutMs % 1000) * 1000), 8);
  syscall(SYS.setsockopt, fd, SOL.SOCKET, SO.SNDTIMEO, timeval, 16);
  syscall(SYS.setsockopt, fd, SOL.SOCKET, SO.RCVTIMEO, timeval, 16);
}

async function connectTcp(address: string, port: number, timeoutMs: number): Promise<number> {
  const { address: ip, family } = await lookup(address);
  const fd = socket(family === 6 ? AF.INET6 : AF.INET, SOCK.STREAM | SOCK.CLOEXEC);
  try {
    setTimeouts(fd, timeoutMs);
    const addr = sockaddr(family === 6 ? 6 : 4, ip, port);
    const { errno } = trySyscall(SYS.connect, fd, addr, addr.length);
    if (errno !== 0) throw new SyscallError({ syscall: 'connect', errno, path: `page server ${address}:${port}` });
    setsockoptInt(fd, SOL.TCP, TCP_OPT.NODELAY, 1);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function socketPair(): [number, number] {
  const fds = Buffer.alloc(8);
  syscall(SYS.socketpair, AF.UNIX, SOCK.STREAM | SOCK.CLOEXEC, 0, fds);
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

/**
 * The relay worker's module in libs/page-server: src/*.ts when tests run the
 * sources, else dist/*.js (an ES module, whether we run from the library's
 * dist or from a tool's CommonJS bundle tools/NAME/dist/tool.cjs: both
 * three levels below the workspace root).
 */
function relayModule(): URL {
  const fromSource = extname(fileURLToPath(import.meta.url)) === '.ts';
  return new URL(`../../../libs/page-server/${fromSource ? 'src/tls-relay-worker.ts' : 'dist/tls-relay-worker.js'}`, import.meta.url);
}

async function connectTls(address: string, port: number, material: TlsMaterial, timeoutMs: number): Promise<PageServerClient> {
  const [mine, relay] = socketPair();
  setTimeouts(mine, timeoutMs);
  const worker = new Worker(relayModule(), { workerData: { fd: relay, host: address, port, options: clientTlsOptions(material, address), checkName: material.checkName, timeoutMs } });
  const name = `page server ${address}:${port} (TLS)`;
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('message', (message: { ok: boolean; error?: string }) => {
        if (message.ok) resolve();
        else reject(new CriuError(`${name}: ${message.error ?? 'TLS connection failed'}`, { code: 'ETLS' }));
      });
      worker.once('error', (error) => reject(new CriuError(`${name}: relay failed: ${error.message}`, { code: 'ETLS', cause: error })));
      worker.once('exit', (code) => reject(new CriuError(`${name}: relay exited (${code}) before connecting`, { code: 'ETLS' })));
    });
  } catch (error) {
    closeSync(mine);
    await worker.terminate();
    throw error;
  }
  worker.unref();
  return clientOnOwnedFd(mine, name);
}

/**
 * A plain TCP connection to a page server at a numeric address, made at
 * once (for the lazy-pages daemon's synchronous loop, which may need it in
 * the middle of a fault).
 */
export function connectPageServerSync(ip: string, port: number, timeoutMs = 60_000): PageServerClient {
  const family = ip.includes(':') ? 6 : 4;
  if (!/^[0-9a-fA-F.:]+$/.test(ip)) throw new CriuError(`page server address ${ip}: give a numeric IPv4 or IPv6 address`, { code: 'EUSAGE' });
  const fd = socket(family === 6 ? AF.INET6 : AF.INET, SOCK.STREAM | SOCK.CLOEXEC);
  try {
    setTimeouts(fd, timeoutMs);
    const addr = sockaddr(family, ip, port);
    const { errno } = trySyscall(SYS.connect, fd, addr, addr.length);
    if (errno !== 0) throw new SyscallError({ syscall: 'connect', errno, path: `page server ${ip}:${port}` });
    setsockoptInt(fd, SOL.TCP, TCP_OPT.NODELAY, 1);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return clientOnOwnedFd(fd, `page server ${ip}:${port}`);
}

/** Connect to the page server as `criu dump --page-server` does. */
export async function connectPageServer(options: ConnectOptions): Promise<PageServerClient> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  if (options.psSocket !== undefined) {
    return new PageServerClient(options.psSocket, `page server on fd ${options.psSocket}`);
  }
  if (options.address === undefined || options.port === undefined) {
    throw new CriuError('--page-server needs --address and --port (or --ps-socket)', { code: 'EUSAGE' });
  }
  if (options.tls !== undefined) return connectTls(options.address, options.port, options.tls, timeoutMs);
  const fd = await connectTcp(options.address, options.port, timeoutMs);
  return clientOnOwnedFd(fd, `page server ${options.address}:${options.port}`);
}
