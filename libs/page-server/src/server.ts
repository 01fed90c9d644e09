// `criu page-server`: listen on --address/--port (or take the connected
// --ps-socket fd), accept one client, serve one session, and stop — as
// criu does. With TLS the client must present a certificate our CA signed.
import { createServer as createTcpServer, Socket, type AddressInfo, type Server } from 'node:net';
import { TLSSocket, createServer as createTlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import { CriuError, type Logger } from '@criu-ts/base';
import { serveSession, type SessionLimits, type SessionResult } from './session.js';
import type { LazyPagesSource } from './lazy-pages-source.js';
import { clientCertificateProblem, serverTlsOptions, tlsFailure, type TlsMaterial } from './tls-files.js';

export interface PageServerOptions extends SessionLimits {
  /** images directory (-D) */
  dir: string;
  log: Logger;
  /** listen address; all addresses when undefined */
  address?: string;
  /** listen port; 0 lets the kernel choose */
  port?: number;
  /** serve this already connected socket instead of listening */
  psSocket?: number;
  tls?: TlsMaterial;
  /** called once listening (or at once with --ps-socket): write --status-fd, the pidfile, ... */
  onReady?: (port: number | undefined) => void;
  /** give up if no client connects in this time (default: wait for ever, as criu) */
  acceptTimeoutMs?: number;
  /** give up on a client that sends nothing for this long (default 10 minutes) */
  idleTimeoutMs?: number;
  /** --lazy-pages: serve a lazy-pages daemon's PS_IOV_GET from here (and receive nothing) */
  lazy?: LazyPagesSource;
}

function peerName(socket: Socket): string {
  return socket.remoteAddress === undefined ? 'socket' : `${socket.remoteAddress}:${socket.remotePort}`;
}

async function listen(server: Server, options: PageServerOptions): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new CriuError(`page-server: cannot listen on ${options.address ?? '*'}:${options.port ?? 0}: ${error.message}`, { code: 'ELISTEN', cause: error })));
    server.listen({ port: options.port ?? 0, host: options.address, exclusive: true }, resolve);
  });
  return (server.address() as AddressInfo).port;
}

/** Accept one connection (TLS: one that completed its handshake); the listener closes after it. */
async function acceptOne(options: PageServerOptions): Promise<Duplex & Socket> {
  const server = options.tls === undefined ? createTcpServer({ pauseOnConnect: true }) : createTlsServer(serverTlsOptions(options.tls));
  const port = await listen(server, options);
  options.log.info(`page-server: listening on ${options.address ?? '*'}:${port}`);
  try {
    const accepted = new Promise<Socket>((resolve, reject) => {
      server.once(options.tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
        const problem = socket instanceof TLSSocket ? clientCertificateProblem(socket) : undefined;
        if (problem === undefined) return resolve(socket);
        const peer = peerName(socket);
        socket.destroy();
        reject(new CriuError(`page-server: TLS handshake with ${peer} failed: ${problem}`, { code: 'ETLS' }));
      });
      server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
        reject(new CriuError(`page-server: TLS handshake with ${peerName(socket)} failed: ${tlsFailure(error)}`, { code: 'ETLS', cause: error }));
      });
      if (options.acceptTimeoutMs !== undefined) {
        setTimeout(() => reject(new CriuError(`page-server: no client connected within ${options.acceptTimeoutMs} ms`, { code: 'ETIMEDOUT' })), options.acceptTimeoutMs).unref();
      }
    });
    options.onReady?.(port);
    return await accepted;
  } finally {
    server.close();
  }
}

function wrapPsSocket(options: PageServerOptions, fd: number): Promise<Socket> {
  const raw = new Socket({ fd, readable: true, writable: true });
  if (options.tls === undefined) return Promise.resolve(raw);
  const secure = new TLSSocket(raw, { isServer: true, ...serverTlsOptions(options.tls) });
  return new Promise((resolve, reject) => {
    secure.once('secure', () => {
      const problem = clientCertificateProblem(secure);
      if (problem === undefined) return resolve(secure);
      secure.destroy();
      reject(new CriuError(`page-server: TLS handshake on fd ${fd} failed: ${problem}`, { code: 'ETLS' }));
    });
    secure.once('error', (error) => reject(new CriuError(`page-server: TLS handshake on fd ${fd} failed: ${tlsFailure(error)}`, { code: 'ETLS', cause: error })));
  });
}

/** Run the page server for one session. */
export async function runPageServer(options: PageServerOptions): Promise<SessionResult> {
  let socket: Socket;
  if (options.psSocket !== undefined) {
    options.log.info(`page-server: re-using ps socket ${options.psSocket}`);
    options.onReady?.(undefined);
    socket = await wrapPsSocket(options, options.psSocket);
  } else {
    socket = await acceptOne(options);
  }
  const peer = options.psSocket !== undefined ? `fd ${options.psSocket}` : peerName(socket);
  options.log.info(`page-server: serving ${peer}`);
  const idle = options.idleTimeoutMs ?? 600_000;
  socket.setTimeout(idle, () => socket.destroy(new CriuError(`page-server: peer ${peer} sent nothing for ${idle} ms`, { code: 'ETIMEDOUT' })));
  socket.setNoDelay(true);
  try {
    const result = await serveSession(socket, { ...options, peer });
    if (options.lazy !== undefined) options.log.info(`page-server: session over, ${result.pages} lazy page(s) served`);
    else options.log.info(`page-server: session over, ${result.pages} page(s) in ${result.images.length} image(s)`);
    return result;
  } finally {
    socket.destroy();
    options.lazy?.close();
  }
}
