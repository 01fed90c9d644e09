// What restore does with a tree's network namespace, from the images and
// the options: none when the root shared criu's, a new one (filled, or
// empty with --empty-ns net), or one joined (--join-ns net, or an external
// one through --inherit-fd); the outer names of veths.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLONE } from '@criu-ts/kernel';
import { imagePath, writeImage } from '@criu-ts/images';
import { createLogger } from '@criu-ts/base';
import type { RestoreOptions } from '../restore-context.js';
import { netNsJoinPath, netNsPlan, netNsRootFlags, vethOuterNames } from './net-ns-restore.js';

const log = createLogger({ fd: 2, level: 1, withPid: false, start: 0n }, 'test');

function images(t: Test, rootNet: number, netns?: { ext_key?: string }): RestoreOptions {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-netns-plan-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeImage(imagePath(dir, 'inventory'), 'inventory', [{ img_version: 2, root_ids: { vm_id: 1, files_id: 1, fs_id: 1, sighand_id: 1, net_ns_id: 2 }, network_lock_method: 1, dump_criu_run_id: 'run' }]);
  writeImage(imagePath(dir, 'ids', 42), 'ids', [{ vm_id: 1, files_id: 1, fs_id: 1, sighand_id: 1, net_ns_id: rootNet }]);
  if (netns !== undefined) writeImage(imagePath(dir, 'netns', 9), 'netns', [netns]);
  return { imagesDir: dir, shellJob: false, leaveStopped: false, fileLocks: false, tcpEstablished: false, inheritFds: [] };
}

t.test("a tree in criu's namespace: nothing to do", async (t) => {
  const plan = netNsPlan(images(t, 2), 42, log);
  t.equal(plan, undefined);
  t.equal(netNsRootFlags(plan), 0n);
});

t.test('a namespace of its own: a new one, or an empty one', async (t) => {
  const options = images(t, 9, {});
  const plan = netNsPlan(options, 42, log)!;
  t.match(plan, { id: 9, mode: 'new', lock: { method: 'nftables', runId: 'run' } });
  t.equal(netNsRootFlags(plan), CLONE.NEWNET, 'the root is cloned with CLONE_NEWNET');
  t.equal(netNsJoinPath(plan), undefined);
  t.equal(netNsPlan({ ...options, emptyNs: 'net' }, 42, log)!.mode, 'empty');
});

t.test('--join-ns net:PID|PATH joins', async (t) => {
  const options = images(t, 9, {});
  t.equal(netNsJoinPath(netNsPlan({ ...options, joinNs: ['net:/run/netns/x'] }, 42, log)), '/run/netns/x');
  t.equal(netNsJoinPath(netNsPlan({ ...options, joinNs: ['net:77'] }, 42, log)), '/proc/77/ns/net');
  t.equal(netNsRootFlags(netNsPlan({ ...options, joinNs: ['net:77'] }, 42, log)), 0n, 'no new namespace');
  t.throws(() => netNsPlan({ ...options, joinNs: ['net:relative'] }, 42, log), /absolute path or a pid/);
});

t.test('an external namespace needs its --inherit-fd', async (t) => {
  const options = images(t, 9, { ext_key: 'extRootNetNS' });
  t.throws(() => netNsPlan(options, 42, log), /was external \(extRootNetNS\): give its namespace with --inherit-fd fd\[N\]:extRootNetNS/);
  t.equal(netNsJoinPath(netNsPlan({ ...options, inheritFds: ['fd[5]:extRootNetNS'] }, 42, log)), `/proc/${process.pid}/fd/5`);
});

t.test('outer veth names: --external veth[IN]:OUT and --veth-pair IN=OUT', async (t) => {
  const base = images(t, 2);
  t.same([...vethOuterNames({ ...base, external: ['veth[eth0]:h0@br0', 'mnt[x]:y'], vethPair: ['eth1=h1'] })], [['eth0', 'h0@br0'], ['eth1', 'h1']]);
  t.throws(() => vethOuterNames({ ...base, vethPair: ['eth1'] }), /expected IN=OUT/);
});
