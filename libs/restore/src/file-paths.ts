// Paths of the regular files that mappings and the exe link name, by file
// id: files.img (CRIU 4: file_entry with .reg) or reg-files.img (older
// images). An image-supplied path is used only if it is absolute, has no
// NUL byte and exists here; anything else is refused with the file id and
// path in the message.
import { existsSync, statSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { imagePath, readEntries, type Messages } from '@criu-ts/images';

type RegFile = Messages['reg_file_entry'];

export interface FileTable {
  /** the checked path of regular file `id`, as the tree's tasks see it; throws if unknown or unusable */
  path(id: number, purpose: string): string;
}

function regFiles(dir: string): Map<number, RegFile> {
  const table = new Map<number, RegFile>();
  if (existsSync(imagePath(dir, 'files'))) {
    for (const entry of readEntries(dir, 'files')) if (entry.reg !== undefined) table.set(entry.id, entry.reg);
  }
  if (existsSync(imagePath(dir, 'reg-files'))) {
    for (const reg of readEntries(dir, 'reg-files')) table.set(reg.id, reg);
  }
  return table;
}

/** Checks an image-supplied path before the restore opens it. */
export function checkImagePath(path: string, what: string): string {
  if (path.includes('\0')) throw new CriuError(`${what}: path ${JSON.stringify(path)} contains a NUL byte`, { code: 'EINVAL' });
  if (!path.startsWith('/')) throw new CriuError(`${what}: path ${JSON.stringify(path)} is not absolute`, { code: 'EINVAL' });
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (error) {
    throw new CriuError(`${what}: ${path} does not exist here`, { code: 'ENOENT', cause: error });
  }
  if (!isFile) throw new CriuError(`${what}: ${path} is not a regular file`, { code: 'EINVAL' });
  return path;
}

/**
 * The regular files of the images in dir, read once. A path is checked
 * where the tool finds it (toolPath: through the tree's own mount
 * namespace) and returned as the task sees it: the task opens it.
 */
export function readFileTable(dir: string, toolPath: (path: string) => string = (path) => path): FileTable {
  let table: Map<number, RegFile> | undefined;
  return {
    path(id, purpose) {
      table ??= regFiles(dir);
      const reg = table.get(id);
      if (reg === undefined) throw new CriuError(`${purpose}: no regular file with id ${id} in files.img or reg-files.img`, { code: 'EIMAGE' });
      if (!reg.name.startsWith('/') || reg.name.split('/').includes('..')) throw new CriuError(`${purpose} (file id ${id}): path ${JSON.stringify(reg.name)} is not absolute or has ".."`, { code: 'EINVAL' });
      checkImagePath(toolPath(reg.name), `${purpose} (file id ${id})`);
      return reg.name;
    },
  };
}
