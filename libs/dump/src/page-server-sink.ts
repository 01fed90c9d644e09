// The dump's side of --page-server: the connected client seen by the kinds
// as their page sink, with every failure of the connection (a peer that
// resets it, a broken pipe, a timeout) turned into an error that names the
// page server; and the end of the session — flush, wait for the server to
// say it stored everything, close — which must succeed before the tree may
// be killed. See criu(8) "dump", --page-server.
import { CriuError, SyscallError, errnoOf, type Logger } from '@criu-ts/base';
import type { PageSink } from '@criu-ts/kinds';
import type { PageServerClient } from '@criu-ts/page-server';

function connectionError(client: PageServerClient, what: string, error: unknown): Error {
  if (error instanceof CriuError && !(error instanceof SyscallError)) return error;
  const code = errnoOf(error) ?? 'EIO';
  const reason = error instanceof Error ? error.message : String(error);
  return new CriuError(`${client.name}: ${what} failed, the connection is lost (${reason})`, { code, cause: error });
}

function guarded<T>(client: PageServerClient, what: () => string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw connectionError(client, what(), error);
  }
}

/** The client as the kinds' page sink. */
export function pageSinkOf(client: PageServerClient): PageSink {
  return {
    open(kind, id) {
      guarded(client, () => `opening ${kind}-${id}.img`, () => client.open(kind, id));
    },
    addRun(run, source) {
      guarded(client, () => `sending ${run.nrPages} page(s) at 0x${run.vaddr.toString(16)}`, () => client.addRun(run, source));
    },
  };
}

/** The page server must have stored every page before the tree may go: flush, wait for its answer, close. */
export function finishPageServer(client: PageServerClient | undefined, log: Logger): void {
  if (client === undefined) return;
  guarded(client, () => 'the final flush', () => client.flush());
  client.close();
  log.info(`${client.name} stored the pages`);
}
