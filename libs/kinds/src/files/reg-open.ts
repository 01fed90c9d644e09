// Restore half of regular files, directories and reopenable devices (REG
// entries): open the saved path with the saved flags — through its ghost
// or link remap when remap-fpath.img has one —, check it is the file that
// was dumped (size and mode as saved; the ELF build-id too under
// --file-validation buildid, the default), seek to the saved position
// and set the owner. Also used for the paths of FIFOs. External files
// (reg.ext) come only through --inherit-fd. A tree with a mount namespace of
// its own has its paths opened through that namespace's root
// (restorePathOf). See criu(8) --file-validation.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { O, SEEK, SYS, syscall } from '@criu-ts/kernel';
import { RemapType, type RegFileEntry } from '@criu-ts/images';
import type { RestoreContext } from '../restore-context.js';
import { buildIdWords, readBuildId } from './build-id.js';
import { openGhost } from './ghost-file.js';
import { checkRestorePath, closingOnError, openExpecting, restoreFown } from './open-path.js';
import { openLinkedRemap } from './path-remap.js';
import { fileEntry, restoreFiles } from './restore-table.js';
import { restorePathOf } from '../mounts/mnt-ns.js';

/** reg_file_entry.pos meaning "do not seek" (/dev/kmsg) */
const NO_SEEK = 0xffffffffffffffffn;

function sameBuildId(fd: number, size: number, saved: readonly number[]): boolean {
  const reader = openSync(`/proc/self/fd/${fd}`, 'r');
  try {
    const id = readBuildId(reader, size);
    return id !== undefined && buildIdWords(id).join(',') === saved.join(',');
  } finally {
    closeSync(reader);
  }
}

/** Is the file open as fd the one dumped? A clear error naming it if not. */
export function validateFile(ctx: RestoreContext, fd: number, reg: RegFileEntry): void {
  const st = fstatSync(fd, { bigint: true });
  if (reg.size !== undefined && st.size !== BigInt(reg.size)) {
    throw new CriuError(`file ${reg.name} changed size: ${st.size} bytes now, ${reg.size} when dumped`, { code: 'ESTALE' });
  }
  if (reg.mode !== undefined && reg.mode !== 0 && Number(st.mode) !== reg.mode) {
    throw new CriuError(`file ${reg.name} changed mode: 0o${st.mode.toString(8)} now, 0o${reg.mode.toString(8)} when dumped`, { code: 'ESTALE' });
  }
  const method = ctx.options.fileValidation ?? 'buildid';
  if (method === 'buildid' && reg.build_id !== undefined && reg.build_id.length > 0 && !sameBuildId(fd, Number(st.size), reg.build_id)) {
    throw new CriuError(`file ${reg.name} changed: its ELF build-id differs from the dumped one`, { code: 'ESTALE' });
  }
}

/** Opens the path of a REG entry (following its remap) with its flags or `flags`, unchecked and unpositioned. */
export function openRegPath(ctx: RestoreContext, id: number, reg: RegFileEntry, flags = reg.flags): number {
  const path = checkRestorePath(reg.name, `file id ${id}`);
  if (reg.ext === true) {
    throw new CriuError(`file id ${id} (${path}) was dumped as external: give it with --inherit-fd fd[N]:${path.slice(1)}`, { code: 'ENOENT' });
  }
  const remap = restoreFiles(ctx).remaps.get(id);
  if (remap === undefined) return openExpecting(restorePathOf(ctx, path), flags, reg.mode);
  const type = remap.remap_type ?? RemapType.LINKED;
  if (type === RemapType.GHOST) return openGhost(ctx, restorePathOf(ctx, path), flags, remap, reg.mode);
  if (type === RemapType.LINKED) return openLinkedRemap(ctx, restorePathOf(ctx, path), flags, remap, reg.mode);
  throw new CriuError(`file id ${id} (${path}): remap type ${type} (a /proc file of a dead task) is not restored`, { code: 'EUNSUPPORTED' });
}

/**
 * For a mapping (or the exe) of regular file `id`: our fd on it if a remap
 * stands for it (a ghost, a linked copy), opened under its name as an fd
 * of it is — the task then maps that description; undefined when it has
 * none (the task opens the path itself). The caller closes the fd.
 */
export function remappedFileFd(ctx: RestoreContext, id: number, flags: number, user: string): number | undefined {
  if (!restoreFiles(ctx).remaps.has(id)) return undefined;
  const reg = fileEntry(ctx, id, user).reg;
  if (reg === undefined) throw new CriuError(`${user}: files.img entry ${id} is no regular file`, { code: 'EIMAGE' });
  return openRegPath(ctx, id, reg, flags);
}

/** A REG description: opened, validated, positioned, owned. Our fd. */
export function openRegFile(ctx: RestoreContext, id: number, reg: RegFileEntry): number {
  return closingOnError(openRegPath(ctx, id, reg), (fd) => {
    validateFile(ctx, fd, reg);
    if (reg.pos !== NO_SEEK && (reg.flags & O.PATH) === 0) syscall(SYS.lseek, fd, reg.pos, SEEK.SET);
    restoreFown(fd, reg.fown);
  });
}
