// Restore of damaged and hostile image sets: the rmutate fixture (regular
// files, a ghost, a link remap, pipes, unix sockets, a child) is dumped once;
// then each seeded mutation of its images — a blind byte edit of every image
// file, and targeted edits of every field restore turns into a path (reg
// names, ghost and link-remap names, unix socket names, cwd and root, mapped
// files), aimed at a sentinel directory outside, through a symlink, with
// "..", NUL or O_CREAT|O_TRUNC — is restored with criu-restore -d from a
// fresh copy. Each restore either fails, its log saying what failed, with no
// task of it left (no descendant of this test, their subreaper, and no
// restore helper), or succeeds (the tree is then killed); either way the
// sentinel directory, the fixture's files and the images are as they were,
// but for what criu(8) does with such images: a socket at a name the images
// bind. CRIU_FUZZ_SEED replays a run; CRIU_MUTATED_RESTORES=N adds N random
// mutations (several edits each) to the fixed set (`npm run fuzz:restore`).
import t, { type Test } from 'tap';
import { cpSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { logSafe } from '@criu-ts/base';
import { PR, prctl } from '@criu-ts/kernel';
import { DEFAULT_HELPER } from '@criu-ts/restore';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { processesOf } from './lib/faults.js';
import { diffSnapshots, snapshotTree, type FsSnapshot } from './lib/fs-snapshot.js';
import { byteMutation, combined, imageFiles, pathMutations, seededRandom, type Mutation, type Places } from './lib/image-mutations.js';
import { boundSocketPaths, killDescendants, makeOutside, removeTree, restoreOnce, without } from './lib/mutated-restore.js';
import { dumpAndKill } from './lib/round-trip.js';
import { startBackground, waitOutput } from '../libs/restore/test/live.js';

const seed = Number(process.env.CRIU_FUZZ_SEED ?? Date.now() % 0x7fffffff);
const extra = Number(process.env.CRIU_MUTATED_RESTORES ?? 0);
/** CRIU_MUTATION_ONLY=REGEX: only the mutations whose name matches (to replay one) */
const only = process.env.CRIU_MUTATION_ONLY === undefined ? undefined : new RegExp(process.env.CRIU_MUTATION_ONLY);
t.setTimeout(900_000 + extra * 60_000);
t.comment(`mutation seed ${seed} (CRIU_FUZZ_SEED=${seed} replays it)`);

/** The in-suite set: one blind edit of every image file, every targeted edit; then `extra` random combinations. */
function mutationsFor(pristine: string, places: Places, root: number): Mutation[] {
  const rng = seededRandom(seed);
  const files = imageFiles(pristine);
  const targeted = pathMutations(places, root);
  const fixed = [...files.map((file) => byteMutation(rng, file)), ...targeted];
  const random = Array.from({ length: extra }, () => {
    const blind = Array.from({ length: 1 + Math.floor(rng() * 4) }, () => byteMutation(rng, files[Math.floor(rng() * files.length)]!));
    return rng() < 0.3 ? combined([targeted[Math.floor(rng() * targeted.length)]!, ...blind]) : combined(blind);
  });
  return [...fixed, ...random].filter((mutation) => only === undefined || only.test(mutation.name));
}

/** An error names an image (core-42.img), a path, a task (pid 42) or an image's entry (file id 7, unix socket id 7). */
const NAMES_WHAT = /[\w.-]+\.img\b|\/\w|\bpid \d+|\bid \d+/;

const isLinkRemap = (name: string): boolean => /^link_remap\.\d+$/.test(name);

interface Fixture {
  dir: string;
  places: Places;
  exe: string;
  root: number;
  child: number;
  pristine: string;
  /** the work dir's files as dumped (but the socket and link remap), to put back after a restore that damaged them */
  backup: string;
  remaps: string[];
}

/** Dumps the rmutate fixture once (--link-remap); the sentinel dir and the symlink into it are made after. */
function setUp(t: Test): Fixture {
  const dir = scratchDir(t, 'criu-ts-mutated-');
  const places: Places = { work: join(dir, 'w'), outside: join(dir, 'outside'), escape: join(dir, 'w', 'escape') };
  mkdirSync(places.work);
  const out = join(dir, 'out');
  const exe = compileFixture('rmutate', places.work);
  const root = startBackground(t, out, exe, [places.work]);
  const child = Number(waitOutput(out, /ready \d+ (\d+)/)[1]);
  const pristine = dumpAndKill(t, dir, root, { name: 'pristine', args: ['--link-remap'] });
  const remaps = readdirSync(places.work).filter(isLinkRemap);
  const backup = join(dir, 'backup');
  cpSync(places.work, backup, { recursive: true, filter: (path) => !path.endsWith('/listen.sock') && !isLinkRemap(basename(path)) });
  makeOutside(places.outside);
  symlinkSync(places.outside, places.escape);
  return { dir, places, exe, root, child, pristine, backup, remaps };
}

/** Puts the work dir (and the link remap the dump made) back as dumped, and the sentinel dir as made. */
function repair(fx: Fixture): void {
  removeTree(fx.places.work);
  cpSync(fx.backup, fx.places.work, { recursive: true });
  removeTree(fx.places.outside);
  makeOutside(fx.places.outside);
  symlinkSync(fx.places.outside, fx.places.escape);
}

/** The link remap the dump made, again if a restore that succeeded removed it. */
const relink = (fx: Fixture): void =>
  fx.remaps.forEach((name) => existsSync(join(fx.places.work, name)) || linkSync(join(fx.places.work, 'linked.keep'), join(fx.places.work, name)));
/** The fixture's own files, but its socket (rebound by each restore) and the link remap (removed by a good one). */
const workState = (fx: Fixture): FsSnapshot => without(snapshotTree(fx.places.work), (name) => name === 'listen.sock' || isLinkRemap(name));
const imagesState = (images: string): FsSnapshot => without(snapshotTree(images), (name) => name === 'restore.log' || name === 'stats-restore');

/** What a run proved, for the summary: restored, or the first error (numbers masked). */
type Outcome = { restored: true } | { restored: false; error: string };

/** One mutated restore and every check on it. */
function checkRestore(t: Test, fx: Fixture, mutation: Mutation, index: number): Outcome {
  const images = join(fx.dir, `run-${index}`);
  cpSync(fx.pristine, images, { recursive: true });
  t.teardown(() => rmSync(images, { recursive: true, force: true }));
  relink(fx);
  mutation.apply(images);
  const before = { outside: snapshotTree(fx.places.outside), work: workState(fx), images: imagesState(images) };
  const run = restoreOnce(images, join(fx.dir, 'tool.out'));
  t.not(run.status, null, `the restore ends by itself (signal ${run.signal})`);
  const left = killDescendants();
  // escaped: a control character (a CR in a mutated path) in a TAP comment breaks the TAP stream
  t.comment(logSafe(run.status === 0 ? 'restored' : `refused: ${run.errors[0] ?? `status ${run.status}, no error logged`}`));
  if (run.status !== 0) {
    t.strictSame(left, [], 'no task of the restore is left');
    t.ok(run.errors.length > 0, 'the log says what failed');
    t.match(run.errors[0] ?? '', NAMES_WHAT, 'naming the image, path or task at fault', { errors: run.errors.slice(0, 3) });
  }
  t.strictSame(processesOf(DEFAULT_HELPER), [], 'no restore helper is left');
  for (const pid of [fx.root, fx.child]) t.not(exeOf(pid), fx.exe, `no task runs the fixture as pid ${pid}`);
  // criu(8) binds a restored socket at the name its image gives: the one thing a restore may leave
  const bound = new Set(run.status === 0 ? boundSocketPaths(images) : []);
  const madeIn = (dir: string, before: FsSnapshot) => (name: string, what: string): boolean =>
    !before.has(name) && what.startsWith('socket') && bound.has(`${dir}/${name}`);
  const damage = [
    ...diffSnapshots(before.outside, without(snapshotTree(fx.places.outside), madeIn(fx.places.outside, before.outside))),
    ...diffSnapshots(before.work, without(workState(fx), madeIn(fx.places.work, before.work))).map((line) => `work: ${line}`),
  ];
  t.strictSame(damage, [], 'nothing outside, nor any file of the fixture, was made, changed, moved or removed');
  t.strictSame(diffSnapshots(before.images, imagesState(images)), [], 'the images are as they were');
  if (damage.length > 0) repair(fx);
  for (const path of bound) if (lstatSync(Buffer.from(path, 'latin1'), { throwIfNoEntry: false })?.isSocket() === true) rmSync(Buffer.from(path, 'latin1'));
  return run.status === 0 ? { restored: true } : { restored: false, error: (run.errors[0] ?? '').replace(/^\(\S+\) /, '').replace(/\d+/g, 'N') };
}

t.test('restores of mutated images fail cleanly or succeed, and touch nothing outside', (t) => {
  prctl(PR.SET_CHILD_SUBREAPER, 1);
  t.teardown(() => void killDescendants());
  const fx = setUp(t);
  t.equal(fx.remaps.length, 1, 'the dump linked the unlinked file back');
  const outcomes: Outcome[] = [];
  for (const [index, mutation] of mutationsFor(fx.pristine, fx.places, fx.root).entries()) {
    t.test(`#${index} ${mutation.name}`, (t) => {
      outcomes.push(checkRestore(t, fx, mutation, index));
      t.end();
    });
  }
  t.test('summary', (t) => {
    const errors = new Map<string, number>();
    for (const o of outcomes) if (!o.restored) errors.set(o.error, (errors.get(o.error) ?? 0) + 1);
    const restored = outcomes.filter((o) => o.restored).length;
    t.comment(logSafe(`${restored} restored, ${outcomes.length - restored} refused; first errors: ${JSON.stringify([...errors], null, 1)}`));
    if (only === undefined) {
      t.ok(restored > 0, 'some mutations restore');
      t.ok(restored < outcomes.length, 'some mutations are refused');
    }
    t.end();
  });
  t.end();
});

function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH' || code === 'EACCES') return undefined;
    throw error;
  }
}
