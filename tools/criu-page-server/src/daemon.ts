// --daemon: run the page server in the background, as criu(8) does (the
// shared daemonize of @criu-ts/cli: the tool starts itself again in a new
// session and returns once the copy listens; the copy writes the pidfile).
import { daemonize as startDaemon } from '@criu-ts/cli';

/** Set in the background copy's environment. */
export const DAEMON_CHILD_ENV = 'CRIU_TS_PAGE_SERVER_DAEMON';

/** Start the background copy; resolves with its pid once it is ready to serve. */
export function daemonize(argv: readonly string[], timeoutMs = 30_000): Promise<number> {
  return startDaemon(argv, { what: 'page-server', childEnv: DAEMON_CHILD_ENV, timeoutMs });
}
