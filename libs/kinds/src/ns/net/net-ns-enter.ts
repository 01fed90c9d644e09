// Acting inside a network namespace other than the tool's (network_namespaces(7)):
// - inNetNs: the tool's main thread joins it (setns(2) with CLONE_NEWNET,
//   which a multi-threaded process may do: the network namespace is per
//   thread) for the span of a synchronous function, then goes back to its
//   own. A socket made meanwhile (sock_diag, rtnetlink, a restored socket)
//   stays in that namespace; /proc/sys/net opened meanwhile is that
//   namespace's; a child spawned meanwhile starts in it.
// - runIn: a program (ip, iptables-restore, nft) run there with nsenter(1).
// Commands get argument vectors, never a shell, and bounded time.
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { CriuError, type Logger } from '@criu-ts/base';
import { CLONE, setns } from '@criu-ts/kernel';

const NEWNET = Number(CLONE.NEWNET);
const TIMEOUT_MS = 30_000;

/** An open network namespace: an fd of its nsfs file, and its inode. */
export interface NetNsHandle {
  fd: number;
  inode: number;
  /** where it came from, for messages: "/proc/42/ns/net" */
  path: string;
}

export function openNetNs(path: string): NetNsHandle {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new CriuError(`cannot open the network namespace ${path}: ${(error as Error).message}`, { code: (error as NodeJS.ErrnoException).code ?? 'ENOENT', cause: error });
  }
  return { fd, inode: fstatSync(fd).ino, path };
}

export function closeNetNs(ns: NetNsHandle): void {
  closeSync(ns.fd);
}

/** Runs fn with the tool's main thread in `ns`; always comes back to the tool's own namespace. */
export function inNetNs<T>(ns: NetNsHandle, fn: () => T): T {
  const own = openSync('/proc/thread-self/ns/net', 'r');
  try {
    setns(ns.fd, NEWNET);
    try {
      return fn();
    } finally {
      setns(own, NEWNET);
    }
  } finally {
    closeSync(own);
  }
}

export interface CommandResult {
  ok: boolean;
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

/** What a command reads: bytes through a pipe, or an open file (ip's restore commands need a seekable stdin). */
export type CommandInput = Buffer | string | { fd: number };

/** Runs argv inside the namespace (nsenter --net=PATH), stdin from `input`; never throws for a non-zero exit. */
export function runIn(ns: NetNsHandle, argv: readonly string[], log: Logger, input?: CommandInput): CommandResult {
  log.debug(`running in ${ns.path}: ${argv.join(' ')}`);
  const file = typeof input === 'object' && !Buffer.isBuffer(input) ? input.fd : undefined;
  // the child gets the namespace fd as its fd 3; nsenter opens it through /proc/self/fd
  const result = spawnSync('nsenter', [`--net=/proc/self/fd/3`, '--', ...argv], {
    input: file === undefined ? (input as Buffer | string | undefined) : undefined,
    timeout: TIMEOUT_MS, stdio: [file ?? 'pipe', 'pipe', 'pipe', ns.fd], maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code ?? 'ECRIU';
    throw new CriuError(`${argv[0]}: could not run it in ${ns.path}: ${result.error.message}`, { code, cause: result.error });
  }
  return { ok: result.status === 0, status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8').trim() };
}

/** runIn that throws a CriuError naming the command, the namespace and what it printed, unless it exits 0. */
export function mustRunIn(ns: NetNsHandle, argv: readonly string[], log: Logger, input?: CommandInput): Buffer {
  const result = runIn(ns, argv, log, input);
  if (!result.ok) {
    throw new CriuError(`${argv.join(' ')} in the network namespace ${ns.path} failed (status ${result.status})${result.stderr === '' ? '' : `: ${result.stderr}`}`, { code: 'ENETNS' });
  }
  return result.stdout;
}
