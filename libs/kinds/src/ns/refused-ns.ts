// Namespace kinds a tree may not have of its own yet, each refused with
// its reason (the dump names the pid and the namespace; the tree runs on).
// user_namespaces(7): the uid/gid maps, the tasks' credentials and every
// file's owner are seen through them.
import { CLONE } from '@criu-ts/kernel';
import type { NamespaceKind } from './namespace.js';

export const userNamespace: NamespaceKind = {
  name: 'user',
  cloneFlag: CLONE.NEWUSER,
  images: [],
  refuse: 'user namespaces are not dumped: their uid/gid maps and the credentials seen through them are not saved',
};
