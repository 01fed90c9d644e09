// criu_opts → the command line of the tool that serves the request. One
// row per rpc.proto field: the requests it applies to and the criu(8)
// option(s) it becomes, so a request means exactly what the same options
// mean to the CLI (same parser, same config files, same checks). A field
// this criu cannot honour is refused with an error naming it; a field of
// another request kind (leave_running in a RESTORE) is ignored with a note
// in the log, as upstream criu ignores it.
import { RpcError } from './messages.js';

/** The tool families a request runs. */
export type Mode = 'dump' | 'pre-dump' | 'restore' | 'check' | 'page-server' | 'cpuinfo';

export interface ArgContext {
  mode: Mode;
  /** criu swrk (true) or a connection to criu service (false): rst_sibling and inherit_fd are swrk-only */
  swrk: boolean;
}

interface Row {
  /** the modes it applies to; absent: every mode that runs dump or restore */
  modes?: readonly Mode[];
  /** the options it becomes; throw RpcError for a value that cannot be honoured */
  args(value: unknown, ctx: ArgContext): string[];
}

const DUMPS: readonly Mode[] = ['dump', 'pre-dump'];
const DUMP_RESTORE: readonly Mode[] = ['dump', 'pre-dump', 'restore'];
const RESTORE: readonly Mode[] = ['restore'];

const bool = (option: string, modes: readonly Mode[] = DUMP_RESTORE): Row => ({
  modes,
  args: (value) => [value === true ? `--${option}` : `--no-${option}`],
});
const str = (option: string, modes: readonly Mode[] = DUMP_RESTORE): Row => ({ modes, args: (value) => [`--${option}`, String(value)] });
const num = (option: string, modes: readonly Mode[] = DUMP_RESTORE): Row => ({ modes, args: (value) => [`--${option}`, String(value)] });
const each = (option: string, modes: readonly Mode[] = DUMP_RESTORE): Row => ({
  modes,
  args: (value) => (value as readonly string[]).flatMap((item) => [`--${option}`, item]),
});
/** set to true (or not empty), this criu cannot do it; false or empty is fine */
const refused = (field: string, why: string): Row => ({
  args: (value) => {
    const set = Array.isArray(value) ? value.length > 0 : value !== false && value !== 0;
    if (set) throw new RpcError(`criu_opts.${field} is not supported: ${why}`);
    return [];
  },
});

const CG_MODES: Readonly<Record<string, string>> = { IGNORE: 'ignore', CG_NONE: 'none', PROPS: 'props', SOFT: 'soft', FULL: 'full', STRICT: 'strict', DEFAULT: 'soft' };
const NETWORK_LOCK: Readonly<Record<string, string>> = { IPTABLES: 'iptables', NFTABLES: 'nftables', SKIP: 'skip' };
const PRE_DUMP_MODE: Readonly<Record<string, string>> = { SPLICE: 'splice', VM_READ: 'read' };
const CLONE_NEWNET = 0x40000000;

function named(field: string, table: Readonly<Record<string, string>>, option: string): (value: unknown) => string[] {
  return (value) => {
    const mode = table[String(value)];
    if (mode === undefined) throw new RpcError(`criu_opts.${field}: ${String(value)} is not a value criu knows`);
    return [`--${option}=${mode}`];
  };
}

/** rpc.proto's cpu_cap bits (FPU 1, CPU 2, INS 4; IMAGE 8 is implied) as --cpu-cap words. */
export function cpuCapWords(mask: number): string {
  const words = [[1, 'fpu'], [2, 'cpu'], [4, 'ins']].filter(([bit]) => (mask & (bit as number)) !== 0).map(([, word]) => word as string);
  return words.length === 0 ? 'none' : words.join(',');
}

function swrkOnly(field: string, ctx: ArgContext): void {
  if (!ctx.swrk) throw new RpcError(`criu_opts.${field} is allowed only with criu swrk, not over the criu service socket`);
}

/** Fields handled by the request itself (images/work dir, log, pid, page server, notify): not rows. */
export const HANDLED_ELSEWHERE = new Set([
  'images_dir_fd', 'images_dir', 'work_dir_fd', 'log_level', 'log_file', 'log_to_stderr', 'config_file', 'pid', 'ps', 'notify_scripts',
  // runc always sets it: no criu(8) option, the service tells the tool (tool-requests.ts, libs/cli service-channel.ts)
  'orphan_pts_master',
]);

export const OPTS_TABLE: Readonly<Record<string, Row>> = {
  leave_running: bool('leave-running', DUMPS),
  leave_stopped: bool('leave-stopped', DUMP_RESTORE),
  ext_unix_sk: { modes: DUMP_RESTORE, args: (value) => (value === true ? ['--ext-unix-sk'] : []) },
  unix_sk_ino: { modes: DUMP_RESTORE, args: (value) => (value as readonly { inode: number }[]).map((sk) => `--ext-unix-sk=${sk.inode}`) },
  tcp_established: bool('tcp-established'),
  tcp_close: bool('tcp-close'),
  tcp_skip_in_flight: bool('skip-in-flight', DUMPS),
  evasive_devices: bool('evasive-devices'),
  shell_job: bool('shell-job'),
  file_locks: bool('file-locks'),
  root: str('root', RESTORE),
  parent_img: str('prev-images-dir', DUMPS),
  track_mem: bool('track-mem', DUMPS),
  auto_dedup: bool('auto-dedup'),
  link_remap: bool('link-remap'),
  veths: { modes: RESTORE, args: (value) => (value as readonly { if_in: string; if_out: string }[]).flatMap((v) => ['--veth-pair', `${v.if_in}=${v.if_out}`]) },
  cpu_cap: { modes: [...DUMP_RESTORE, 'cpuinfo'], args: (value) => [`--cpu-cap=${cpuCapWords(Number(value))}`] },
  force_irmap: bool('force-irmap', DUMPS),
  exec_cmd: refused('exec_cmd', 'running a command in place of criu after a restore is not implemented'),
  ext_mnt: { args: (value) => (value as readonly { key: string; val: string }[]).flatMap((m) => ['--ext-mount-map', `${m.key}:${m.val}`]) },
  auto_ext_mnt: { args: (value) => (value === true ? ['--ext-mount-map', 'auto'] : []) },
  ext_sharing: bool('enable-external-sharing', DUMPS),
  ext_masters: bool('enable-external-masters', DUMPS),
  manage_cgroups: { args: (value) => [`--manage-cgroups=${value === true ? 'soft' : 'ignore'}`] },
  manage_cgroups_mode: { args: named('manage_cgroups_mode', CG_MODES, 'manage-cgroups') },
  cg_root: { args: (value) => (value as readonly { ctrl?: string; path: string }[]).flatMap((c) => ['--cgroup-root', c.ctrl === undefined ? c.path : `${c.ctrl}:${c.path}`]) },
  rst_sibling: {
    modes: RESTORE,
    args: (value, ctx) => {
      swrkOnly('rst_sibling', ctx);
      return value === true ? ['--restore-sibling'] : [];
    },
  },
  inherit_fd: {
    modes: RESTORE,
    args: (value, ctx) => {
      swrkOnly('inherit_fd', ctx);
      return (value as readonly { key: string; fd: number }[]).flatMap((i) => ['--inherit-fd', `fd[${i.fd}]:${i.key}`]);
    },
  },
  skip_mnt: each('skip-mnt', DUMPS),
  enable_fs: each('enable-fs'),
  ghost_limit: num('ghost-limit', DUMPS),
  irmap_scan_paths: each('irmap-scan-path', DUMPS),
  external: each('external'),
  empty_ns: {
    modes: RESTORE,
    args: (value) => {
      const mask = Number(value);
      if ((mask & ~CLONE_NEWNET) !== 0) throw new RpcError(`criu_opts.empty_ns 0x${mask.toString(16)}: only CLONE_NEWNET (0x40000000) can be asked for`);
      return mask === 0 ? [] : ['--empty-ns', 'net'];
    },
  },
  join_ns: { modes: RESTORE, args: (value) => (value as readonly { ns: string; ns_file: string; extra_opt?: string }[]).flatMap((j) => ['--join-ns', `${j.ns}:${j.ns_file}${j.extra_opt === undefined ? '' : `,${j.extra_opt}`}`]) },
  cgroup_props: str('cgroup-props', DUMPS),
  cgroup_props_file: str('cgroup-props-file', DUMPS),
  cgroup_dump_controller: each('cgroup-dump-controller', DUMPS),
  freeze_cgroup: str('freeze-cgroup', DUMPS),
  timeout: num('timeout', DUMPS),
  weak_sysctls: bool('weak-sysctls', RESTORE),
  lazy_pages: bool('lazy-pages'),
  lsm_profile: str('lsm-profile'),
  lsm_mount_context: str('lsm-mount-context', RESTORE),
  tls_cacert: str('tls-cacert', [...DUMPS, 'page-server']),
  tls_cacrl: str('tls-cacrl', [...DUMPS, 'page-server']),
  tls_cert: str('tls-cert', [...DUMPS, 'page-server']),
  tls_key: str('tls-key', [...DUMPS, 'page-server']),
  tls: bool('tls', [...DUMPS, 'page-server']),
  tls_no_cn_verify: bool('tls-no-cn-verify', [...DUMPS, 'page-server']),
  cgroup_yard: str('cgroup-yard'),
  pre_dump_mode: { modes: DUMPS, args: named('pre_dump_mode', PRE_DUMP_MODE, 'pre-dump-mode') },
  network_lock: { args: named('network_lock', NETWORK_LOCK, 'network-lock') },
  pidfd_store_sk: { args: () => { throw new RpcError('criu_opts.pidfd_store_sk is not supported: criu-ts keeps no pidfd store between pre-dumps'); } },
  mntns_compat_mode: refused('mntns_compat_mode', 'criu-ts does not restore mount namespaces'),
  skip_file_rwx_check: refused('skip_file_rwx_check', 'this criu has no --skip-file-rwx-check'),
  unprivileged: refused('unprivileged', 'criu-ts runs as root only'),
  status_fd: {
    modes: ['dump', 'pre-dump', 'restore', 'page-server', 'check', 'cpuinfo'],
    args: () => {
      throw new RpcError('criu_opts.status_fd is not supported (criu calls it obsolete); PAGE_SERVER answers once the server listens');
    },
  },
  display_stats: bool('display-stats', DUMP_RESTORE),
};
