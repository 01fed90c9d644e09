// The mm_struct fields of mm-PID.img put back with one PR_SET_MM_MAP
// (prctl(2)): code/data/brk/stack/arg/env bounds, the saved auxv (what
// /proc/PID/auxv and getauxval read) and the exe link (/proc/PID/exe),
// from an injected open of the dumped executable. Dumpable and THP flags
// follow with their own prctls.
import { closeSync } from 'node:fs';
import { CriuError, SyscallError, type Logger } from '@criu-ts/base';
import { O, PR, PR_SET_MM, PRCTL_MM_MAP_SIZE, SYS } from '@criu-ts/kernel';
import { imageFileName, type Messages } from '@criu-ts/images';
import { nsTidOf, takeOurFd, type Injector } from '@criu-ts/inject';
import type { FileTable } from './file-paths.js';
import { openInTask } from './page-fill.js';
import { putScratch, scratchEndOf, type TaskArea } from './task-area.js';

type MmEntry = Messages['mm_entry'];

/** The kernel's saved_auxv holds AT_VECTOR_SIZE (2 * (2 + 20 + 1 + ...)) longs; stay within 2 * 64. */
const MAX_AUXV_WORDS = 128;

/** struct prctl_mm_map for mm, with the auxv at auxvAddr and exe_fd. */
export function mmMapStruct(mm: MmEntry, auxvAddr: bigint, exeFd: number): Buffer {
  const buf = Buffer.alloc(PRCTL_MM_MAP_SIZE);
  const fields = [
    mm.mm_start_code, mm.mm_end_code, mm.mm_start_data, mm.mm_end_data, mm.mm_start_brk, mm.mm_brk,
    mm.mm_start_stack, mm.mm_arg_start, mm.mm_arg_end, mm.mm_env_start, mm.mm_env_end,
  ];
  fields.forEach((value, i) => buf.writeBigUInt64LE(value, i * 8));
  const auxv = mm.mm_saved_auxv ?? [];
  buf.writeBigUInt64LE(auxv.length === 0 ? 0n : auxvAddr, 88);
  buf.writeUInt32LE(auxv.length * 8, 96);
  buf.writeInt32LE(exeFd, 100);
  return buf;
}

function auxvBuffer(mm: MmEntry): Buffer {
  const auxv = mm.mm_saved_auxv ?? [];
  if (auxv.length > MAX_AUXV_WORDS) throw new CriuError(`mm_saved_auxv has ${auxv.length} words, more than the kernel keeps`, { code: 'EIMAGE' });
  const buf = Buffer.alloc(auxv.length * 8);
  auxv.forEach((word, i) => buf.writeBigUInt64LE(BigInt.asUintN(64, word), i * 8));
  return buf;
}

/** Where the exe file comes from: its path, or our fd when a remap stands for it (a deleted binary's ghost). */
export interface ExeSource {
  files: FileTable;
  remappedFd?(fileId: number, flags: number, purpose: string): number | undefined;
}

function openExe(injector: Injector, area: TaskArea, mm: MmEntry, source: ExeSource, log: Logger): bigint {
  const purpose = `exe of pid ${injector.pid}`;
  try {
    const ours = source.remappedFd?.(mm.exe_file_id, O.RDONLY, purpose);
    if (ours !== undefined) {
      try {
        return takeOurFd(injector, ours, () => scratchEndOf(area));
      } finally {
        closeSync(ours);
      }
    }
    return openInTask(injector, area, source.files.path(mm.exe_file_id, purpose), O.RDONLY);
  } catch (error) {
    if (!(error instanceof CriuError)) throw error;
    log.warn(`pid ${injector.pid}: exe link not restored: ${error.message}`);
    return -1n;
  }
}

/** Sets the task's mm fields, auxv and exe link. */
export function restoreMmFields(injector: Injector, area: TaskArea, mm: MmEntry, exe: ExeSource, log: Logger): void {
  const exeFd = openExe(injector, area, mm, exe, log);
  try {
    const auxvAddr = putScratch(injector.pid, area, auxvBuffer(mm), 1024);
    const struct = putScratch(injector.pid, area, mmMapStruct(mm, auxvAddr, Number(exeFd)), 0);
    injector.call('prctl(PR_SET_MM_MAP)', SYS.prctl, [PR.SET_MM, PR_SET_MM.MAP, struct, PRCTL_MM_MAP_SIZE, 0]);
  } catch (error) {
    // the kernel refuses bounds outside the mappings, or an exe that is not one: name what the image asked for
    if (!(error instanceof SyscallError)) throw error;
    const what = `mm fields of ${imageFileName('mm', nsTidOf(injector.pid))}${exeFd >= 0n ? ` with exe file id ${mm.exe_file_id}` : ''}`;
    throw new CriuError(`pid ${injector.pid}: ${what} refused: ${error.message}`, { code: error.code, cause: error });
  } finally {
    if (exeFd >= 0n) injector.call('close', SYS.close, [exeFd]);
  }
  // prctl takes 0 or 1; 2 (suid_dumpable=2) cannot be set back from user space
  if (mm.dumpable === 0 || mm.dumpable === 1) injector.call('prctl(PR_SET_DUMPABLE)', SYS.prctl, [PR.SET_DUMPABLE, mm.dumpable, 0, 0, 0]);
  if (mm.thp_disabled === true) injector.call('prctl(PR_SET_THP_DISABLE)', SYS.prctl, [PR.SET_THP_DISABLE, 1, 0, 0, 0]);
}
