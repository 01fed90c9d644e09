// Every kernel feature `criu check` knows, in the order it checks them.
// Adding a check = one descriptor in probes/ and one line here.
import type { Feature } from './feature.js';
import { canMapVdso, kcmpEpoll, kcmpFiles, mapFiles, memfd, memfdHugetlb, prctlMmMap, vdsoLayout } from './probes/mm.js';
import { memDirtyTrack, pagemapScan, uffd, uffdNoncoop, uffdWp } from './probes/dirty.js';
import { ipv6Freebind, netDiagRaw, sockDiag, sockDiagNetlink, sockDiagPacket, sockoptBufLock, tcpRepair } from './probes/net.js';
import { tcpHalfClosed } from './probes/tcp-half-closed.js';
import { networkLockNftables } from './probes/network-lock-nftables.js';
import { hasIptLegacy } from './probes/ipt-legacy.js';
import { externalNetNs, nftables } from './probes/netns.js';
import { clone3SetTid, nsLastPid, nsPid } from './probes/pids.js';
import { timens } from './probes/namespaces.js';
import { cgroup2, cgroupFreezer, cgroupns, ioUring } from './probes/system.js';
import { fdinfoLock, mntId, openat2, timerfd } from './probes/files.js';
import {
  aioRemap, apparmorStacking, autofs, breakpoints, compatCr, linkNsid, moveMountSetGroup,
  newifindex, nsid, overlayfsMaps, pagemapScanGuardPages, skNs, skUnixFile, tun, tunNs, userns,
} from './probes/unsupported.js';
import {
  getRseqConf, loginuid, pidfdStore, pidfdWait, processVm, ptraceRegsets, ptraceSeize, seccompFilters, seccompSuspend, timerCrIds,
} from './probes/tasks.js';

export const FEATURES: readonly Feature[] = [
  // Category 1: absolutely required
  ptraceSeize,
  ptraceRegsets,
  processVm,
  pidfdStore,
  mapFiles,
  kcmpFiles,
  prctlMmMap,
  clone3SetTid,
  nsLastPid,
  vdsoLayout,
  sockDiag,
  // Category 2: needed only for specific resources
  memDirtyTrack,
  pagemapScan,
  uffd,
  uffdNoncoop,
  uffdWp,
  memfd,
  kcmpEpoll,
  canMapVdso,
  tcpRepair,
  tcpHalfClosed,
  networkLockNftables,
  hasIptLegacy,
  sockDiagNetlink,
  sockDiagPacket,
  netDiagRaw,
  cgroup2,
  cgroupFreezer,
  nsPid,
  pidfdWait,
  getRseqConf,
  mntId,
  fdinfoLock,
  timerfd,
  openat2,
  seccompSuspend,
  seccompFilters,
  loginuid,
  timerCrIds,
  sockoptBufLock,
  ipv6Freebind,
  // upstream's feature names for resources not checkpointed yet (each answers so)
  userns,
  cgroupns,
  timens,
  nsid,
  linkNsid,
  externalNetNs,
  newifindex,
  skNs,
  skUnixFile,
  tun,
  tunNs,
  nftables,
  moveMountSetGroup,
  overlayfsMaps,
  autofs,
  apparmorStacking,
  aioRemap,
  memfdHugetlb,
  compatCr,
  breakpoints,
  pagemapScanGuardPages,
  // Category 3: experimental
  ioUring,
];
