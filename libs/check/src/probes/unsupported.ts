// Features of upstream criu's --feature list that name resources criu-ts
// does not checkpoint yet: the kernel may well have them, but `criu check
// --feature NAME` answers for what a dump and restore with this criu can do,
// so each says plainly what is missing. A feature moves out of this file
// when its kind is built (and gets a real probe).
import { missing, type Feature } from '../feature.js';

function notBuilt(name: string, what: string): Feature {
  return {
    name,
    category: 2,
    neededFor: what,
    probe: () => missing(`criu-ts does not checkpoint ${what} yet`),
  };
}

export const userns = notBuilt('userns', 'user namespaces (a tree with its own is refused)');
export const nsid = notBuilt('nsid', 'network namespace ids (NETNSA_NSID)');
export const linkNsid = notBuilt('link_nsid', 'links between network namespaces (IFLA_LINK_NETNSID)');
export const newifindex = notBuilt('newifindex', 'network devices with their ifindex (IFLA_NEW_IFINDEX)');
export const tun = notBuilt('tun', 'tun/tap devices');
export const tunNs = notBuilt('tun_ns', 'tun/tap devices in other network namespaces');
export const moveMountSetGroup = notBuilt('move_mount_set_group', 'mount sharing groups (move_mount MOVE_MOUNT_SET_GROUP)');
export const overlayfsMaps = notBuilt('overlayfs_maps', 'files mapped from overlayfs mounts');
export const autofs = notBuilt('autofs', 'autofs mounts');
export const apparmorStacking = notBuilt('apparmor_stacking', 'AppArmor namespaces and stacked profiles');
export const aioRemap = notBuilt('aio_remap', 'AIO rings (io_setup)');
export const compatCr = notBuilt('compat_cr', '32-bit (compat) tasks');
export const breakpoints = notBuilt('breakpoints', 'hardware breakpoints (x86 debug registers)');
export const pagemapScanGuardPages = notBuilt('pagemap_scan_guard_pages', 'guard pages (MADV_GUARD_INSTALL)');
export const skNs = notBuilt('sk_ns', 'sockets of other network namespaces');
export const skUnixFile = notBuilt('sk_unix_file', 'unix sockets bound in other mount namespaces');
