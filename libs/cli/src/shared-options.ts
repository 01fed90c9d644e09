// Options that several tools share, from criu(8). Tools spread these into
// their own tables so one option means the same thing everywhere.
import { choice, flag, int, list, text, type OptionSpec } from './option-spec.js';

/** -x, --ext-unix-sk[=ID,...]: allow external UNIX sockets; undefined when not given, [] for all */
function extUnixSkOption(): OptionSpec<string[] | undefined> {
  return {
    kind: 'optional-value',
    short: 'x',
    describe: 'allow external UNIX sockets (optionally only these inode ids)',
    argName: 'ID[,ID...]',
    bare: '',
    initial: undefined,
    reduce: (previous, raw) => [...(previous ?? []), ...raw.split(',').filter((id) => id !== '')],
  };
}

/** page-server connection: the server listens there, dump and lazy-pages connect there */
export const pageServerAddressOptions = {
  address: text('page server IP address or host name', { argName: 'ADDRESS' }),
  port: int('page server TCP port', { argName: 'PORT', min: 1, max: 65535 }),
} as const;

/** TLS for page-server connections (criu(8) page-server section) */
export const tlsOptions = {
  tls: flag('use TLS to secure remote connections'),
  'tls-cacert': text('trusted CA certificate (PEM) for verifying the peer', { argName: 'FILE' }),
  'tls-cacrl': text('certificate revocation list (PEM)', { argName: 'FILE' }),
  'tls-cert': text('X.509 certificate (PEM) presented to the peer', { argName: 'FILE' }),
  'tls-key': text('TLS private key (PEM)', { argName: 'FILE' }),
  'tls-no-cn-verify': flag("don't verify the common name of the peer's certificate"),
} as const;

export const streamOption = {
  stream: flag('dump writes the checkpoint as one tar stream to stdout; restore reads one from stdin'),
} as const;

export const statusFdOption = {
  'status-fd': int('write \\0 to this fd and close it once ready to serve', { argName: 'FD' }),
} as const;

export const daemonOption = {
  daemon: flag('run in the background', { short: 'd' }),
} as const;

/** --external type[id]:value, for both dump and restore */
export const externalOption = {
  external: list('an external resource: mnt[..], dev[..], file[..], tty[..], unix[..], net[..], pid[..], veth[..], macvlan[..]', {
    argName: 'TYPE[ID]:VALUE',
    check: (raw) => {
      if (!/^[a-z]+\[[^\]]*\]/.test(raw)) throw new Error(`'${raw}' is not of the form TYPE[ID][:VALUE]`);
    },
  }),
} as const;

/** options dump and restore both take, with the same meaning on each side */
export const dumpRestoreOptions = {
  'shell-job': flag('allow (dump) or restore a shell job: inherit session and process group from criu', { short: 'j' }),
  'file-locks': flag('dump or restore file locks', { short: 'l' }),
  'tcp-established': flag('checkpoint or restore established TCP connections'),
  'tcp-close': flag("don't dump established TCP connections / restore them closed"),
  // criu(8) takes it on restore too (and ignores it there)
  'skip-in-flight': flag('skip TCP connections that are not yet completely established (dump)'),
  'ext-unix-sk': extUnixSkOption(),
  'ext-mount-map': list('map a mount point to an external name (KEY:VALUE, or auto)', { short: 'M', argName: 'KEY:VALUE' }),
  'manage-cgroups': choice(['none', 'props', 'soft', 'full', 'strict', 'ignore'], 'dump or restore cgroups', { bare: 'soft' }),
  'cgroup-root': list('change the root of a cgroup controller: [CONTROLLER:]/NEWROOT', { argName: '[CTL:]/ROOT' }),
  'cgroup-yard': text('use this already mounted cgroup yard instead of mounting cgroups', { argName: 'PATH' }),
  'file-validation': choice(['filesize', 'buildid'], 'how to check that a file is the one dumped', { bare: 'buildid', default: 'buildid' }),
  'network-lock': choice(['iptables', 'nftables', 'skip'], 'how to lock the network between dump and restore', { default: 'iptables' }),
  'auto-dedup': flag('punch out pages already present in a parent image (dump), or as soon as restored (restore)'),
  'lazy-pages': flag('post-copy: leave pages to be served on demand by the lazy-pages daemon'),
  'link-remap': flag('allow linking unlinked files back, if possible'),
  'evasive-devices': flag('use any path to a device file if the original one is inaccessible'),
  'lsm-profile': text('LSM profile to use during restore: apparmor:NAME or selinux:NAME', { argName: 'TYPE:NAME' }),
} as const;
