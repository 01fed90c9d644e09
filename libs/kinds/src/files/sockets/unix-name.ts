// The bound name of a unix socket, as unix_sk_entry keeps it (unix(7)): the
// address bytes (a path, or an abstract name starting with NUL), and for a
// path also the socket file's mode/uid/gid, whether the file is gone
// (deleted), and for a relative path the directory it was bound in. The
// socket file is reached from the socket itself with the SIOCUNIXFILE ioctl
// (an O_PATH fd; Linux 4.10+), then fstat and its /proc/self/fd link.
import { closeSync, fstatSync, readlinkSync } from 'node:fs';
import { CriuError } from '@criu-ts/base';
import { ioctl } from '@criu-ts/kernel';
import type { UnixSkEntry } from '@criu-ts/images';

/** SIOCPROTOPRIVATE + 0: open the file a bound unix socket lives at */
const SIOCUNIXFILE = 0x89e0;
const DELETED = ' (deleted)';

export type UnixNameFields = Pick<UnixSkEntry, 'file_perms' | 'deleted' | 'name_dir'>;

/**
 * A path name as text: sock_diag reports a path with the NUL the kernel
 * appended at bind(2) (kept in the image, as upstream keeps it), cut here.
 */
export function unixPathText(name: Uint8Array): string {
  const end = name.indexOf(0);
  return Buffer.from(end < 0 ? name : name.subarray(0, end)).toString('latin1');
}

/** The name as text for logs: abstract names shown with a leading '@'. */
export function unixNameText(name: Uint8Array): string {
  if (name.length === 0) return '(unbound)';
  return name[0] === 0 ? `@${Buffer.from(name.subarray(1)).toString('latin1')}` : unixPathText(name);
}

/** The directory a relative name was bound in: the file's full path without the name. */
export function nameDirectory(fullPath: string, name: string): string | undefined {
  if (!fullPath.endsWith(`/${name}`)) return undefined;
  const dir = fullPath.slice(0, fullPath.length - name.length - 1);
  return dir === '' ? '/' : dir;
}

/**
 * What a path-bound socket's file says (nothing for unbound and abstract
 * sockets). `local` is our copy of the socket.
 */
export function resolveUnixName(local: number, name: Uint8Array): UnixNameFields {
  if (name.length === 0 || name[0] === 0) return {};
  const text = unixPathText(name);
  const file = Number(ioctl(local, SIOCUNIXFILE));
  try {
    const st = fstatSync(file);
    let path = readlinkSync(`/proc/self/fd/${file}`);
    const deleted = path.endsWith(DELETED);
    if (deleted) path = path.slice(0, -DELETED.length);
    const fields: UnixNameFields = { file_perms: { mode: st.mode, uid: st.uid, gid: st.gid } };
    if (deleted) fields.deleted = true;
    if (!text.startsWith('/')) {
      const dir = nameDirectory(path, text);
      if (dir === undefined) throw new CriuError(`unix socket bound to "${text}": its file is at ${path}, which does not end in that name`, { code: 'EINVAL' });
      fields.name_dir = dir;
    }
    return fields;
  } finally {
    closeSync(file);
  }
}
