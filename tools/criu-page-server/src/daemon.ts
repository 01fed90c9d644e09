// --daemon: run the page server in the background, as criu(8) does. Node
// cannot fork, so the tool starts itself again in a new session with its
// readiness pipe as fd 3 (--status-fd 3), waits until the copy listens, and
// returns; the copy serves the session and writes the pidfile.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { CriuError } from '@criu-ts/base';

/** Set in the background copy's environment. */
export const DAEMON_CHILD_ENV = 'CRIU_TS_PAGE_SERVER_DAEMON';
const READY_FD = 3;

/** Start the background copy; resolves with its pid once it is ready to serve. */
export async function daemonize(argv: readonly string[], timeoutMs = 30_000): Promise<number> {
  const args = [...process.execArgv, process.argv[1] ?? '', ...argv, '--status-fd', String(READY_FD)];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, [DAEMON_CHILD_ENV]: '1' },
  });
  const ready = child.stdio[READY_FD] as Readable;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new CriuError(`page-server daemon did not become ready in ${timeoutMs} ms`, { code: 'ETIMEDOUT' })), timeoutMs);
      ready.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      ready.once('end', () => {
        clearTimeout(timer);
        reject(new CriuError('page-server daemon failed to start (see its log)', { code: 'EDAEMON' }));
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    ready.destroy();
    child.unref();
  }
  if (child.pid === undefined) throw new CriuError('page-server daemon did not start', { code: 'EDAEMON' });
  return child.pid;
}
