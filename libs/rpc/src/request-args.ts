// The whole command line of one request's tool: where the images, the
// work dir and the log are (images_dir_fd and work_dir_fd name the
// client's fds, reached as /proc/PEER/fd/N as upstream criu does), the log
// level, then every other criu_opts field through OPTS_TABLE.
import { HANDLED_ELSEWHERE, OPTS_TABLE, type ArgContext } from './opts-table.js';
import { RpcError, fieldDefault, hasField, type CriuOpts } from './messages.js';

export interface RequestArgs {
  argv: string[];
  /** fields present that do not apply to this request: logged, as upstream ignores them */
  ignored: string[];
  /** criu_opts.config_file: read after the command line, so it overrides the request (as criu's RPC config file does) */
  configFile: string | undefined;
  /** the images directory the tool will use, when there is one */
  imagesDir: string | undefined;
}

export interface ArgInput extends ArgContext {
  /** the client's pid (SO_PEERCRED) */
  peerPid: number;
  /** the images dir may be absent (CHECK) */
  imagesOptional?: boolean;
}

/** Upstream's default log file in the work dir when the client names none. */
export const DEFAULT_LOG_FILE = 'criu.log';

const DUMP_RESTORE_MODES: readonly string[] = ['dump', 'pre-dump', 'restore'];

function peerFd(peer: number, fd: unknown): string {
  return `/proc/${peer}/fd/${Number(fd)}`;
}

function imagesDir(opts: CriuOpts, input: ArgInput): string | undefined {
  const fd = hasField(opts, 'images_dir_fd') ? Number(opts.images_dir_fd) : Number(fieldDefault('images_dir_fd'));
  if (fd !== -1) return peerFd(input.peerPid, fd);
  if (hasField(opts, 'images_dir')) return String(opts.images_dir);
  if (input.imagesOptional === true) return undefined;
  throw new RpcError('Neither images_dir_fd nor images_dir was passed by the RPC client');
}

function logArgs(opts: CriuOpts, input: ArgInput, haveDir: boolean): string[] {
  const level = hasField(opts, 'log_level') ? Number(opts.log_level) : Number(fieldDefault('log_level'));
  const args = [`--verbosity=${Math.max(0, Math.min(level, 4))}`];
  if (hasField(opts, 'log_file')) {
    const file = String(opts.log_file);
    if (file.includes('/')) throw new RpcError(`log_file ${file}: no subdirs are allowed in log_file name (use work_dir_fd)`);
    return [...args, '-o', file];
  }
  if (opts.log_to_stderr === true) return [...args, '-o', '-'];
  // CHECK without a directory logs to stderr, as upstream
  if (!haveDir && input.imagesOptional === true) return args;
  return [...args, '-o', DEFAULT_LOG_FILE];
}

/** The tool's arguments for `opts` (before the tool's own words such as `pre-dump` or `-t PID`). */
export function requestArgs(opts: CriuOpts | undefined, input: ArgInput): RequestArgs {
  const given = opts ?? {};
  const dir = imagesDir(given, input);
  const argv: string[] = dir === undefined ? [] : ['-D', dir];
  if (hasField(given, 'work_dir_fd')) argv.push('-W', peerFd(input.peerPid, given.work_dir_fd));
  argv.push(...logArgs(given, input, dir !== undefined || hasField(given, 'work_dir_fd')));
  const ignored: string[] = [];
  for (const field of Object.keys(given)) {
    if (HANDLED_ELSEWHERE.has(field) || !hasField(given, field)) continue;
    const row = OPTS_TABLE[field];
    if (row === undefined) throw new RpcError(`criu_opts.${field} is not handled by this criu`);
    if (!(row.modes ?? DUMP_RESTORE_MODES).includes(input.mode)) {
      ignored.push(field);
      continue;
    }
    argv.push(...row.args(given[field], input));
  }
  const configFile = hasField(given, 'config_file') ? String(given.config_file) : undefined;
  return { argv, ignored, configFile, imagesDir: dir };
}
