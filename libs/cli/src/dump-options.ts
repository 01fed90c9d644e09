// Options of `criu dump` and `criu pre-dump` (criu(8) "dump", "pre-dump").
// Here rather than in tools/criu-dump because the RPC service and the dump
// engine consume them too.
import { cpuCapOption } from './cpu-cap.js';
import { choice, flag, int, list, size, text, type OptionValues } from './option-spec.js';
import { dumpRestoreOptions, externalOption, pageServerAddressOptions, streamOption, tlsOptions } from './shared-options.js';

export const dumpOptions = {
  tree: int('checkpoint the whole process tree starting from PID', { short: 't', argName: 'PID', min: 1 }),
  'leave-running': flag('leave tasks running after checkpoint instead of killing them (dangerous)', { short: 'R' }),
  'leave-stopped': flag('leave tasks stopped after checkpoint instead of killing them', { short: 's' }),
  timeout: int('time limit in seconds for collecting tasks', { argName: 'SECONDS', default: 10 }),
  'ghost-limit': size('largest deleted file carried inside the images', { default: 1 << 20 }),
  // the images are the same either way: ghost data runs are found with SEEK_DATA/SEEK_HOLE, one call per run
  'ghost-fiemap': flag('find the data of sparse ghost files in few calls (on by default; SEEK_DATA/SEEK_HOLE runs here either way)', { initial: true }),
  'freeze-cgroup': text('use this cgroup freezer to collect processes', { argName: 'CGROUP' }),
  'cgroup-props': text('controllers and properties to save, in criu(8)\'s simplified YAML', { argName: 'SPEC' }),
  'cgroup-props-file': text('same as --cgroup-props, read from FILE', { argName: 'FILE' }),
  'cgroup-dump-controller': list('dump only this cgroup controller', { argName: 'NAME' }),
  'force-irmap': flag('force resolving names for inotify and fsnotify watches'),
  'irmap-scan-path': list('where to look for inotify/fanotify watched files', { argName: 'PATH' }),
  'skip-mnt': list('skip this mount point', { argName: 'PATH' }),
  // criu(8) takes it on dump too (zdtm's ns flavour passes it); the dump reads the namespace through its tasks, so it changes nothing here
  root: text('the root of the tree\'s mount namespace (taken, as criu(8) does, and not needed by the dump)', { short: 'r', argName: 'PATH' }),
  'enable-external-sharing': flag('allow external shared mounts'),
  'enable-external-masters': flag('allow external master mounts'),
  'page-server': flag('send pages to a page server (see --address, --port)'),
  'track-mem': flag('turn on the kernel memory-changes tracker (pre-dump / incremental dumps)'),
  'pre-dump-mode': choice(['splice', 'read'], 'how pre-dump copies memory', { default: 'splice' }),
  'cpu-cap': cpuCapOption('CPU capabilities to write to the cpuinfo image'),
  ...dumpRestoreOptions,
  ...externalOption,
  ...pageServerAddressOptions,
  ...tlsOptions,
  ...streamOption,
} as const;

export type DumpOptions = OptionValues<typeof dumpOptions>;
