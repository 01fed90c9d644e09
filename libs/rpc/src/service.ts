// criu service: listen on a UNIX SOCK_SEQPACKET socket (created 0600, so
// only its owner can connect; a peer of another uid is refused as well)
// and serve each connection in its own worker process, as upstream forks
// one per connection: the worker is this service's tool run as
// `criu-service swrk FD` with CRIU_TS_SERVICE_CONNECTION set, so rst_sibling
// and inherit_fd (swrk-only) are refused there. The accept loop waits in
// poll(2) a short while at a time so that Node can reap workers between.
import { spawn } from 'node:child_process';
import { closeSync, lstatSync, unlinkSync } from 'node:fs';
import { CriuError, errnoOf, type Logger } from '@criu-ts/base';
import { SOCK, AF, accept4, bindUnix, listen, peerCred, pollIn, socket } from '@criu-ts/kernel';
import { EBADRQC, encodeResponse } from './messages.js';
import { sendPacket } from './packet.js';

/** Set in a connection worker's environment: the session is a service connection, not swrk. */
export const SERVICE_CONNECTION_ENV = 'CRIU_TS_SERVICE_CONNECTION';
const POLL_MS = 250;

export interface ServiceInput {
  address: string;
  log: Logger;
  /** the worker's command: [file, ...args] to which 'swrk', FD are appended */
  worker: readonly string[];
  /** log options for the workers (e.g. ['-v4']); their log goes to logFd */
  workerArgs: readonly string[];
  logFd: number;
  /** once listening (pidfile, --status-fd) */
  onReady: () => void;
  /** resolves when the service should stop */
  stopped: Promise<void>;
}

/** Removes a stale socket at `path`; anything else there is left alone and is an error. */
function clearAddress(path: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return;
    throw error;
  }
  if (!isSocket) throw new CriuError(`service address ${path} exists and is not a socket; not removing it`, { code: 'EEXIST' });
  unlinkSync(path);
}

function listenAt(address: string): number {
  clearAddress(address);
  const fd = socket(AF.UNIX, SOCK.SEQPACKET | SOCK.CLOEXEC | SOCK.NONBLOCK);
  const umask = process.umask(0o177);
  try {
    bindUnix(fd, address);
  } catch (error) {
    closeSync(fd);
    throw error;
  } finally {
    process.umask(umask);
  }
  listen(fd, 16);
  return fd;
}

function startWorker(input: ServiceInput, connection: number): void {
  const [file = process.execPath, ...args] = input.worker;
  const stdio: ('ignore' | number)[] = ['ignore', input.logFd, input.logFd, connection];
  const env: NodeJS.ProcessEnv = { ...process.env, [SERVICE_CONNECTION_ENV]: '1' };
  const child = spawn(file, [...args, ...input.workerArgs, 'swrk', '3'], { stdio, env });
  child.once('error', (error) => input.log.error(`cannot start a worker: ${error.message}`));
  child.once('exit', (code, signal) => input.log.info(`Worker(pid ${child.pid}) ${signal === null ? `exited with ${code}` : `was killed by ${signal}`}`));
}

function refuse(connection: number, uid: number, log: Logger): void {
  log.warn(`refusing a connection from uid ${uid}: the service serves its own user only`);
  const resp = { type: 'EMPTY' as const, success: false, cr_errno: EBADRQC, cr_errmsg: 'this criu service serves its own user only' };
  try {
    sendPacket(connection, encodeResponse(resp));
  } catch (error) {
    if (!(error instanceof Error)) throw error;
  }
}

/** Serves connections until input.stopped resolves; the socket file is removed then. */
export async function serveSocket(input: ServiceInput): Promise<void> {
  const fd = listenAt(input.address);
  let stop = false;
  void input.stopped.then(() => {
    stop = true;
  });
  try {
    input.log.info(`The service socket is bound to ${input.address}`);
    input.onReady();
    while (!stop) {
      if (pollIn(fd, POLL_MS)) {
        const connection = accept4(fd, SOCK.CLOEXEC);
        if (connection !== null) {
          const peer = peerCred(connection);
          if (peer.uid !== process.geteuid?.()) refuse(connection, peer.uid, input.log);
          else startWorker(input, connection);
          closeSync(connection);
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    closeSync(fd);
    clearAddress(input.address);
  }
}
