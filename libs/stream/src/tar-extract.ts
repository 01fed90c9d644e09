// Extract an image stream into a directory: each member becomes a file
// (created exclusively, mode 0600, fsynced unless told not to). If the stream turns out to be
// corrupt or truncated, every file this extraction created is removed, so
// a failed stream never leaves a directory that looks like a checkpoint.
import { closeSync, fsyncSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ImageError, errnoOf } from '@criu-ts/base';
import { readTar, type TarMember, type TarReadOptions } from './tar-reader.js';


function createMemberFile(dir: string, member: TarMember): number {
  try {
    return openSync(join(dir, member.name), 'wx', 0o600);
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST') throw error;
    throw new ImageError('member appears twice in the stream, or its file already exists in the directory', { image: member.name, offset: member.offset - 512 });
  }
}

/** Extract every member into `dir` (which must exist); resolves with the members written. */
export interface ExtractOptions extends TarReadOptions {
  /** fsync each file (default); a private directory read once and removed need not */
  sync?: boolean;
}

export async function extractTar(source: Readable | number, dir: string, options: ExtractOptions = {}): Promise<TarMember[]> {
  const created: string[] = [];
  try {
    return await readTar(
      source,
      async (member, body) => {
        const fd = createMemberFile(dir, member);
        created.push(join(dir, member.name));
        try {
          await body.moveTo(fd);
          if (options.sync !== false) fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      },
      options,
    );
  } catch (error) {
    for (const path of created) rmSync(path, { force: true });
    throw error;
  }
}
