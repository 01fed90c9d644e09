// Where a task's page data goes while the memory kind dumps it: the pages
// image (each run at its own offset in pages-N.img) or, with --page-server,
// a page sink (each run's header, then its data, in address order). The
// data comes from a pipe the task vmspliced into, from the task by
// process_vm_readv, or from a buffer read earlier. See criu(8) "dump",
// --page-server.
import { CriuError } from '@criu-ts/base';
import { PE_PRESENT } from '@criu-ts/images';
import { PAGE_SIZE, SPLICE_F, splice } from '@criu-ts/kernel';
import type { PageSink } from '../dump-context.js';
import { copyRuns, sendRuns, writeAll } from './page-copy.js';
import type { DumpRun } from './page-runs.js';

/** A run with where its data goes in the pages image (unused by a sink). */
export interface PlacedRun extends DumpRun {
  offset: number;
}

export interface PageTarget {
  /** Move the first `len` bytes of the run's data out of the pipe. */
  fromPipe(pipeFd: number, run: PlacedRun, len: number): void;
  /** Copy the runs from the task (process_vm_readv, /proc/PID/mem), with buffer as the batch buffer. */
  fromTask(pid: number, runs: readonly PlacedRun[], buffer: Buffer): void;
  /** The run's data, read before. */
  fromBuffer(run: PlacedRun, data: Buffer): void;
}

/** Into pages-N.img (open as pagesFd), each run at its offset. */
export function fileTarget(pagesFd: number): PageTarget {
  return {
    fromPipe(pipeFd, run, len) {
      for (let done = 0; done < len; ) {
        const n = splice(pipeFd, null, pagesFd, BigInt(run.offset + done), len - done, SPLICE_F.MOVE);
        if (n === 0) throw new CriuError(`page pipe ran dry at 0x${run.vaddr.toString(16)} (${done} of ${len} bytes)`, { code: 'EIO' });
        done += n;
      }
    },
    fromTask(pid, runs, buffer) {
      for (const run of runs) copyRuns(pid, [run], { fd: pagesFd, offset: run.offset }, buffer);
    },
    fromBuffer(run, data) {
      writeAll(pagesFd, data, run.offset);
    },
  };
}

/** To a page sink, run by run. */
export function sinkTarget(sink: PageSink): PageTarget {
  const header = (run: DumpRun, bytes: number): { vaddr: bigint; nrPages: number; flags: number } => {
    if (bytes % PAGE_SIZE !== 0) throw new CriuError(`run at 0x${run.vaddr.toString(16)}: ${bytes} bytes is not whole pages`, { code: 'EINVAL' });
    return { vaddr: run.vaddr, nrPages: bytes / PAGE_SIZE, flags: PE_PRESENT };
  };
  return {
    fromPipe(pipeFd, run, len) {
      sink.addRun(header(run, len), { pipe: pipeFd });
    },
    fromTask(pid, runs, buffer) {
      sendRuns(pid, runs, sink, buffer);
    },
    fromBuffer(run, data) {
      sink.addRun(header(run, data.length), { data });
    },
  };
}
