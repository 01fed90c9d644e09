// Logging in criu(8)'s levels and line format. Lines go to a file
// descriptor (stderr or the -o log file), never to stdout: stdout may
// carry an image stream.
//
//   0 no output, 1 errors, 2 + warnings (default), 3 + info and
//   timestamps, 4 + debug.
//
// A line looks like criu's: "(00.012345) Error (dump/vma): what", where
// the timestamp is printed from level 3 up and "Error"/"Warn" mark the
// lines scripts grep for.
import { writeSync } from 'node:fs';

export const LogLevel = { none: 0, error: 1, warn: 2, info: 3, debug: 4 } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];
export const DEFAULT_LOG_LEVEL: LogLevel = LogLevel.warn;

export interface LogSink {
  /** file descriptor the lines are written to */
  fd: number;
  level: number;
  /** prefix every line with the writing process's pid, as --log-pid asks */
  withPid: boolean;
  /** process.hrtime.bigint() at start: timestamps count from here */
  start: bigint;
}

export interface Logger {
  readonly sink: LogSink;
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  /** true if a message of this level would be written: guard costly messages */
  enabled(level: LogLevel): boolean;
  /** a logger for a sub-module: "dump" → "dump/vma" */
  child(prefix: string): Logger;
}

function timestamp(sink: LogSink): string {
  const micros = (process.hrtime.bigint() - sink.start) / 1000n;
  const seconds = (micros / 1_000_000n).toString().padStart(2, '0');
  const fraction = (micros % 1_000_000n).toString().padStart(6, '0');
  return `(${seconds}.${fraction}) `;
}

/**
 * A message as it may go into a line-oriented log: control characters
 * (which a path from an image can hold: a CR, an escape sequence) shown as
 * \xNN, and a message of several lines (a stack) continued on indented
 * lines, so no text can start a line of its own ("Error (criu): ...").
 */
export function logSafe(message: string): string {
  return message
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/\n/g, '\n  ');
}

export function formatLine(sink: LogSink, level: LogLevel, where: string, message: string): string {
  let line = sink.level >= LogLevel.info ? timestamp(sink) : '';
  if (sink.withPid) line += `${String(process.pid).padStart(6)}: `;
  if (level === LogLevel.error) line += `Error (${where}): `;
  else if (level === LogLevel.warn) line += `Warn  (${where}): `;
  else if (sink.level >= LogLevel.debug) line += `${where}: `;
  return `${line}${logSafe(message)}\n`;
}

function write(sink: LogSink, line: string): void {
  try {
    writeSync(sink.fd, line);
  } catch (error) {
    // a closed or full log must not turn into a crash mid-dump
    if (!(error instanceof Error)) throw error;
  }
}

export function createLogger(sink: LogSink, where: string): Logger {
  const emit = (level: LogLevel, message: string): void => {
    if (sink.level >= level) write(sink, formatLine(sink, level, where, message));
  };
  return {
    sink,
    error: (message) => emit(LogLevel.error, message),
    warn: (message) => emit(LogLevel.warn, message),
    info: (message) => emit(LogLevel.info, message),
    debug: (message) => emit(LogLevel.debug, message),
    enabled: (level) => sink.level >= level,
    child: (prefix) => createLogger(sink, `${where}/${prefix}`),
  };
}

/** A logger to stderr at the default level: for libraries used outside a tool. */
export function defaultLogger(where = 'criu'): Logger {
  return createLogger({ fd: 2, level: DEFAULT_LOG_LEVEL, withPid: false, start: process.hrtime.bigint() }, where);
}
