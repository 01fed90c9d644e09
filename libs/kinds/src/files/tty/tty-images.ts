// The terminal images a restore reads, once per restore (ctx.shared):
// tty-info.img (one tty_info_entry per terminal), tty-data.img (bytes
// queued for the end named by tty_id) and the TTY entries of files.img with
// the path of each (its regf_id reg entry; images of old CRIU have none, so
// the path is made up as upstream does: /dev/ptmx, /dev/pts/N). Entries are
// checked as upstream checks them before anything is opened.
import { existsSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { FdTypes, TtyType, imagePath, readEntries, type FileEntry, type TtyFileEntry, type TtyInfoEntry } from '@criu-ts/images';
import type { RestoreContext } from '../../restore-context.js';
import { MAX_PTY_INDEX, indexOfInfoId } from './tty-driver.js';
import { TERMIOS_NCC } from './tty-ioctls.js';

export interface TtyFile {
  entry: TtyFileEntry;
  info: TtyInfoEntry;
  /** the path the terminal was opened by (a pty slave's names the dumped index) */
  path: string;
}

export interface TtyImages {
  infos: ReadonlyMap<number, TtyInfoEntry>;
  /** tty_id → the bytes queued for that end to read */
  data: ReadonlyMap<number, Buffer>;
  /** files.img id → the TTY entry */
  files: ReadonlyMap<number, TtyFile>;
}

/** A pty end: one of a pair, or a pty slave whose master is not in the images. */
export const isPty = (info: TtyInfoEntry): boolean => info.type === TtyType.PTY;
export const isMaster = (info: TtyInfoEntry): boolean => isPty(info) && info.id % 2 === 1;
/** No termios: the terminal was hung up when dumped (only its identity is kept). */
export const isHungUp = (info: TtyInfoEntry): boolean => info.termios === undefined;

function checkInfo(info: TtyInfoEntry, image: string): void {
  const bad = (what: string): CriuError => new CriuError(`${image}: tty-info id ${info.id}: ${what}`, { code: 'EIMAGE' });
  if (isPty(info) !== (info.pty !== undefined)) throw bad(isPty(info) ? 'a pty without pty data' : 'pty data on a terminal that is no pty');
  if (isPty(info) && (info.pty!.index < 0 || info.pty!.index > MAX_PTY_INDEX || indexOfInfoId(info.id) !== info.pty!.index)) {
    throw bad(`pty index ${info.pty!.index} does not match the id`);
  }
  for (const [name, termios] of [['termios', info.termios], ['termios_locked', info.termios_locked]] as const) {
    if (termios !== undefined && (termios.c_cc?.length ?? 0) < TERMIOS_NCC) throw bad(`${name} has ${termios.c_cc?.length ?? 0} c_cc words, not ${TERMIOS_NCC}`);
  }
  const params = [info.termios, info.termios_locked, info.winsize].filter((p) => p !== undefined).length;
  if (params !== 0 && params !== 3) throw bad('termios, locked termios and window size must all be there or none');
  if (isMaster(info) && params === 0) throw bad('a pty master without termios');
}

/** The path of a TTY entry: its reg entry's name, or upstream's default for old images. */
function pathOf(file: FileEntry, info: TtyInfoEntry, byId: ReadonlyMap<number, FileEntry>, image: string): string {
  const regfId = file.tty!.regf_id;
  const reg = regfId === undefined ? undefined : byId.get(regfId)?.reg;
  if (regfId !== undefined && reg === undefined) throw new CriuError(`${image}: tty file ${file.id} names reg file ${regfId}, which is missing`, { code: 'EIMAGE' });
  const path = reg?.name ?? (isMaster(info) ? '/dev/ptmx' : isPty(info) ? `/dev/pts/${info.pty!.index}` : '');
  if (!path.startsWith('/') || path.includes('\0') || path.split('/').includes('..')) {
    throw new CriuError(`${image}: tty file ${file.id} has the path ${JSON.stringify(path)}: not a clean absolute path`, { code: 'EIMAGE' });
  }
  return path;
}

function loadTtyImages(dir: string): TtyImages {
  const infoImage = imagePath(dir, 'tty-info');
  const infos = new Map<number, TtyInfoEntry>();
  if (existsSync(infoImage)) {
    for (const info of readEntries(dir, 'tty-info')) {
      checkInfo(info, infoImage);
      infos.set(info.id, info);
    }
  }
  const data = new Map<number, Buffer>();
  if (existsSync(imagePath(dir, 'tty-data'))) {
    for (const entry of readEntries(dir, 'tty-data')) {
      if (!infos.has(entry.tty_id)) throw new CriuError(`${imagePath(dir, 'tty-data')}: queued data for tty ${entry.tty_id}, which tty-info.img lacks`, { code: 'EIMAGE' });
      data.set(entry.tty_id, Buffer.from(entry.data));
    }
  }
  const filesImage = imagePath(dir, 'files');
  const all = existsSync(filesImage) ? readEntries(dir, 'files') : [];
  const byId = new Map(all.map((file) => [file.id, file]));
  const files = new Map<number, TtyFile>();
  for (const file of all) {
    if (file.type !== FdTypes.TTY) continue;
    if (file.tty === undefined) throw new CriuError(`${filesImage}: TTY entry ${file.id} has no tty part`, { code: 'EIMAGE' });
    const info = infos.get(file.tty.tty_info_id);
    if (info === undefined) throw new CriuError(`${filesImage}: tty file ${file.id} names tty-info ${file.tty.tty_info_id}, which ${infoImage} lacks`, { code: 'EIMAGE' });
    files.set(file.id, { entry: file.tty, info, path: pathOf(file, info, byId, filesImage) });
  }
  return { infos, data, files };
}

/** The terminal images of this restore, read and checked on first use. */
export function ttyImages(ctx: RestoreContext): TtyImages {
  return ctx.shared('files.tty.images', () => loadTtyImages(ctx.options.imagesDir));
}

/** The TTY file entry `id`, or a clear error. */
export function ttyFile(ctx: RestoreContext, id: number): TtyFile {
  const file = ttyImages(ctx).files.get(id);
  if (file === undefined) throw new CriuError(`${imagePath(ctx.options.imagesDir, 'files')}: no TTY entry with id ${id}`, { code: 'EIMAGE' });
  return file;
}
