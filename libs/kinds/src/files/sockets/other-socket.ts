// Sockets of the families this dump does not save yet (vsock, CAN,
// bluetooth, ...): refused with an UnsupportedError naming the family, so the
// engine releases the tree untouched. Comes after the unix and inet kinds.
import { UnsupportedError } from '@criu-ts/base';
import { SO, SOL, getsockoptInt } from '@criu-ts/kernel';
import type { FdKind } from '../fd-kind.js';
import { S_IF, fileType, type OpenFd } from '../open-fd.js';

/** address family numbers → names (linux/socket.h), for the message */
const FAMILY_NAMES: Readonly<Record<number, string>> = {
  1: 'AF_UNIX', 2: 'AF_INET', 4: 'AF_IPX', 5: 'AF_APPLETALK', 9: 'AF_X25', 10: 'AF_INET6', 15: 'AF_KEY', 16: 'AF_NETLINK',
  17: 'AF_PACKET', 26: 'AF_LLC', 29: 'AF_CAN', 30: 'AF_TIPC', 31: 'AF_BLUETOOTH', 38: 'AF_ALG', 40: 'AF_VSOCK',
  42: 'AF_QIPCRTR', 43: 'AF_SMC', 44: 'AF_XDP', 45: 'AF_MCTP',
};

export function familyName(family: number): string {
  return FAMILY_NAMES[family] ?? `address family ${family}`;
}

const isSocket = (fd: OpenFd): boolean => fd.target.kind === 'socket' || fileType(fd.stat) === S_IF.SOCK;

export const otherSocketKind: FdKind = {
  name: 'socket',
  matches: isSocket,
  dump(_env, fd) {
    const family = getsockoptInt(fd.local, SOL.SOCKET, SO.DOMAIN);
    throw new UnsupportedError({ pid: fd.pid, fd: fd.fd, kind: `${familyName(family)} socket` });
  },
};
