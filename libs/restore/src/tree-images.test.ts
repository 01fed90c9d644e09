import t from 'tap';
import { mkdtempSync, rmSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreEntryMarch, imagePath, writeImage, type Messages } from '@criu-ts/images';
import { readTreeImage } from './tree-images.js';
import type { Teardowns } from '../test/live.js';

const gp = Object.fromEntries(
  ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di', 'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss', 'fs_base', 'gs_base', 'ds', 'es', 'fs', 'gs']
    .map((name) => [name, 0n]),
) as unknown as Messages['user_x86_regs_entry'];

function core(mtype: Messages['core_entry']['mtype'], state = 1): Messages['core_entry'] {
  return {
    mtype,
    thread_info: { clear_tid_addr: 0n, gpregs: gp, fpregs: { cwd: 0, swd: 0, twd: 0, fop: 0, rip: 0n, rdp: 0n, mxcsr: 0, mxcsr_mask: 0 } },
    tc: { task_state: state, exit_code: 0, personality: 0, flags: 0, blk_sigset: 0n, comm: 'x' },
  };
}

function imagesDir(t: Teardowns): string {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-restore-img-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeImage(imagePath(dir, 'pstree'), 'pstree', [{ pid: 500, ppid: 1, pgid: 500, sid: 500, threads: [500] }]);
  return dir;
}

t.test('an image from another architecture is refused, naming it', (t) => {
  const dir = imagesDir(t);
  writeImage(imagePath(dir, 'core', 500), 'core', [core(CoreEntryMarch.AARCH64)]);
  t.throws(() => readTreeImage(dir), { message: /core-500\.img at offset 0: dumped on AARCH64, this is x86_64/ });
  t.end();
});

t.test('missing and truncated images are named', (t) => {
  const dir = imagesDir(t);
  t.throws(() => readTreeImage(dir), { message: /core-500\.img is missing/ });
  writeImage(imagePath(dir, 'core', 500), 'core', [core(CoreEntryMarch.X86_64)]);
  t.throws(() => readTreeImage(dir), { message: /mm-500\.img is missing/ });
  const path = imagePath(dir, 'core', 500);
  truncateSync(path, statSync(path).size - 3);
  t.throws(() => readTreeImage(dir), { message: /core-500\.img/ });
  t.end();
});

t.test('a zombie needs no registers and no mm image', (t) => {
  const dir = imagesDir(t);
  const zombie = core(CoreEntryMarch.X86_64, 2);
  delete zombie.thread_info;
  writeImage(imagePath(dir, 'core', 500), 'core', [zombie]);
  t.match(readTreeImage(dir).tasks, [{ pid: 500, state: 2, mm: undefined }]);
  t.end();
});
