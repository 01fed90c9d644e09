// Seeded mutations of an images directory, for restoring damaged or hostile
// image sets: blind byte edits of one image file (flip, cut, replace), and
// targeted, protobuf-aware edits of the fields restore turns into paths —
// a regular file's name, a ghost's or link remap's, a unix socket's name,
// the cwd and root of fs-PID.img, a mapping's file — each aimed at names
// outside what the dump owns. Every mutation is named, so a failing one can
// be told apart and replayed with its seed.
import { readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAP, O, PROT } from '@criu-ts/kernel';
import { VMA } from '@criu-ts/kinds';
import { RemapType, kindOfFileName, readEntries, readImageEntries, writeImage, type FileEntry, type KindName } from '@criu-ts/images';

export interface Mutation {
  name: string;
  /** edits the images directory in place */
  apply(images: string): void;
}

/** Where the targeted mutations point: the fixture's work dir, a sentinel dir outside it, a symlink from one to the other. */
export interface Places {
  work: string;
  outside: string;
  /** work/escape, a symlink to outside made after the dump */
  escape: string;
}

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const below = (rng: () => number, n: number): number => Math.floor(rng() * n);
const INTERESTING_U32 = [0, 1, 0x7f, 0x80, 0xff, 0x1000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** The image files of a dump (not its log). */
export function imageFiles(images: string): string[] {
  return readdirSync(images).filter((name) => !name.endsWith('.log')).sort();
}

/** One blind edit of one file: a bit flip, a cut, a run of random bytes, or a 32-bit value. */
export function byteMutation(rng: () => number, file: string): Mutation {
  const op = below(rng, 4);
  const at = rng();
  const flips = Array.from({ length: 1 + below(rng, 3) }, () => 1 << below(rng, 8));
  const values = Array.from({ length: 1 + below(rng, 8) }, () => below(rng, 256));
  const u32 = INTERESTING_U32[below(rng, INTERESTING_U32.length)]!;
  const names = ['flip', 'cut', 'replace', 'u32'];
  return {
    name: `${names[op]} ${file} at ${at.toFixed(4)}`,
    apply(images) {
      const path = join(images, file);
      const size = statSync(path).size;
      const offset = Math.min(Math.floor(at * size), Math.max(size - 1, 0));
      if (op === 1) return truncateSync(path, offset);
      const bytes = readFileSync(path);
      if (bytes.length === 0) return;
      if (op === 0) flips.forEach((mask, i) => (bytes[(offset + i * 7) % bytes.length]! ^= mask));
      if (op === 2) values.forEach((value, i) => (bytes[(offset + i) % bytes.length] = value));
      if (op === 3 && offset + 4 <= bytes.length) bytes.writeUInt32LE(u32, offset);
      writeFileSync(path, bytes);
    },
  };
}

/** Rewrites the entries of one image (decoded, edited, encoded again). */
function editImage<M>(images: string, file: string, edit: (messages: M[]) => void): void {
  const path = join(images, file);
  const kind = kindOfFileName(file);
  if (kind === undefined) throw new Error(`no image kind for ${file}`);
  const entries = readImageEntries(path, kind.name as KindName);
  edit(entries.map((entry) => entry.message as M));
  writeImage(path, kind.name as KindName, entries.map((entry) => (entry.payload === undefined ? { message: entry.message } : { message: entry.message, payload: entry.payload })) as never);
}

const editFiles = (images: string, edit: (files: FileEntry[]) => void): void => editImage<FileEntry>(images, 'files.img', edit);

function fileNamed(files: FileEntry[], suffix: string): FileEntry {
  const found = files.find((entry) => entry.reg?.name.endsWith(suffix) === true);
  if (found === undefined) throw new Error(`no file entry named *${suffix}`);
  return found;
}

function remapOf(images: string, type: number): { orig_id: number; remap_id: number } {
  const entries = readImageEntries(join(images, 'remap-fpath.img'), 'remap-fpath').map((entry) => entry.message as { orig_id: number; remap_id: number; remap_type?: number });
  const found = entries.find((entry) => (entry.remap_type ?? RemapType.LINKED) === type);
  if (found === undefined) throw new Error(`no remap of type ${type}`);
  return found;
}

/** A file entry restore cannot tell from another by size or mode (an O_WRONLY|O_APPEND file keeps no size, older images no mode), opened read-only. */
function uncheck(reg: NonNullable<FileEntry['reg']>): void {
  delete reg.size;
  delete reg.mode;
  reg.flags = O.RDONLY;
}

type RegEdit = (reg: NonNullable<FileEntry['reg']>, files: FileEntry[]) => void;

const regMutation = (name: string, pick: (files: FileEntry[], images: string) => FileEntry, edit: RegEdit): Mutation => ({
  name,
  apply: (images) => editFiles(images, (files) => edit(pick(files, images).reg!, files)),
});

const byId = (id: (images: string) => number) => (files: FileEntry[], images: string): FileEntry => {
  const wanted = id(images);
  const found = files.find((entry) => entry.id === wanted);
  if (found === undefined) throw new Error(`no file entry ${wanted}`);
  return found;
};

function regMutations(p: Places): Mutation[] {
  const reg = (files: FileEntry[]): FileEntry => fileNamed(files, '/w/reg');
  const log = (files: FileEntry[]): FileEntry => fileNamed(files, '/w/log');
  const ghost = byId((images) => remapOf(images, RemapType.GHOST).orig_id);
  const linked = byId((images) => remapOf(images, RemapType.LINKED).orig_id);
  const linkSource = byId((images) => remapOf(images, RemapType.LINKED).remap_id);
  const linkSourceMutation = (name: string, edit: RegEdit): Mutation => ({
    name,
    apply: (images) => editFiles(images, (files) => {
      edit(linkSource(files, images).reg!, files);
      uncheck(linked(files, images).reg!);
    }),
  });
  const creating = O.CREAT | O.TRUNC;
  return [
    regMutation('reg: relative ../../etc/x', reg, (r) => (r.name = '../../etc/x')),
    regMutation('reg: an outside file of the same size and mode, O_CREAT|O_TRUNC', reg, (r) => ((r.name = `${p.outside}/canary`), (r.flags |= creating))),
    regMutation('reg: through a symlink to outside, O_TRUNC', reg, (r) => ((r.name = `${p.escape}/canary`), (r.flags |= creating))),
    regMutation('reg: a .. component into outside', reg, (r) => (r.name = `${p.work}/../outside/canary`)),
    regMutation('reg: a missing outside file, O_CREAT', reg, (r) => ((r.name = `${p.outside}/made-by-restore`), (r.flags |= O.CREAT), delete r.size)),
    regMutation('reg: an outside directory', reg, (r) => (r.name = `${p.outside}/dir`)),
    regMutation('reg: a NUL inside the name', reg, (r) => (r.name = `${p.outside}/canary\0x`)),
    regMutation('log (O_WRONLY): an outside FIFO', log, (r) => (r.name = `${p.outside}/fifo`)),
    regMutation('ghost: at an existing outside file', ghost, (r) => (r.name = `${p.outside}/canary`)),
    regMutation('ghost: under missing outside directories', ghost, (r) => (r.name = `${p.outside}/newdir/sub/ghost`)),
    regMutation('ghost: through a symlink to outside', ghost, (r) => (r.name = `${p.escape}/ghost`)),
    regMutation('ghost: a .. component', ghost, (r) => (r.name = `${p.work}/../outside/ghost`)),
    // the file a link remap stands for, unchecked (no size: as an O_APPEND log), so only the remap's own checks stand
    linkSourceMutation('link remap: its source is an outside file', (r) => (r.name = `${p.outside}/canary`)),
    linkSourceMutation('link remap: its source is a file of the dump (not a link_remap)', (r, files) => (r.name = reg(files).reg!.name)),
    linkSourceMutation('link remap: its source is an outside link_remap file', (r) => (r.name = `${p.outside}/link_remap.1`)),
    linkSourceMutation('link remap: its source through a symlink', (r) => (r.name = `${p.escape}/link_remap.1`)),
    regMutation('link remap: opened at an existing outside name', linked, (r) => (r.name = `${p.outside}/canary`)),
    regMutation('link remap: opened under missing outside directories', linked, (r) => (r.name = `${p.outside}/newdir/linked`)),
  ];
}

function remapMutations(): Mutation[] {
  const edit = (name: string, fn: (remaps: { orig_id: number; remap_id: number; remap_type?: number }[], files: FileEntry[]) => void): Mutation => ({
    name,
    apply(images) {
      const linkedId = remapOf(images, RemapType.LINKED).orig_id;
      editFiles(images, (files) => uncheck(files.find((entry) => entry.id === linkedId)!.reg!));
      const files = readEntries(images, 'files');
      editImage<{ orig_id: number; remap_id: number; remap_type?: number }>(images, 'remap-fpath.img', (remaps) => fn(remaps, files));
    },
  });
  const regId = (files: FileEntry[]): number => fileNamed(files, '/w/reg').id;
  return [
    edit('remap: the link remap points at the dump\'s regular file', (remaps, files) => (remaps.find((r) => r.remap_type === RemapType.LINKED)!.remap_id = regId(files))),
    edit('remap: the link remap points at the executable', (remaps, files) => (remaps.find((r) => r.remap_type === RemapType.LINKED)!.remap_id = fileNamed(files, '/rmutate').id)),
    edit('remap: the ghost becomes a link remap', (remaps) => (remaps.find((r) => r.remap_type === RemapType.GHOST)!.remap_type = RemapType.LINKED)),
    edit('remap: the link remap becomes a ghost', (remaps) => (remaps.find((r) => r.remap_type === RemapType.LINKED)!.remap_type = RemapType.GHOST)),
    edit('remap: the dump\'s regular file gets the ghost', (remaps, files) => (remaps.find((r) => r.remap_type === RemapType.GHOST)!.orig_id = regId(files))),
  ];
}

interface GhostHead { mode: number; rdev?: number; uid: number; gid: number; size?: bigint; chunks?: boolean }

function ghostMutations(): Mutation[] {
  const edit = (name: string, fn: (head: GhostHead) => void): Mutation => ({
    name,
    apply(images) {
      const file = readdirSync(images).find((n) => n.startsWith('ghost-file-'))!;
      editImage<GhostHead>(images, file, (entries) => fn(entries[0]!));
    },
  });
  return [
    edit('ghost image: a directory', (h) => (h.mode = 0o040755)),
    edit('ghost image: a FIFO', (h) => (h.mode = 0o010600)),
    edit('ghost image: a character device (1:3)', (h) => ((h.mode = 0o020600), (h.rdev = (1 << 8) | 3))),
    edit('ghost image: a symlink', (h) => (h.mode = 0o120777)),
    edit('ghost image: setuid, another owner', (h) => ((h.mode = 0o104777), (h.uid = 4242), (h.gid = 4242))),
    edit('ghost image: chunked, 1 TiB', (h) => ((h.chunks = true), (h.size = 1n << 40n))),
  ];
}

interface UnixSk { name: Uint8Array; name_dir?: string; deleted?: boolean; state: number }

function unixMutations(p: Places): Mutation[] {
  const edit = (name: string, fn: (sk: UnixSk) => void): Mutation => ({
    name,
    apply: (images) => editFiles(images, (files) => fn(files.find((entry) => entry.usk !== undefined && entry.usk.name.length > 0)!.usk! as UnixSk)),
  });
  const named = (text: string) => (sk: UnixSk): void => void (sk.name = Buffer.from(`${text}\0`));
  return [
    edit('unix: bound at an existing outside file', named(`${p.outside}/canary`)),
    edit('unix: bound at a new outside name', named(`${p.outside}/new.sock`)),
    edit('unix: bound through a symlink to outside', named(`${p.escape}/escaped.sock`)),
    edit('unix: a .. component', named('../outside/up.sock')),
    edit('unix: name_dir outside, the name an existing file', (sk) => ((sk.name = Buffer.from('canary\0')), (sk.name_dir = p.outside))),
    edit('unix: name_dir relative', (sk) => (sk.name_dir = 'tmp')),
    edit('unix: deleted, at an existing outside file', (sk) => ((sk.name = Buffer.from(`${p.outside}/canary\0`)), (sk.deleted = true))),
    edit('unix: deleted, under missing outside directories', (sk) => ((sk.name = Buffer.from(`${p.outside}/newdir/gone.sock\0`)), (sk.deleted = true))),
    edit('unix: a NUL inside the name', (sk) => (sk.name = Buffer.from(`${p.outside}/x\0y`))),
  ];
}

interface FsEntry { cwd_id: number; root_id: number }

function fsMutations(p: Places, root: number): Mutation[] {
  const editFs = (name: string, fn: (fs: FsEntry, files: FileEntry[]) => void): Mutation => ({
    name,
    apply(images) {
      editFiles(images, (files) => editImage<FsEntry>(images, `fs-${root}.img`, (entries) => fn(entries[0]!, files)));
    },
  });
  const entry = (files: FileEntry[], id: number): NonNullable<FileEntry['reg']> => files.find((f) => f.id === id)!.reg!;
  return [
    editFs('fs: cwd outside', (fs, files) => (entry(files, fs.cwd_id).name = `${p.outside}/dir`)),
    editFs('fs: root outside', (fs, files) => (entry(files, fs.root_id).name = p.outside)),
    editFs('fs: cwd through a symlink', (fs, files) => (entry(files, fs.cwd_id).name = p.escape)),
    editFs('fs: cwd a regular file', (fs, files) => (fs.cwd_id = fileNamed(files, '/w/reg').id)),
    editFs('fs: root a missing directory', (fs, files) => (entry(files, fs.root_id).name = `${p.outside}/missing`)),
  ];
}

interface Vma { start: bigint; end: bigint; pgoff: bigint; shmid: bigint; prot: number; flags: number; status: number; fdflags?: number }

function mmMutations(root: number): Mutation[] {
  const editMm = (name: string, fn: (vmas: Vma[], mm: { exe_file_id: number }, files: FileEntry[]) => void): Mutation => ({
    name,
    apply(images) {
      const files = readEntries(images, 'files');
      editImage<{ vmas: Vma[]; exe_file_id: number }>(images, `mm-${root}.img`, (entries) => fn(entries[0]!.vmas, entries[0]!, files));
    },
  });
  const writablePrivateFile = (vmas: Vma[]): Vma => vmas.find((v) => (v.status & VMA.FILE_PRIVATE) !== 0 && (v.prot & PROT.WRITE) !== 0)!;
  return [
    editMm('mm: a written private file mapping made shared on the dump\'s regular file', (vmas, _mm, files) => {
      const vma = writablePrivateFile(vmas);
      vma.status = (vma.status & ~VMA.FILE_PRIVATE) | VMA.FILE_SHARED;
      vma.flags = (vma.flags & ~MAP.PRIVATE) | MAP.SHARED;
      vma.shmid = BigInt(fileNamed(files, '/w/reg').id);
      vma.pgoff = 0n;
      vma.fdflags = O.RDWR;
    }),
    editMm('mm: a private file mapping moved to the dump\'s log file', (vmas, _mm, files) => {
      writablePrivateFile(vmas).shmid = BigInt(fileNamed(files, '/w/log').id);
    }),
    editMm('mm: the exe is the dump\'s regular file', (_vmas, mm, files) => (mm.exe_file_id = fileNamed(files, '/w/reg').id)),
  ];
}

/** Every targeted mutation of a dump of the rmutate fixture whose root is `root`. */
export function pathMutations(places: Places, root: number): Mutation[] {
  return [...regMutations(places), ...remapMutations(), ...ghostMutations(), ...unixMutations(places), ...fsMutations(places, root), ...mmMutations(root)];
}

/** Several mutations applied one after the other, under one name. */
export function combined(mutations: readonly Mutation[]): Mutation {
  return { name: mutations.map((m) => m.name).join(' + '), apply: (images) => mutations.forEach((m) => m.apply(images)) };
}
