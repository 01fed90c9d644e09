// The root logger of a tool, as criu sets it up: the log goes to stderr, or
// to -o FILE opened relative to the work dir (created 0600, truncated,
// O_APPEND — criu's log_init()); '-' means stderr here, never stdout,
// because stdout may carry an image stream.
import { closeSync, constants, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { SyscallError, createLogger, type Logger, type LogSink } from '@criu-ts/base';

export interface LogOptions {
  /** -o/--log-file as given, undefined for stderr */
  logFile: string | undefined;
  workDir: string;
  level: number;
  logPid: boolean;
  /** prefix of the root logger's lines, e.g. 'criu' */
  where: string;
}

export interface OpenedLog {
  logger: Logger;
  /** the log file's absolute path, undefined when logging to stderr */
  path: string | undefined;
  close(): void;
}

/** A SyscallError from a Node fs error (which carries errno and syscall). */
export function syscallErrorOf(error: unknown, syscall: string, path: string): SyscallError | undefined {
  if (!(error instanceof Error) || !('errno' in error) || typeof error.errno !== 'number') return undefined;
  return new SyscallError({ syscall, errno: Math.abs(error.errno), path, cause: error });
}

export function logFilePath(logFile: string | undefined, workDir: string): string | undefined {
  return logFile === undefined || logFile === '-' ? undefined : resolve(workDir, logFile);
}

export function openLog(options: LogOptions): OpenedLog {
  const path = logFilePath(options.logFile, options.workDir);
  let fd = 2;
  if (path !== undefined) {
    try {
      fd = openSync(path, constants.O_CREAT | constants.O_TRUNC | constants.O_WRONLY | constants.O_APPEND, 0o600);
    } catch (error) {
      throw syscallErrorOf(error, 'open log file', path) ?? error;
    }
  }
  const sink: LogSink = { fd, level: options.level, withPid: options.logPid, start: process.hrtime.bigint() };
  return {
    logger: createLogger(sink, options.where),
    path,
    close: () => {
      if (fd !== 2) closeSync(fd);
    },
  };
}
