// Typed errors. Every failure the tools report is one of these: a code,
// the exit status criu(8) would give, an optional hint and the cause.
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

export interface CriuErrorOptions {
  code?: string;
  exitCode?: number;
  hint?: string;
  cause?: unknown;
}

export class CriuError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(message: string, options: CriuErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CriuError';
    this.code = options.code ?? 'ECRIU';
    this.exitCode = options.exitCode ?? 1;
    this.hint = options.hint;
  }
}

/** A bad option, argument or config line: nothing was done. */
export class UsageError extends CriuError {
  constructor(message: string, options: CriuErrorOptions = {}) {
    super(message, { code: 'EUSAGE', exitCode: 1, ...options });
    this.name = 'UsageError';
  }
}

const errnoTable = getSystemErrorMap();
/** names libuv's table lacks (ECHILD, EDEADLK, ...) come from os.constants.errno */
const errnoNames = new Map(Object.entries(constants.errno).map(([name, number]) => [number, name]));
/** strerror(3) text for the errnos libuv's table lacks */
const extraMessages: Readonly<Record<string, string>> = {
  ECHILD: 'No child processes',
  EDEADLK: 'Resource deadlock avoided',
  EDOM: 'Numerical argument out of domain',
  EDQUOT: 'Disk quota exceeded',
  EIDRM: 'Identifier removed',
  EINPROGRESS: 'Operation now in progress',
  ENOEXEC: 'Exec format error',
  ENOLCK: 'No locks available',
  ENOMSG: 'No message of desired type',
  ESTALE: 'Stale file handle',
  ETIME: 'Timer expired',
  EBADMSG: 'Bad message',
};

/** errno number → its name, e.g. 1 → 'EPERM'. */
export function errnoName(errno: number): string {
  const number = Math.abs(errno);
  return errnoTable.get(-number)?.[0] ?? errnoNames.get(number) ?? `errno ${errno}`;
}

/** errno number → strerror(3)-style text, e.g. 1 → 'Operation not permitted'. */
export function errnoMessage(errno: number): string {
  const text = errnoTable.get(-Math.abs(errno))?.[1] ?? extraMessages[errnoName(errno)];
  if (text === undefined) return `Unknown error ${errno}`;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export interface SyscallErrorOptions {
  /** the call as shown to the user, e.g. 'ptrace(PTRACE_SEIZE)' */
  syscall: string;
  errno: number;
  pid?: number;
  /** the object acted on: a path, an fd, an address */
  path?: string;
  cause?: unknown;
}

/** A failed system call. Field names follow Node's SystemError. */
export class SyscallError extends CriuError {
  readonly errno: number;
  readonly syscall: string;
  readonly pid: number | undefined;
  readonly path: string | undefined;

  constructor(options: SyscallErrorOptions) {
    const name = errnoName(options.errno);
    const where = [options.pid === undefined ? '' : ` pid ${options.pid}`, options.path === undefined ? '' : ` ${options.path}`].join('');
    super(`${options.syscall}${where}: ${errnoMessage(options.errno)} (${name})`, {
      code: name,
      cause: options.cause,
    });
    this.name = 'SyscallError';
    this.errno = options.errno;
    this.syscall = options.syscall;
    this.pid = options.pid;
    this.path = options.path;
  }
}

export interface ImageErrorOptions {
  /** the image file (or stream member) name */
  image: string;
  /** byte offset in the image where the problem was found */
  offset: number;
  cause?: unknown;
}

/** A missing, corrupt or truncated image, with where in it. */
export class ImageError extends CriuError {
  readonly image: string;
  readonly offset: number;

  constructor(message: string, options: ImageErrorOptions) {
    super(`${options.image} at offset ${options.offset}: ${message}`, { code: 'EIMAGE', cause: options.cause });
    this.name = 'ImageError';
    this.image = options.image;
    this.offset = options.offset;
  }
}

export interface UnsupportedErrorOptions {
  pid: number;
  /** the resource's kind, e.g. 'io_uring', 'established TCP socket' */
  kind: string;
  fd?: number;
  /** a virtual address, for memory resources */
  address?: bigint;
  hint?: string;
}

/** A resource we cannot checkpoint or restore (yet). */
export class UnsupportedError extends CriuError {
  readonly pid: number;
  readonly kind: string;
  readonly fd: number | undefined;
  readonly address: bigint | undefined;

  constructor(options: UnsupportedErrorOptions) {
    const at = options.fd !== undefined ? ` fd ${options.fd}` : options.address !== undefined ? ` at 0x${options.address.toString(16)}` : '';
    super(`pid ${options.pid}${at}: ${options.kind} is not supported`, { code: 'EUNSUPPORTED', hint: options.hint });
    this.name = 'UnsupportedError';
    this.pid = options.pid;
    this.kind = options.kind;
    this.fd = options.fd;
    this.address = options.address;
  }
}

/** The errno of an error from Node's fs/net layers or ours, if it has one. */
export function errnoOf(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}
