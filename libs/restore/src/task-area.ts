// The restore's temporary area in each new task: one anonymous mapping at
// an address no dumped mapping uses, made in the helper before any task is
// cloned from it (so every task inherits it at the same address). Its first
// page holds the injection trampoline while the task's own memory is torn
// down and rebuilt; the pages after it are scratch for structs and iovecs
// passed to injected calls, then the code and results of injected batches
// (every injector of a restored task runs its batches there: nothing else
// is mapped in a task whose own mappings are being put back); above it lies an unmapped staging range where
// the vDSO is parked while it moves. It is unmapped last, from a trampoline
// in the restored code.
import { CriuError } from '@criu-ts/base';
import { MAP, PAGE_SIZE, PROT, SYS, writeTaskMemory } from '@criu-ts/kernel';
import { TOOL_PIDFD_SCRATCH, type FixedBatchArea, type Injector } from '@criu-ts/inject';

export interface TaskArea {
  base: bigint;
  /** the mapped size: trampoline page + scratch */
  size: number;
  /** the trampoline address (base) */
  site: bigint;
  /** scratch start and size */
  scratch: bigint;
  scratchSize: number;
  /** where injected batches run (InjectorOptions.batchArea) */
  batch: FixedBatchArea;
  /** an unmapped range above the area, for parking the vDSO */
  staging: bigint;
  stagingSize: number;
}

const SCRATCH_PAGES = 15;
/** batch code pages (~400 calls a trip) and one page of results (512) */
const BATCH_CODE_PAGES = 8;
const BATCH_RESULT_PAGES = 1;
const STAGING_SIZE = 4 * 1024 * 1024;
const CANDIDATE_STEP = 0x100000000n;
const FIRST_CANDIDATE = 0x100000000n;
const LAST_CANDIDATE = 0x7f0000000000n;

export interface Range {
  start: bigint;
  end: bigint;
}

/** The area's layout at base. */
export function areaAt(base: bigint): TaskArea {
  const page = (n: number): bigint => base + BigInt(n * PAGE_SIZE);
  const batchCode = 1 + SCRATCH_PAGES;
  const batchResults = batchCode + BATCH_CODE_PAGES;
  const size = (batchResults + BATCH_RESULT_PAGES) * PAGE_SIZE;
  return {
    base,
    size,
    site: base,
    scratch: page(1),
    scratchSize: SCRATCH_PAGES * PAGE_SIZE,
    batch: { code: page(batchCode), codeSize: BATCH_CODE_PAGES * PAGE_SIZE, results: page(batchResults), resultsSize: BATCH_RESULT_PAGES * PAGE_SIZE },
    staging: base + BigInt(size) + BigInt(PAGE_SIZE),
    stagingSize: STAGING_SIZE,
  };
}

/** The first candidate base whose area and staging range overlap none of `taken`. */
export function chooseAreaBase(taken: readonly Range[]): bigint {
  for (let base = FIRST_CANDIDATE; base < LAST_CANDIDATE; base += CANDIDATE_STEP) {
    const area = areaAt(base);
    const end = area.staging + BigInt(area.stagingSize);
    if (!taken.some((r) => r.start < end && base < r.end)) return base;
  }
  throw new CriuError('no free address range for the restore trampoline in the dumped address spaces', { code: 'ENOMEM' });
}

/** Maps the area in the task behind `injector` (at the helper's start). */
export function mapArea(injector: Injector, area: TaskArea): void {
  const prot = PROT.READ | PROT.WRITE | PROT.EXEC;
  const flags = MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED_NOREPLACE;
  const got = injector.call('mmap', SYS.mmap, [area.base, area.size, prot, flags, -1, 0]);
  if (got !== area.base) throw new CriuError(`task ${injector.pid}: the restore area landed at 0x${got.toString(16)}, not 0x${area.base.toString(16)}`);
}

/** Writes buf into the task's scratch at offset; returns its address there. */
export function putScratch(pid: number, area: TaskArea, buf: Buffer, offset = 0): bigint {
  if (offset < 0 || offset + buf.length > area.scratchSize) {
    throw new RangeError(`scratch holds ${area.scratchSize} bytes, not ${offset}+${buf.length}`);
  }
  const addr = area.scratch + BigInt(offset);
  if (writeTaskMemory(pid, addr, buf) !== buf.length) throw new CriuError(`task ${pid}: short write to the restore scratch at 0x${addr.toString(16)}`);
  return addr;
}

/** A NUL-terminated path in the scratch; refuses paths with a NUL inside. */
export function putPath(pid: number, area: TaskArea, path: string, offset = 0): bigint {
  if (path.includes('\0')) throw new CriuError(`path ${JSON.stringify(path)} contains a NUL byte`, { code: 'EINVAL' });
  return putScratch(pid, area, Buffer.from(`${path}\0`, 'utf8'), offset);
}

/**
 * A task cloned while its parent's trampoline was written still carries
 * those bytes: clear them so an injector can be opened on it.
 */
export function clearInheritedTrampoline(pid: number, area: TaskArea): void {
  writeTaskMemory(pid, area.site, Buffer.alloc(4));
}

/** The scratch's last bytes, for handing a task our pidfd (takeOurFd) while the rest may hold a call's arguments. */
export function scratchEndOf(area: TaskArea): bigint {
  return area.scratch + BigInt(area.scratchSize - TOOL_PIDFD_SCRATCH);
}
