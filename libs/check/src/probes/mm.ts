// Probes for memory-map work: /proc/PID/map_files, kcmp (files, epoll
// targets), PR_SET_MM_MAP, memfd, the vDSO layout and mapping it.
import { closeSync, fstatSync, openSync, readdirSync, readlinkSync } from 'node:fs';
import { errnoName } from '@criu-ts/base';
import {
  ARCH, F, KCMP, MFD, PR, PRCTL_MM_MAP_SIZE, PR_SET_MM, SYS, fcntl, kcmp, memfdCreate, pipe2, readTaskMemory, trySyscall,
} from '@criu-ts/kernel';
import { readMaps } from '@criu-ts/proc';
import { missing, type Feature } from '../feature.js';

const EFAULT = 14;
const EEXIST = 17;
const EPOLL_CTL_ADD = 1;
const EPOLLIN = 1;

function closeAll(fds: readonly number[]): void {
  fds.forEach((fd) => closeSync(fd));
}

export const mapFiles: Feature = {
  name: 'map_files',
  category: 1,
  neededFor: 'dumping file-backed and shared mappings (/proc/PID/map_files)',
  probe: () => {
    const dir = '/proc/self/map_files';
    const entries = readdirSync(dir);
    if (entries.length === 0) return missing(`${dir} is empty`);
    return readlinkSync(`${dir}/${entries[0]}`).startsWith('/') ? 'ok' : missing(`${dir}/${entries[0]} does not name a file`);
  },
};

export const kcmpFiles: Feature = {
  name: 'kcmp',
  category: 1,
  neededFor: 'finding files, memory and fd tables shared between tasks (kcmp)',
  probe: () => {
    const fds = [openSync('/dev/null', 'r'), openSync('/dev/null', 'r')];
    try {
      const dup = fcntl(fds[0]!, F.DUPFD_CLOEXEC, 0);
      fds.push(dup);
      if (kcmp(process.pid, process.pid, KCMP.FILE, BigInt(fds[0]!), BigInt(dup)) !== 0) return missing('kcmp says an fd and its dup differ');
      if (kcmp(process.pid, process.pid, KCMP.FILE, BigInt(fds[0]!), BigInt(fds[1]!)) === 0) return missing('kcmp says two opens are one file');
      return kcmp(process.pid, process.pid, KCMP.VM) === 0 ? 'ok' : missing('kcmp(KCMP_VM) says a task differs from itself');
    } finally {
      closeAll(fds);
    }
  },
};

export const kcmpEpoll: Feature = {
  name: 'kcmp_epoll',
  category: 2,
  neededFor: 'dumping epoll instances (kcmp KCMP_EPOLL_TFD)',
  probe: () => {
    const epfd = Number(trySyscall(SYS.epoll_create1, 0o2000000).value);
    if (epfd < 0) return missing('epoll_create1 failed');
    const [r, w] = pipe2();
    try {
      const event = Buffer.alloc(12);
      event.writeUInt32LE(EPOLLIN, 0);
      trySyscall(SYS.epoll_ctl, epfd, EPOLL_CTL_ADD, r, event);
      const slot = Buffer.alloc(12);
      slot.writeUInt32LE(epfd, 0);
      slot.writeUInt32LE(r, 4);
      const got = trySyscall(SYS.kcmp, process.pid, process.pid, KCMP.EPOLL_TFD, r, slot);
      return got.errno === 0 && got.value === 0n ? 'ok' : missing(`kcmp(KCMP_EPOLL_TFD) answered ${got.errno === 0 ? got.value : errnoName(got.errno)}`);
    } finally {
      closeAll([epfd, r, w]);
    }
  },
};

export const prctlMmMap: Feature = {
  name: 'prctl_mm_map',
  category: 1,
  neededFor: 'restoring a task\'s memory layout fields in one call (prctl PR_SET_MM_MAP)',
  probe: () => {
    const size = Buffer.alloc(4);
    const asked = trySyscall(SYS.prctl, PR.SET_MM, PR_SET_MM.MAP_SIZE, size, 0, 0);
    if (asked.errno !== 0) return missing(`PR_SET_MM_MAP_SIZE failed: ${errnoName(asked.errno)}`);
    if (size.readUInt32LE(0) !== PRCTL_MM_MAP_SIZE) return missing(`struct prctl_mm_map is ${size.readUInt32LE(0)} bytes, we know ${PRCTL_MM_MAP_SIZE}`);
    // an unreadable map: a kernel that implements PR_SET_MM_MAP faults copying it in and changes nothing
    const mapped = trySyscall(SYS.prctl, PR.SET_MM, PR_SET_MM.MAP, 8, PRCTL_MM_MAP_SIZE, 0);
    return mapped.errno === EFAULT ? 'ok' : missing(`PR_SET_MM_MAP answered ${mapped.errno === 0 ? 'success' : errnoName(mapped.errno)}, not EFAULT`);
  },
};

export const memfd: Feature = {
  name: 'memfd',
  category: 2,
  neededFor: 'dumping and restoring memfd files and mappings (memfd_create)',
  probe: () => {
    const fd = memfdCreate('criu-check', MFD.CLOEXEC);
    try {
      const link = readlinkSync(`/proc/self/fd/${fd}`);
      return fstatSync(fd).isFile() && link.startsWith('/memfd:criu-check') ? 'ok' : missing(`memfd shows as ${link}`);
    } finally {
      closeSync(fd);
    }
  },
};

/** memfd_hugetlb: memfd_create(MFD_HUGETLB), how shared hugetlb memory is saved and made again (as upstream does). */
export const memfdHugetlb: Feature = {
  name: 'memfd_hugetlb',
  category: 2,
  neededFor: 'dumping and restoring shared hugetlb memory (memfd_create MFD_HUGETLB)',
  probe: () => {
    const { value, errno } = trySyscall(SYS.memfd_create, Buffer.from('criu-check\0'), MFD.CLOEXEC | MFD.HUGETLB);
    if (errno !== 0) return missing(`memfd_create(MFD_HUGETLB): ${errnoName(errno)}`);
    closeSync(Number(value));
    return 'ok';
  },
};

export const vdsoLayout: Feature = {
  name: 'vdso',
  category: 1,
  neededFor: 'restoring the vDSO and vvar areas where the dumped tasks had them',
  probe: () => {
    const maps = readMaps(process.pid);
    const vdso = maps.find((vma) => vma.kind === 'vdso');
    if (vdso === undefined) return missing('no [vdso] mapping in /proc/self/maps');
    const head = Buffer.alloc(4);
    readTaskMemory(process.pid, vdso.start, head);
    if (!head.equals(Buffer.from('\x7fELF', 'latin1'))) return missing('[vdso] does not start with an ELF header');
    const vvars = maps.filter((vma) => vma.kind === 'vvar' || vma.kind === 'vvar_vclock').sort((a, b) => Number(a.start - b.start));
    if (vvars.length === 0) return missing('no [vvar] mapping next to [vdso]');
    const contiguous = vvars.every((v, i) => i === 0 || vvars[i - 1]!.end === v.start);
    const adjacent = vvars.at(-1)!.end === vdso.start || vdso.end === vvars[0]!.start;
    return contiguous && adjacent ? 'ok' : missing(`unexpected layout: ${[...vvars, vdso].map((v) => `${v.kind} ${v.start.toString(16)}-${v.end.toString(16)}`).join(', ')}`);
  },
};

export const canMapVdso: Feature = {
  name: 'can_map_vdso',
  category: 2,
  neededFor: 'mapping a fresh vDSO on restore (arch_prctl ARCH_MAP_VDSO_64) instead of moving the helper\'s',
  probe: () => {
    if (!readMaps(process.pid).some((vma) => vma.kind === 'vdso')) return missing('no [vdso] mapped here to compare with');
    // we have a vDSO: a kernel with ARCH_MAP_VDSO_64 refuses a second one
    const { errno } = trySyscall(SYS.arch_prctl, ARCH.MAP_VDSO_64, 0);
    return errno === EEXIST ? 'ok' : missing(`ARCH_MAP_VDSO_64 answered ${errno === 0 ? 'success' : errnoName(errno)}, not EEXIST`);
  },
};
