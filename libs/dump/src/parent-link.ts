// --prev-images-dir: the parent run's images directory, linked as
// IMAGES/parent (a symlink holding the path as given, relative to the
// images directory, as upstream makes it: restore and dedup follow it).
// A link this run made is removed again if the run fails.
import { accessSync, constants, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CriuError, type Logger } from '@criu-ts/base';

export const PARENT_LINK = 'parent';

/** Links imagesDir/parent to prev (checked readable), runs `run`, and unlinks again if it fails. */
export async function linkParent<T>(imagesDir: string, prev: string, log: Logger, run: () => Promise<T>): Promise<T> {
  const target = resolve(imagesDir, prev);
  try {
    accessSync(target, constants.R_OK | constants.X_OK);
  } catch (error) {
    throw new CriuError(`invalid parent images directory ${prev} (${target})`, { code: 'ENOENT', cause: error });
  }
  if (prev.startsWith('/')) log.warn('absolute paths for parent links may not work on restore');
  const link = join(imagesDir, PARENT_LINK);
  let made = false;
  try {
    symlinkSync(prev, link);
    made = true;
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
    if (readlinkSync(link) !== prev) throw new CriuError(`${link} already links to ${readlinkSync(link)}, not ${prev}`, { code: 'EEXIST' });
  }
  try {
    return await run();
  } catch (error) {
    if (made) unlinkSync(link);
    throw error;
  }
}
