// Unit tests of the restore-side helpers that need no restored task: the
// fd installation plan (simulated, as the kernel would hand out fds), the
// --inherit-fd parser, image path checks and reopen flags, and pipe refill.
import { closeSync, readSync } from 'node:fs';
import t from 'tap';
import { F, O, SYS, fcntl, pipe2 } from '@criu-ts/kernel';
import { checkFdNumbers, planInstall, type InstallFd, type InstallStep } from './fd-install.js';
import { parseInheritFds } from './inherit-fd.js';
import { checkRestorePath, reopenFlags } from './open-path.js';
import { refillPipe } from './pipe-data.js';

/** Runs a plan against a model fd table: {task fd → (our fd, cloexec)}; checks every predicted result. */
function simulate(steps: readonly InstallStep[], initial: number[]): Map<number, { ours: number; cloexec: boolean }> {
  const table = new Map<number, { ours: number; cloexec: boolean }>(initial.map((fd) => [fd, { ours: -1, cloexec: false }]));
  const lowest = (): number => {
    let fd = 0;
    while (table.has(fd)) fd++;
    return fd;
  };
  for (const s of steps) {
    const a = (s.args ?? []).map(Number);
    let got = 0;
    if (s.nr === SYS.close_range) {
      for (const fd of [...table.keys()]) if (fd >= a[0]! && fd <= a[1]!) table.delete(fd);
    }
    else if (s.nr === SYS.pidfd_open) table.set((got = lowest()), { ours: -2, cloexec: true });
    else if (s.nr === SYS.pidfd_getfd) table.set((got = lowest()), { ours: a[1]!, cloexec: true });
    else if (s.nr === SYS.dup3) table.set((got = a[1]!), { ours: table.get(a[0]!)!.ours, cloexec: a[2] === O.CLOEXEC });
    else if (s.nr === SYS.close) table.delete(a[0]!);
    else if (s.nr === SYS.fcntl && a[1] === F.SETFD) table.get(a[0]!)!.cloexec = a[2] === 1;
    if (BigInt(got) !== s.expect) throw new Error(`${s.what}: the kernel would return ${got}, the plan expects ${s.expect}`);
  }
  return table;
}

t.test('planInstall puts every description at its number with its FD_CLOEXEC, and nothing else', (t) => {
  const cases: InstallFd[][] = [
    [],
    [{ target: 0, ours: 50, cloexec: false }, { target: 1, ours: 51, cloexec: false }, { target: 2, ours: 51, cloexec: true }],
    [{ target: 7, ours: 60, cloexec: true }, { target: 3, ours: 61, cloexec: false }, { target: 0, ours: 62, cloexec: false }, { target: 1000, ours: 63, cloexec: false }],
    Array.from({ length: 40 }, (_, i) => ({ target: i * 3, ours: 100 + i, cloexec: i % 2 === 0 })),
  ];
  for (const fds of cases) {
    const table = simulate(planInstall(4242, fds), [0, 1, 2, 5, 9, 200]);
    const want = new Map(fds.map((fd) => [fd.target, { ours: fd.ours, cloexec: fd.cloexec }]));
    t.same(new Map([...table].sort(([a], [b]) => a - b)), new Map([...want].sort(([a], [b]) => a - b)), `${fds.length} fds`);
  }
  t.throws(() => planInstall(1, [{ target: 3, ours: 1, cloexec: false }, { target: 3, ours: 2, cloexec: false }]), /fd 3 is listed twice/);
  t.end();
});

t.test('planInstall with the pidfd of criu handed over already (a task of another pid namespace) keeps it until the end, then closes it', (t) => {
  const fds: InstallFd[] = [{ target: 0, ours: 50, cloexec: false }, { target: 3, ours: 51, cloexec: true }, { target: 4, ours: 52, cloexec: false }];
  for (const pidfd of [0, 3, 6]) {
    // the task holds helper fds and the pidfd it was handed (marked ours -2)
    const table = new Map<number, { ours: number; cloexec: boolean }>();
    const steps = planInstall({ pidfd }, fds);
    t.notOk(steps.some((s) => s.nr === SYS.pidfd_open), `pidfd at ${pidfd}: no pidfd_open (it could not name criu)`);
    const initial = [0, 1, 2, 5, 9].filter((fd) => fd !== pidfd);
    const got = simulate(steps, [...initial, pidfd]);
    for (const [fd, entry] of got) table.set(fd, entry);
    t.same(new Map([...table].sort(([x], [y]) => x - y)), new Map(fds.map((fd) => [fd.target, { ours: fd.ours, cloexec: fd.cloexec }])), `pidfd at ${pidfd}: exactly the task's fds`);
  }
  const kept = [0, 1, 2];
  const beside = simulate(planInstall({ pidfd: 7 }, [{ target: 3, ours: 70, cloexec: false }], new Set(kept)), [...kept, 7]);
  t.same([...beside.keys()].sort((x, y) => x - y), [0, 1, 2, 3], 'beside kept fds: nothing closed but the pidfd');
  t.end();
});

t.test('an fd table listing one fd number twice is an image error naming it', (t) => {
  t.doesNotThrow(() => checkFdNumbers([{ fd: 0 }, { fd: 1 }, { fd: 7 }], 'fdinfo-6.img', 42));
  t.throws(() => checkFdNumbers([{ fd: 0 }, { fd: 7 }, { fd: 7 }], 'fdinfo-6.img', 42), {
    name: 'ImageError', image: 'fdinfo-6.img', message: 'fdinfo-6.img at offset 0: pid 42: fd 7 is listed twice (entry 2)',
  });
  t.end();
});

t.test('planInstall beside fds installed before keeps them and adds the rest', (t) => {
  const kept = [0, 1, 2, 5];
  const fds: InstallFd[] = [{ target: 3, ours: 70, cloexec: false }, { target: 4, ours: 71, cloexec: true }, { target: 9, ours: 72, cloexec: false }];
  const steps = planInstall(4242, fds, new Set(kept));
  t.notOk(steps.some((s) => s.nr === SYS.close_range), 'nothing is closed');
  const table = simulate(steps, kept);
  const want = new Map([...kept.map((fd): [number, { ours: number; cloexec: boolean }] => [fd, { ours: -1, cloexec: false }]), ...fds.map((fd): [number, { ours: number; cloexec: boolean }] => [fd.target, { ours: fd.ours, cloexec: fd.cloexec }])]);
  t.same(new Map([...table].sort(([a], [b]) => a - b)), new Map([...want].sort(([a], [b]) => a - b)), 'the kept fds and the new ones, no pidfd left');
  t.throws(() => planInstall(1, [{ target: 5, ours: 1, cloexec: false }], new Set(kept)), /installed twice/);
  t.end();
});

t.test('--inherit-fd arguments', (t) => {
  t.same(parseInheritFds(['fd[7]:tmp/log', 'fd[12]:pipe:[4242]']), [
    { fd: 7, resource: 'tmp/log', used: false },
    { fd: 12, resource: 'pipe:[4242]', used: false },
  ]);
  t.throws(() => parseInheritFds(['7:tmp/log']), /fd\[N\]:RESOURCE/);
  t.end();
});

t.test('image paths are checked; reopen flags never create or truncate', (t) => {
  t.equal(checkRestorePath('/tmp/a b/c', 'x'), '/tmp/a b/c');
  t.throws(() => checkRestorePath('tmp/c', 'file id 3'), /file id 3: path "tmp\/c" is not absolute/);
  t.throws(() => checkRestorePath('/tmp/../etc/passwd', 'x'), /"\." or "\.\." component/);
  t.throws(() => checkRestorePath('/tmp/\0x', 'x'), /NUL/);
  t.equal(reopenFlags(O.RDWR | O.CREAT | O.TRUNC | O.EXCL | O.APPEND), O.RDWR | O.APPEND);
  t.equal(reopenFlags(O.RDONLY | O.DIRECTORY | O.LARGEFILE), O.DIRECTORY | O.LARGEFILE, 'a directory keeps O_DIRECTORY');
  t.equal(reopenFlags(O.RDWR | O.TMPFILE), O.RDWR, 'a file made with O_TMPFILE loses both its bits (it is no directory)');
  t.equal(reopenFlags(O.RDONLY | O.DIRECTORY), O.RDONLY | O.DIRECTORY, 'a directory keeps O_DIRECTORY');
  t.end();
});

t.test('a pipe is sized and refilled; data that cannot fit is an error, not a hang', (t) => {
  const [r, w] = pipe2(O.CLOEXEC | O.NONBLOCK);
  t.teardown(() => {
    closeSync(r);
    closeSync(w);
  });
  refillPipe(w, { size: 8192, data: Buffer.from('queued bytes') }, 'pipe:[1]');
  t.equal(fcntl(w, F.GETPIPE_SZ), 8192);
  const buf = Buffer.alloc(64);
  t.equal(buf.toString('utf8', 0, readSync(r, buf)), 'queued bytes');
  t.throws(() => refillPipe(w, { size: 4096, data: Buffer.alloc(5000) }), /only 4096 of its 5000 queued bytes fit back in/);
  t.end();
});
