// mm_entry fields other than the VMAs: code/data/stack/brk/arg/env bounds
// from /proc/PID/stat, the current brk and the dumpable and THP-disabled
// flags from injected brk(0) and prctl(2) calls (only the task can tell
// them), the saved auxiliary vector as raw words from /proc/PID/auxv, and
// the executable's file id. See proc_pid_stat(5), prctl(2), getauxval(3).
import { readFileSync } from 'node:fs';
import type { MmEntry, VmaEntry } from '@criu-ts/images';
import { PR, SYS } from '@criu-ts/kernel';
import { readStat } from '@criu-ts/proc';
import type { DumpContext } from '../dump-context.js';
import { regFileId } from './mapped-files.js';

/**
 * The saved auxv as upstream CRIU 4.2 stores it: the u64 words of
 * /proc/PID/auxv (type/value pairs) up to and including the AT_NULL pair,
 * at most AT_VECTOR_SIZE (44 on x86_64) of them — upstream reads that
 * many and refuses more on restore ("Image corrupted").
 */
export const AT_VECTOR_SIZE = 44;

export function auxvWords(data: Buffer): bigint[] {
  const words = [...new BigUint64Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length - (data.length % 16)))];
  let end = words.length;
  for (let i = 0; i < words.length; i += 2) {
    if (words[i] === 0n) {
      end = i + 2;
      break;
    }
  }
  return words.slice(0, Math.min(end, AT_VECTOR_SIZE));
}

interface InjectedMm {
  brk: bigint;
  dumpable: number;
  thpDisabled: boolean;
}

function injectedMm(ctx: DumpContext, pid: number): InjectedMm {
  const injector = ctx.injector(pid);
  return {
    brk: injector.call('brk', SYS.brk, [0]),
    dumpable: Number(injector.call('prctl(PR_GET_DUMPABLE)', SYS.prctl, [PR.GET_DUMPABLE, 0, 0, 0, 0])),
    thpDisabled: injector.call('prctl(PR_GET_THP_DISABLE)', SYS.prctl, [PR.GET_THP_DISABLE, 0, 0, 0, 0]) !== 0n,
  };
}

/** The whole mm_entry of a frozen task, given its vma entries. */
export function buildMmEntry(ctx: DumpContext, pid: number, vmas: VmaEntry[]): MmEntry {
  const stat = readStat(pid);
  const injected = injectedMm(ctx, pid);
  return {
    mm_start_code: stat.startcode,
    mm_end_code: stat.endcode,
    mm_start_data: stat.start_data,
    mm_end_data: stat.end_data,
    mm_start_stack: stat.startstack,
    mm_start_brk: stat.start_brk,
    mm_brk: injected.brk,
    mm_arg_start: stat.arg_start,
    mm_arg_end: stat.arg_end,
    mm_env_start: stat.env_start,
    mm_env_end: stat.env_end,
    exe_file_id: regFileId(ctx, { pid, link: `/proc/${pid}/exe` }),
    mm_saved_auxv: auxvWords(readFileSync(`/proc/${pid}/auxv`)),
    vmas,
    dumpable: injected.dumpable,
    thp_disabled: injected.thpDisabled,
  };
}
