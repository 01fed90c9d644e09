// Worker thread of a TLS page-server client (see client-connect.ts): open
// the TLS connection, report {ok} or {ok: false, error} to the main thread,
// then copy bytes both ways between the socketpair end and the server
// until either side closes.
import { Socket } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';

interface RelayData {
  fd: number;
  host: string;
  port: number;
  options: ConnectionOptions;
  /** check the server's name against host (no --tls-no-cn-verify) */
  checkName: boolean;
  timeoutMs: number;
}

function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === undefined ? error.message : `${error.message} (${code})`;
}

function relay(data: RelayData): void {
  const port = parentPort;
  if (port === null) return;
  const local = new Socket({ fd: data.fd, readable: true, writable: true });
  const remote = connect({ ...data.options, host: data.host, port: data.port, ...(data.checkName ? {} : { checkServerIdentity: () => undefined }) });
  let connected = false;
  const fail = (error: Error): void => {
    if (!connected) port.postMessage({ ok: false, error: `TLS connection failed: ${describe(error)}` });
    local.destroy();
    remote.destroy();
  };
  remote.setTimeout(data.timeoutMs, () => fail(new Error(`no answer in ${data.timeoutMs} ms`)));
  remote.once('secureConnect', () => {
    connected = true;
    remote.setTimeout(0);
    remote.setNoDelay(true);
    port.postMessage({ ok: true });
    local.pipe(remote);
    remote.pipe(local);
  });
  remote.on('error', fail);
  local.on('error', () => remote.destroy());
  remote.on('close', () => local.destroy());
  local.on('close', () => remote.end());
}

relay(workerData as RelayData);
