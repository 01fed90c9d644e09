// The pieces of a restore into the tree's own namespaces that need no task:
// set_tid levels, the choice of free pids here, and which namespaces the
// images say the tree had (root ids vs inventory root_ids).
import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLONE } from '@criu-ts/kernel';
import { writeEntries } from '@criu-ts/images';
import { cloneArgs, setTids } from './clone-task.js';
import { freePids, ownNamespaces } from './tree-namespaces.js';

t.test('set_tid: one level in criu\'s pid namespace, [inner, outer] in the tree\'s', (t) => {
  t.same(setTids({ pid: 4242, flags: 0n, exitSignal: 17 }), [4242]);
  t.same(setTids({ pid: 4242, nsPid: 4242, flags: 0n, exitSignal: 17 }), [4242], 'the same number: one level');
  t.same(setTids({ pid: 5000, nsPid: 1, flags: CLONE.NEWPID, exitSignal: 0 }), [1, 5000], 'the init of a new pid namespace');
  t.same(setTids({ pid: 5001, nsPid: 2, flags: 0n, exitSignal: 17 }), [2, 5001]);
  const args = cloneArgs({ pid: 5000, nsPid: 1, flags: CLONE.NEWPID, exitSignal: 0 }, 0x9000n);
  t.same([args.readBigUInt64LE(64), args.readBigUInt64LE(72)], [0x9000n, 2n], 'set_tid_size 2');
  t.end();
});

t.test('free pids: distinct, unused now, none of those to avoid', (t) => {
  const pids = freePids(20, new Set([1, 2, 3]));
  t.equal(new Set(pids).size, 20);
  t.ok(pids.every((pid) => pid > 3 && !existsSync(`/proc/${pid}`)));
  t.end();
});

t.test("the tree's own namespaces: the root's ids that differ from criu's; a refused kind or a nested one is an error", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-ownns-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const criu = { vm_id: 1, files_id: 1, fs_id: 1, sighand_id: 1, pid_ns_id: 1, net_ns_id: 2, ipc_ns_id: 3, uts_ns_id: 4, time_ns_id: 5, mnt_ns_id: 6, user_ns_id: 7, cgroup_ns_id: 8 };
  writeEntries(dir, 'inventory', [{ img_version: 2, root_ids: criu }]);
  writeEntries(dir, 'ids', [{ ...criu, vm_id: 2, pid_ns_id: 9, ipc_ns_id: 10, uts_ns_id: 11 }], 1);
  writeEntries(dir, 'ids', [{ ...criu, vm_id: 3, pid_ns_id: 9, ipc_ns_id: 10, uts_ns_id: 11 }], 2);
  t.same(ownNamespaces(dir, 1, [2]).map((ns) => [ns.kind.name, ns.id]), [['pid', 9], ['ipc', 10], ['uts', 11]], 'in upstream\'s order: pid, ipc, uts');
  writeEntries(dir, 'ids', [{ ...criu, vm_id: 3, pid_ns_id: 9, ipc_ns_id: 10, uts_ns_id: 12 }], 2);
  t.throws(() => ownNamespaces(dir, 1, [2]), /pid 2 lives in a uts namespace other than the root's/);
  writeEntries(dir, 'ids', [{ ...criu, vm_id: 2, user_ns_id: 9 }], 3);
  t.throws(() => ownNamespaces(dir, 3, []), /a user namespace of its own .*user namespaces are not dumped/);
  writeEntries(dir, 'ids', [{ ...criu, vm_id: 2, mnt_ns_id: 9 }], 4);
  t.same(ownNamespaces(dir, 4, []).map((ns) => [ns.kind.name, ns.id]), [['mnt', 9]], 'a mount namespace of its own is taken (mounts/mnt-namespace.ts)');
  t.end();
});
