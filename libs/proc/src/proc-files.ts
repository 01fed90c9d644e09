// Reading /proc/PID files. Every reader here is synchronous (the dump
// engine's main thread is also the ptrace tracer) and turns Node's fs
// errors into a SyscallError naming the pid and the file, so a task that
// went away reads as `open pid 42 /proc/42/maps: No such file or
// directory (ENOENT)`.
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { CriuError, SyscallError } from '@criu-ts/base';

/** Where a parser's text came from, for error messages: a path or a short name. */
export type Source = string;

interface NodeSystemError extends Error {
  errno: number;
  code: string;
  syscall: string;
}

function isNodeSystemError(error: unknown): error is NodeSystemError {
  return error instanceof Error && typeof (error as Partial<NodeSystemError>).errno === 'number' && typeof (error as Partial<NodeSystemError>).syscall === 'string';
}

/** /proc/PID/NAME, or /proc/PID/task/TID/NAME when a tid is given. */
export function procPath(pid: number, name: string, tid?: number): string {
  return tid === undefined ? `/proc/${pid}/${name}` : `/proc/${pid}/task/${tid}/${name}`;
}

/** Runs fn; an fs error becomes a SyscallError naming pid and path, anything else passes through. */
export function withProcErrors<T>(pid: number, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (!isNodeSystemError(error)) throw error;
    throw new SyscallError({ syscall: error.syscall, errno: Math.abs(error.errno), pid, path, cause: error });
  }
}

/** Malformed /proc text: names the file and the 1-based line (if there is one to blame). */
export function malformed(source: Source, line: number | undefined, message: string, text?: string): CriuError {
  const shown = text === undefined ? '' : `: ${JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}...` : text)}`;
  const where = line === undefined ? source : `${source} line ${line}`;
  return new CriuError(`${where}: ${message}${shown}`, { code: 'EPROCFORMAT' });
}

export function readProcText(pid: number, path: string): string {
  return withProcErrors(pid, path, () => readFileSync(path, 'utf8'));
}

export function readProcBuffer(pid: number, path: string): Buffer {
  return withProcErrors(pid, path, () => readFileSync(path));
}

export function readProcLink(pid: number, path: string): string {
  return withProcErrors(pid, path, () => readlinkSync(path));
}

export function readProcDir(pid: number, path: string): string[] {
  return withProcErrors(pid, path, () => readdirSync(path));
}

/**
 * Fills `into` from `path` starting at byte `position`, looping over short
 * reads; returns the bytes read (less than asked only at end of file).
 */
export function readProcAt(pid: number, path: string, into: Uint8Array, position: bigint): number {
  return withProcErrors(pid, path, () => {
    const fd = openSync(path, 'r');
    try {
      return readFully(fd, into, position);
    } finally {
      closeSync(fd);
    }
  });
}

/** Positioned reads into `into` until full or EOF. */
export function readFully(fd: number, into: Uint8Array, position: bigint): number {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + BigInt(done));
    if (n === 0) break;
    done += n;
  }
  return done;
}

const DECIMAL = /^-?\d+$/;
const HEX = /^[0-9a-fA-F]+$/;
const OCTAL = /^[0-7]+$/;

/** A decimal field that must be a safe integer. */
export function decimal(value: string, source: Source, line: number | undefined, what: string): number {
  const n = Number(value);
  if (!DECIMAL.test(value) || !Number.isSafeInteger(n)) throw malformed(source, line, `${what} is not a decimal number`, value);
  return n;
}

/** A decimal field of any size as bigint. */
export function decimalBig(value: string, source: Source, line: number | undefined, what: string): bigint {
  if (!DECIMAL.test(value)) throw malformed(source, line, `${what} is not a decimal number`, value);
  return BigInt(value);
}

/** An octal field (leading 0 allowed), e.g. fdinfo flags. */
export function octal(value: string, source: Source, line: number | undefined, what: string): number {
  if (!OCTAL.test(value)) throw malformed(source, line, `${what} is not an octal number`, value);
  return parseInt(value, 8);
}

/** A hexadecimal field (no 0x) as bigint. */
export function hexBig(value: string, source: Source, line: number | undefined, what: string): bigint {
  if (!HEX.test(value)) throw malformed(source, line, `${what} is not a hex number`, value);
  return BigInt(`0x${value}`);
}

/** A hexadecimal field (no 0x) as a safe-integer number. */
export function hexNum(value: string, source: Source, line: number | undefined, what: string): number {
  const n = hexBig(value, source, line, what);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(source, line, `${what} does not fit a number`, value);
  return Number(n);
}
