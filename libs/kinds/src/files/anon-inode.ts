// Shared by the anon-inode fd kinds: the error when fdinfo does not show
// what the fd link promised.
import { CriuError } from '@criu-ts/base';
import type { OpenFd } from './open-fd.js';

export function anonMismatch(fd: OpenFd, expected: string): CriuError {
  return new CriuError(`pid ${fd.pid} fd ${fd.fd}: link says ${expected} but fdinfo shows ${fd.info.kind}`, { code: 'EPROCFORMAT' });
}
