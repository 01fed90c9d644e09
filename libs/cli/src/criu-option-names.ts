// Every option name criu(8) knows, whichever command uses it, with its
// argument: criu has one option table for all commands, so a config file
// (shared by all our tools) may name an option another tool uses. A tool
// skips such lines instead of failing; a truly unknown name is an error.
export type Arity = 'none' | 'required' | 'optional';

const flags = [
  'leave-stopped', 'leave-running', 'restore-detached', 'restore-sibling', 'daemon', 'help', 'version',
  'tcp-established', 'tcp-close', 'skip-in-flight', 'log-pid', 'evasive-devices', 'link-remap', 'shell-job',
  'file-locks', 'page-server', 'track-mem', 'auto-dedup', 'force-irmap', 'exec-cmd', 'enable-external-sharing',
  'enable-external-masters', 'lazy-pages', 'extra', 'experimental', 'all', 'deprecated', 'display-stats',
  'weak-sysctls', 'remote', 'relative-timestamps', 'no-default-config', 'ms', 'stream', 'tls', 'tls-no-cn-verify',
  'unprivileged', 'ghost-fiemap', 'mntns-compat-mode', 'skip-file-rwx-check', 'allow-uprobes', 'ps-socket-compat',
] as const;

const required = [
  'tree', 'images-dir', 'work-dir', 'log-file', 'join-ns', 'root', 'close', 'pidfile', 'veth-pair', 'action-script',
  'address', 'port', 'prev-images-dir', 'libdir', 'ext-mount-map', 'cgroup-root', 'inherit-fd', 'feature', 'skip-mnt',
  'enable-fs', 'freeze-cgroup', 'ghost-limit', 'irmap-scan-path', 'lsm-profile', 'lsm-mount-context', 'timeout',
  'external', 'empty-ns', 'cgroup-props', 'cgroup-props-file', 'cgroup-dump-controller', 'status-fd', 'ps-socket',
  'config', 'cgroup-yard', 'tls-cacert', 'tls-cacrl', 'tls-cert', 'tls-key', 'pre-dump-mode', 'network-lock',
] as const;

const optional = ['verbosity', 'ext-unix-sk', 'cpu-cap', 'manage-cgroups', 'file-validation'] as const;

export const criuLongOptions: ReadonlyMap<string, Arity> = new Map<string, Arity>([
  ...flags.map((name): [string, Arity] => [name, 'none']),
  ...required.map((name): [string, Arity] => [name, 'required']),
  ...optional.map((name): [string, Arity] => [name, 'optional']),
]);

/** criu's short options (getopt "dSsRt:hD:o:v::x::Vr:jJ:lW:L:M:") and their long names */
export const criuShortOptions: ReadonlyMap<string, string> = new Map([
  ['d', 'restore-detached'], ['S', 'restore-sibling'], ['s', 'leave-stopped'], ['R', 'leave-running'],
  ['t', 'tree'], ['h', 'help'], ['D', 'images-dir'], ['o', 'log-file'], ['v', 'verbosity'], ['x', 'ext-unix-sk'],
  ['V', 'version'], ['r', 'root'], ['j', 'shell-job'], ['J', 'join-ns'], ['l', 'file-locks'], ['W', 'work-dir'],
  ['L', 'libdir'], ['M', 'ext-mount-map'],
]);

/** criu(8)'s commands: not allowed in config files */
export const criuCommands: readonly string[] = [
  'dump', 'pre-dump', 'restore', 'lazy-pages', 'check', 'page-server', 'service', 'swrk', 'dedup', 'cpuinfo', 'exec', 'show',
];
