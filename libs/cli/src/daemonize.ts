// --daemon for a serving tool (page-server, service), as criu(8) runs them
// in the background. Node cannot fork, so the tool starts itself again in a
// new session with its readiness pipe as fd 3 (--status-fd 3) and the
// environment variable `childEnv` set, waits until the copy is ready to
// serve, and returns its pid; the copy serves and writes the pidfile.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { CriuError } from '@criu-ts/base';

const READY_FD = 3;

export interface DaemonOptions {
  /** e.g. 'page-server', for messages */
  what: string;
  /** set to '1' in the copy's environment */
  childEnv: string;
  timeoutMs?: number;
}

/** Start the background copy with `argv` (plus --status-fd 3); resolves with its pid once it is ready. */
export async function daemonize(argv: readonly string[], options: DaemonOptions): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const args = [...process.execArgv, process.argv[1] ?? '', ...argv, '--status-fd', String(READY_FD)];
  const env: NodeJS.ProcessEnv = { ...process.env, [options.childEnv]: '1' };
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'], env });
  const ready = child.stdio[READY_FD] as Readable;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new CriuError(`${options.what} daemon did not become ready in ${timeoutMs} ms`, { code: 'ETIMEDOUT' })), timeoutMs);
      ready.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      ready.once('end', () => {
        clearTimeout(timer);
        reject(new CriuError(`${options.what} daemon failed to start (see its log)`, { code: 'EDAEMON' }));
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    ready.destroy();
    child.unref();
  }
  if (child.pid === undefined) throw new CriuError(`${options.what} daemon did not start`, { code: 'EDAEMON' });
  return child.pid;
}
