// Every kernel feature `criu check` knows, in the order it checks them.
// Adding a check = one descriptor in probes/ and one line here.
import type { Feature } from './feature.js';
import { canMapVdso, kcmpEpoll, kcmpFiles, mapFiles, memfd, prctlMmMap, vdsoLayout } from './probes/mm.js';
import { memDirtyTrack, pagemapScan, uffd, uffdNoncoop, uffdWp } from './probes/dirty.js';
import { netDiagRaw, sockDiag, sockDiagNetlink, sockDiagPacket, tcpRepair } from './probes/net.js';
import { tcpHalfClosed } from './probes/tcp-half-closed.js';
import { networkLockNftables } from './probes/network-lock-nftables.js';
import { hasIptLegacy } from './probes/ipt-legacy.js';
import { clone3SetTid, nsLastPid, nsPid } from './probes/pids.js';
import { cgroup2, cgroupFreezer, ioUring, timens } from './probes/system.js';
import { getRseqConf, pidfdStore, pidfdWait, processVm, ptraceRegsets, ptraceSeize } from './probes/tasks.js';

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
  timens,
  cgroup2,
  cgroupFreezer,
  nsPid,
  pidfdWait,
  getRseqConf,
  // Category 3: experimental
  ioUring,
];
