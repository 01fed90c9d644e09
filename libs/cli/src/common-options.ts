// The common options of criu(8): every tool takes them.
import { DEFAULT_LOG_LEVEL } from '@criu-ts/base';
import { flag, intList, list, parseInteger, text, type OptionSpec, type OptionValues } from './option-spec.js';

/**
 * -v[v...], -vN, --verbosity[=N]: each bare occurrence (and each extra v)
 * raises the level by one from the default 2; a number sets it. The
 * argument normaliser turns every form into '+N' (raise) or 'N' (set).
 */
function verbosityOption(): OptionSpec<number> {
  return {
    kind: 'optional-value',
    short: 'v',
    describe: 'log level: 0 none, 1 errors, 2 +warnings (default), 3 +info and timestamps, 4 +debug; each -v raises it by one',
    argName: 'N',
    bare: '+1',
    initial: DEFAULT_LOG_LEVEL,
    reduce: (previous, raw) => (raw.startsWith('+') ? previous + parseInteger(raw.slice(1), 0, 1000) : verbosityValue(raw)),
  };
}

/**
 * -vN's N. `-verbosity=N` (one dash) is read as --verbosity=N: criu(8)'s
 * getopt takes it as -v with the argument "erbosity=N" and atoi() makes it
 * N, and zdtm runs `criu check -verbosity=0`. Other text is refused.
 */
function verbosityValue(raw: string): number {
  const spelled = /^erbosity=(\d+)$/.exec(raw);
  return parseInteger(spelled?.[1] ?? raw, 0, 1000);
}

export const commonOptions = {
  verbosity: verbosityOption(),
  'log-file': text("write the log to FILE, relative to the work dir; '-' is stderr", { short: 'o', argName: 'FILE' }),
  'log-pid': flag('a separate log file per restored pid'),
  'display-stats': flag('print dump/restore statistics at the end'),
  'images-dir': text('directory of the image files', { short: 'D', argName: 'DIR', default: '.' }),
  'work-dir': text('directory for logs, pidfiles and statistics (default: the images dir)', { short: 'W', argName: 'DIR' }),
  'prev-images-dir': text('parent images directory, for incremental dumps (relative to the images dir)', { argName: 'DIR' }),
  pidfile: text('write the root task, service or page-server pid to FILE (relative to the work dir)', { argName: 'FILE' }),
  libdir: text('plugins directory', { short: 'L', argName: 'DIR' }),
  'action-script': list('run SCRIPT at the stages criu(8) names, with CRTOOLS_SCRIPT_ACTION set', { argName: 'SCRIPT' }),
  close: intList('close this file descriptor before doing anything', { argName: 'FD' }),
  'enable-fs': list('auto-detect mounts of these file systems (comma-separated, or all)', { argName: 'FS[,FS...]' }),
  config: text('read options from FILE (then the default config files are not read)', { argName: 'FILE' }),
  'no-default-config': flag('do not read /etc/criu/default.conf and $HOME/.criu/default.conf'),
  help: flag('print this help and exit', { short: 'h' }),
  version: flag('print the version and exit', { short: 'V' }),
} as const;

export type CommonOptions = OptionValues<typeof commonOptions>;
