// Every CRIU image kind as data: crit's magic name, the magic, the file name
// pattern (criu/image-desc.c), the header it starts with, the entry message
// types and the raw payload that follows an entry. Facts from CRIU 3.17's
// pycriu (magic.py, images.py).

/** Raw bytes after an entry, sized by fields of the entry's message. */
export type PayloadSpec =
  /** sum of the fields × unit bytes, then zero padding to align; none when the `unless` field is true */
  | { readonly sizeOf: readonly string[]; readonly unit?: number; readonly align?: number; readonly unless?: string }
  /** `count` records, each a length-prefixed `type` message and its `sizeOf` bytes padded to align */
  | { readonly records: { readonly count: string; readonly type: string; readonly sizeOf: string; readonly align: number } }
  /** the rest of the file, unless the `unless` field is true */
  | { readonly rest: true; readonly unless: string };

/**
 * What an image starts with: 'common' / 'service' = IMG_COMMON / IMG_SERVICE
 * then the image magic; 'single' = the image magic alone (inventory);
 * 'none' = nothing (raw images such as pages-N.img).
 */
export type ImageHeader = 'common' | 'service' | 'single' | 'none';

export interface ImageKindSpec {
  /** our name, the file pattern without its number: 'core', 'pagemap-shmem' */
  readonly name: string;
  /** crit's name of the magic: 'CORE' */
  readonly magicName: string;
  readonly magic: number;
  /** file name; %u %d %lu %x %s take the image's id */
  readonly file: string;
  readonly header: ImageHeader;
  /** the entries' message type; absent for raw images */
  readonly message?: string;
  /** the first entry's message type, when it differs (pagemap, ghost files) */
  readonly head?: string;
  readonly payload?: PayloadSpec;
  readonly headPayload?: PayloadSpec;
}

export const IMG_COMMON_MAGIC = 0x54564319;
export const IMG_SERVICE_MAGIC = 0x55105940;
/** CRTOOLS_IMAGES_V1_1, the images' format version (inventory's img_version). */
export const IMAGES_V1_1 = 2;

const pipeData = { sizeOf: ['bytes'] } as const;

export const imageKinds = [
  { name: 'inventory', magicName: 'INVENTORY', magic: 0x58313116, file: 'inventory.img', header: 'single', message: 'inventory_entry' },
  { name: 'fdinfo', magicName: 'FDINFO', magic: 0x56213732, file: 'fdinfo-%u.img', header: 'common', message: 'fdinfo_entry' },
  { name: 'pagemap', magicName: 'PAGEMAP', magic: 0x56084025, file: 'pagemap-%lu.img', header: 'common', head: 'pagemap_head', message: 'pagemap_entry' },
  { name: 'pagemap-shmem', magicName: 'PAGEMAP', magic: 0x56084025, file: 'pagemap-shmem-%lu.img', header: 'common', head: 'pagemap_head', message: 'pagemap_entry' },
  { name: 'pages', magicName: 'PAGES', magic: 0, file: 'pages-%u.img', header: 'none' },
  { name: 'pstree', magicName: 'PSTREE', magic: 0x50273030, file: 'pstree.img', header: 'common', message: 'pstree_entry' },
  { name: 'core', magicName: 'CORE', magic: 0x55053847, file: 'core-%u.img', header: 'common', message: 'core_entry' },
  { name: 'ids', magicName: 'IDS', magic: 0x54432030, file: 'ids-%u.img', header: 'common', message: 'task_kobj_ids_entry' },
  { name: 'mm', magicName: 'MM', magic: 0x57492820, file: 'mm-%u.img', header: 'common', message: 'mm_entry' },
  { name: 'vmas', magicName: 'VMAS', magic: 0x54123737, file: 'vmas-%u.img', header: 'common', message: 'vma_entry' },
  { name: 'pipes', magicName: 'PIPES', magic: 0x56513555, file: 'pipes.img', header: 'common', message: 'pipe_entry' },
  { name: 'pipes-data', magicName: 'PIPES_DATA', magic: 0x56453709, file: 'pipes-data.img', header: 'common', message: 'pipe_data_entry', payload: pipeData },
  { name: 'fifo', magicName: 'FIFO', magic: 0x58364939, file: 'fifo.img', header: 'common', message: 'fifo_entry' },
  { name: 'fifo-data', magicName: 'FIFO_DATA', magic: 0x59333054, file: 'fifo-data.img', header: 'common', message: 'pipe_data_entry', payload: pipeData },
  { name: 'sigacts', magicName: 'SIGACT', magic: 0x55344201, file: 'sigacts-%u.img', header: 'common', message: 'sa_entry' },
  { name: 'unixsk', magicName: 'UNIXSK', magic: 0x54373943, file: 'unixsk.img', header: 'common', message: 'unix_sk_entry' },
  { name: 'inetsk', magicName: 'INETSK', magic: 0x56443851, file: 'inetsk.img', header: 'common', message: 'inet_sk_entry' },
  { name: 'packetsk', magicName: 'PACKETSK', magic: 0x60454618, file: 'packetsk.img', header: 'common', message: 'packet_sock_entry' },
  { name: 'netlinksk', magicName: 'NETLINK_SK', magic: 0x58005614, file: 'netlinksk.img', header: 'common', message: 'netlink_sk_entry' },
  { name: 'sk-queues', magicName: 'SK_QUEUES', magic: 0x56264026, file: 'sk-queues.img', header: 'common', message: 'sk_packet_entry', payload: { sizeOf: ['length'] } },
  { name: 'itimers', magicName: 'ITIMERS', magic: 0x57464056, file: 'itimers-%u.img', header: 'common', message: 'itimer_entry' },
  { name: 'posix-timers', magicName: 'POSIX_TIMERS', magic: 0x52603957, file: 'posix-timers-%u.img', header: 'common', message: 'posix_timer_entry' },
  { name: 'creds', magicName: 'CREDS', magic: 0x54023547, file: 'creds-%u.img', header: 'common', message: 'creds_entry' },
  { name: 'utsns', magicName: 'UTSNS', magic: 0x54473203, file: 'utsns-%u.img', header: 'common', message: 'utsns_entry' },
  { name: 'ipcns-var', magicName: 'IPC_VAR', magic: 0x53115007, file: 'ipcns-var-%u.img', header: 'common', message: 'ipc_var_entry' },
  { name: 'ipcns-shm', magicName: 'IPCNS_SHM', magic: 0x46283044, file: 'ipcns-shm-%u.img', header: 'common', message: 'ipc_shm_entry', payload: { sizeOf: ['size'], align: 4, unless: 'in_pagemaps' } },
  { name: 'ipcns-msg', magicName: 'IPCNS_MSG', magic: 0x55453737, file: 'ipcns-msg-%u.img', header: 'common', message: 'ipc_msg_entry', payload: { records: { count: 'qnum', type: 'ipc_msg', sizeOf: 'msize', align: 8 } } },
  { name: 'ipcns-sem', magicName: 'IPCNS_SEM', magic: 0x59573019, file: 'ipcns-sem-%u.img', header: 'common', message: 'ipc_sem_entry', payload: { sizeOf: ['nsems'], unit: 2, align: 8 } },
  { name: 'reg-files', magicName: 'REG_FILES', magic: 0x50363636, file: 'reg-files.img', header: 'common', message: 'reg_file_entry' },
  { name: 'ext-files', magicName: 'EXT_FILES', magic: 0x59255641, file: 'ext-files.img', header: 'common', message: 'ext_file_entry' },
  { name: 'ns-files', magicName: 'NS_FILES', magic: 0x61394011, file: 'ns-files.img', header: 'common', message: 'ns_file_entry' },
  { name: 'files', magicName: 'FILES', magic: 0x56303138, file: 'files.img', header: 'common', message: 'file_entry' },
  { name: 'fs', magicName: 'FS', magic: 0x51403912, file: 'fs-%u.img', header: 'common', message: 'fs_entry' },
  { name: 'remap-fpath', magicName: 'REMAP_FPATH', magic: 0x59133954, file: 'remap-fpath.img', header: 'common', message: 'remap_file_path_entry' },
  {
    name: 'ghost-file', magicName: 'GHOST_FILE', magic: 0x52583605, file: 'ghost-file-%x.img', header: 'common',
    head: 'ghost_file_entry', headPayload: { rest: true, unless: 'chunks' }, message: 'ghost_chunk_entry', payload: { sizeOf: ['len'] },
  },
  { name: 'memfd', magicName: 'MEMFD_INODE', magic: 0x48453499, file: 'memfd.img', header: 'common', message: 'memfd_inode_entry' },
  { name: 'tcp-stream', magicName: 'TCP_STREAM', magic: 0x51465506, file: 'tcp-stream-%x.img', header: 'common', message: 'tcp_stream_entry', payload: { sizeOf: ['inq_len', 'outq_len'] } },
  { name: 'eventfd', magicName: 'EVENTFD_FILE', magic: 0x44523722, file: 'eventfd.img', header: 'common', message: 'eventfd_file_entry' },
  { name: 'eventpoll', magicName: 'EVENTPOLL_FILE', magic: 0x45023858, file: 'eventpoll.img', header: 'common', message: 'eventpoll_file_entry' },
  { name: 'eventpoll-tfd', magicName: 'EVENTPOLL_TFD', magic: 0x44433746, file: 'eventpoll-tfd.img', header: 'common', message: 'eventpoll_tfd_entry' },
  { name: 'signalfd', magicName: 'SIGNALFD', magic: 0x57323820, file: 'signalfd.img', header: 'common', message: 'signalfd_entry' },
  { name: 'inotify', magicName: 'INOTIFY_FILE', magic: 0x48424431, file: 'inotify.img', header: 'common', message: 'inotify_file_entry' },
  { name: 'inotify-wd', magicName: 'INOTIFY_WD', magic: 0x54562009, file: 'inotify-wd.img', header: 'common', message: 'inotify_wd_entry' },
  { name: 'fanotify', magicName: 'FANOTIFY_FILE', magic: 0x55096122, file: 'fanotify.img', header: 'common', message: 'fanotify_file_entry' },
  { name: 'fanotify-mark', magicName: 'FANOTIFY_MARK', magic: 0x56506035, file: 'fanotify-mark.img', header: 'common', message: 'fanotify_mark_entry' },
  { name: 'timerfd', magicName: 'TIMERFD', magic: 0x50493712, file: 'timerfd.img', header: 'common', message: 'timerfd_entry' },
  { name: 'mountpoints', magicName: 'MNTS', magic: 0x55563928, file: 'mountpoints-%u.img', header: 'common', message: 'mnt_entry' },
  { name: 'netdev', magicName: 'NETDEV', magic: 0x57373951, file: 'netdev-%u.img', header: 'common', message: 'net_device_entry' },
  { name: 'netns', magicName: 'NETNS', magic: 0x55933752, file: 'netns-%u.img', header: 'common', message: 'netns_entry' },
  { name: 'tty', magicName: 'TTY_FILES', magic: 0x59433025, file: 'tty.img', header: 'common', message: 'tty_file_entry' },
  { name: 'tty-info', magicName: 'TTY_INFO', magic: 0x59453036, file: 'tty-info.img', header: 'common', message: 'tty_info_entry' },
  { name: 'tty-data', magicName: 'TTY_DATA', magic: 0x59413026, file: 'tty-data.img', header: 'common', message: 'tty_data_entry' },
  { name: 'filelocks', magicName: 'FILE_LOCKS', magic: 0x54323616, file: 'filelocks.img', header: 'common', message: 'file_lock_entry' },
  { name: 'rlimit', magicName: 'RLIMIT', magic: 0x57113925, file: 'rlimit-%u.img', header: 'common', message: 'rlimit_entry' },
  { name: 'signal-s', magicName: 'SIGNAL', magic: 0x59255647, file: 'signal-s-%u.img', header: 'common', message: 'siginfo_entry' },
  { name: 'signal-p', magicName: 'SIGNAL', magic: 0x59255647, file: 'signal-p-%u.img', header: 'common', message: 'siginfo_entry' },
  { name: 'tunfile', magicName: 'TUNFILE', magic: 0x57143751, file: 'tunfile.img', header: 'common', message: 'tunfile_entry' },
  { name: 'cgroup', magicName: 'CGROUP', magic: 0x59383330, file: 'cgroup.img', header: 'common', message: 'cgroup_entry' },
  { name: 'cpuinfo', magicName: 'CPUINFO', magic: 0x61404013, file: 'cpuinfo.img', header: 'common', message: 'cpuinfo_entry' },
  { name: 'userns', magicName: 'USERNS', magic: 0x55474906, file: 'userns-%u.img', header: 'common', message: 'userns_entry' },
  { name: 'timens', magicName: 'TIMENS', magic: 0x43114433, file: 'timens-%u.img', header: 'common', message: 'timens_entry' },
  { name: 'pidns', magicName: 'PIDNS', magic: 0x61157326, file: 'pidns-%u.img', header: 'common', message: 'pidns_entry' },
  { name: 'seccomp', magicName: 'SECCOMP', magic: 0x64413049, file: 'seccomp.img', header: 'common', message: 'seccomp_entry' },
  { name: 'binfmt-misc', magicName: 'BINFMT_MISC', magic: 0x67343323, file: 'binfmt-misc.img', header: 'common', message: 'binfmt_misc_entry' },
  { name: 'binfmt-misc-old', magicName: 'BINFMT_MISC', magic: 0x67343323, file: 'binfmt-misc-%u.img', header: 'common', message: 'binfmt_misc_entry' },
  { name: 'autofs', magicName: 'AUTOFS', magic: 0x49353943, file: 'autofs-%u.img', header: 'common', message: 'autofs_entry' },
  { name: 'bpfmap-file', magicName: 'BPFMAP_FILE', magic: 0x57506142, file: 'bpfmap-file.img', header: 'common', message: 'bpfmap_file_entry' },
  {
    name: 'bpfmap-data', magicName: 'BPFMAP_DATA', magic: 0x64324033, file: 'bpfmap-data.img', header: 'common',
    message: 'bpfmap_data_entry', payload: { sizeOf: ['keys_bytes', 'values_bytes'] },
  },
  { name: 'apparmor', magicName: 'APPARMOR', magic: 0x59423047, file: 'apparmor.img', header: 'common', message: 'apparmor_entry' },
  { name: 'stats', magicName: 'STATS', magic: 0x57093306, file: 'stats-%s', header: 'service', message: 'stats_entry' },
  { name: 'irmap-cache', magicName: 'IRMAP_CACHE', magic: 0x57004059, file: 'irmap-cache', header: 'service', message: 'irmap_cache_entry' },
  /** criu's kernel-features cache: the two magics, then a raw C struct */
  { name: 'kdat', magicName: 'KDAT', magic: 0x57023458, file: 'criu.kdat', header: 'common' },
  { name: 'ifaddr', magicName: 'IFADDR', magic: 0, file: 'ifaddr-%u.img', header: 'none' },
  { name: 'route', magicName: 'ROUTE', magic: 0, file: 'route-%u.img', header: 'none' },
  { name: 'route6', magicName: 'ROUTE6', magic: 0, file: 'route6-%u.img', header: 'none' },
  { name: 'rule', magicName: 'RULE', magic: 0, file: 'rule-%u.img', header: 'none' },
  { name: 'iptables', magicName: 'IPTABLES', magic: 0, file: 'iptables-%u.img', header: 'none' },
  { name: 'ip6tables', magicName: 'IP6TABLES', magic: 0, file: 'ip6tables-%u.img', header: 'none' },
  { name: 'nftables', magicName: 'NFTABLES', magic: 0, file: 'nftables-%u.img', header: 'none' },
  { name: 'netns-ct', magicName: 'NETNF_CT', magic: 0, file: 'netns-ct-%u.img', header: 'none' },
  { name: 'netns-exp', magicName: 'NETNF_EXP', magic: 0, file: 'netns-exp-%u.img', header: 'none' },
  { name: 'tmpfs', magicName: 'TMPFS_IMG', magic: 0, file: 'tmpfs-%u.tar.gz.img', header: 'none' },
  { name: 'tmpfs-dev', magicName: 'TMPFS_DEV', magic: 0, file: 'tmpfs-dev-%u.tar.gz.img', header: 'none' },
] as const satisfies readonly ImageKindSpec[];

export type ImageKind = (typeof imageKinds)[number];
export type KindName = ImageKind['name'];
