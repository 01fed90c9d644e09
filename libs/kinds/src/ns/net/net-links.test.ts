// The links of a real network namespace, read with rtnetlink from inside it
// (setns of the tool's thread), and net_device_entry as upstream lays it
// out; the restore half making lo, a veth pair inside and a bridge again in
// another fresh namespace.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { NdType } from '@criu-ts/images';
import { inNetNs } from './net-ns-enter.js';
import { dumpLinks, restoreLinks } from './net-links.js';
import { freshNetNs, inside, quietLog } from './net-ns.fixture.js';
import { listLinks, linkRequest, parseLink } from './rtnl-links.js';
import { DEVCONFS4, DEVCONFS6 } from './net-sysctls.js';

t.test('RTM_GETLINK request and an ifinfomsg with attributes', async (t) => {
  const request = linkRequest(7);
  t.equal(request.readUInt32LE(0), 32, 'nlmsghdr + ifinfomsg');
  t.equal(request.readUInt16LE(4), 18, 'RTM_GETLINK');
  t.equal(request.readUInt32LE(8), 7, 'seq');
  const attr = (type: number, data: Buffer): Buffer => {
    const buf = Buffer.alloc((4 + data.length + 3) & ~3);
    buf.writeUInt16LE(4 + data.length, 0);
    buf.writeUInt16LE(type, 2);
    data.copy(buf, 4);
    return buf;
  };
  const u32 = (n: number): Buffer => Buffer.from(new Uint32Array([n]).buffer);
  const head = Buffer.alloc(16);
  head.writeUInt16LE(1, 2); // ARPHRD_ETHER
  head.writeInt32LE(5, 4);
  head.writeUInt32LE(0x1003, 8);
  const payload = Buffer.concat([head, attr(3, Buffer.from('vin\0')), attr(4, u32(1400)), attr(1, Buffer.from([2, 0, 0, 0, 0, 1])), attr(5, u32(9)), attr(37, u32(0)), attr(18, attr(1, Buffer.from('veth\0')))]);
  t.same(parseLink(payload), { type: 1, index: 5, flags: 0x1003, name: 'vin', mtu: 1400, address: Buffer.from([2, 0, 0, 0, 0, 1]), link: 9, linkNetnsid: 0, kind: 'veth' });
});

t.test("a fresh namespace's links, read from inside it", async (t) => {
  const ns = freshNetNs(t);
  inside(ns, ['ip', 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'b0']);
  inside(ns, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
  inside(ns, ['ip', 'link', 'set', 'b0', 'master', 'br0']);
  const links = inNetNs(ns, listLinks);
  t.same(links.map((l) => l.name).sort(), ['a0', 'b0', 'br0', 'lo'], 'lo, the pair and the bridge');
  t.same(links.map((l) => l.index), [...links.map((l) => l.index)].sort((a, b) => a - b), 'by index');
  const entries = dumpLinks(ns, 9, process.pid, quietLog());
  const named = (name: string): NonNullable<(typeof entries)[number]> => entries.find((e) => e.name === name)!;
  const [lo, a0, b0, br0] = ['lo', 'a0', 'b0', 'br0'].map(named);
  t.same([lo!.type, a0!.type, b0!.type, br0!.type], [NdType.LOOPBACK, NdType.VETH, NdType.VETH, NdType.BRIDGE]);
  t.equal(lo!.address, undefined, "the loopback's address is not saved (upstream)");
  t.equal(lo!.peer_ifindex, 1, 'a link without IFLA_LINK is its own peer');
  t.equal(a0!.peer_ifindex, b0!.ifindex, "a veth's peer index");
  t.equal(a0!.peer_nsid, 9, 'a peer in the namespace: its id');
  t.equal(b0!.master, br0!.ifindex, 'the master');
  t.equal(a0!.conf4!.length, DEVCONFS4.length);
  t.equal(a0!.conf6!.length, DEVCONFS6.length);

  const target = freshNetNs(t);
  restoreLinks({ ns: target, nsId: 9, links: entries, vethOuter: new Map(), log: quietLog() });
  const again = inNetNs(target, listLinks);
  t.same(again.map((l) => [l.index, l.name, l.kind ?? null, l.mtu]), links.map((l) => [l.index, l.name, l.kind ?? null, l.mtu]), 'the same links with the same indexes');
  t.same(again.map((l) => l.address?.toString('hex')), links.map((l) => l.address?.toString('hex')), 'the same addresses');
  t.equal(again.find((l) => l.name === 'b0')?.master, again.find((l) => l.name === 'br0')?.index, 'b0 in the bridge again');
});

t.test('a link kind that is not dumped is refused by name', async (t) => {
  const ns = freshNetNs(t);
  inside(ns, ['ip', 'link', 'add', 'd0', 'type', 'ifb']);
  t.throws(() => dumpLinks(ns, 9, 4242, quietLog()), /network link d0 \(index 2, kind ifb\)/);
});

t.test('a macvlan on a parent in criu\'s namespace: mode saved, made again on --external macvlan[IN]:PARENT', async (t) => {
  const parent = `crtm${process.pid % 100000}`;
  spawnSync('ip', ['link', 'del', parent]);
  t.teardown(() => spawnSync('ip', ['link', 'del', parent]));
  t.equal(spawnSync('ip', ['link', 'add', parent, 'type', 'veth', 'peer', 'name', `${parent}p`]).status, 0, 'a parent in our namespace');
  const ns = freshNetNs(t);
  const pidOf = (path: string): number => Number(/^\/proc\/(\d+)\//.exec(path)![1]);
  t.equal(spawnSync('ip', ['link', 'add', 'link', parent, 'name', 'mv0', 'netns', String(pidOf(ns.path)), 'type', 'macvlan', 'mode', 'private']).status, 0, 'a macvlan in the namespace');
  const entries = dumpLinks(ns, 9, 4242, quietLog());
  const mv0 = entries.find((e) => e.name === 'mv0')!;
  t.equal(mv0.type, NdType.MACVLAN);
  t.same(mv0.macvlan, { mode: 1 }, 'mode private, no flags (as upstream writes it)');
  t.equal(mv0.peer_nsid, undefined, 'its parent is outside the dump');
  const target = freshNetNs(t);
  t.throws(() => restoreLinks({ ns: target, nsId: 9, links: entries, vethOuter: new Map(), pid: pidOf(target.path), log: quietLog() }), /macvlan mv0: its parent is outside the namespace; name it with --external macvlan\[mv0\]:PARENT/);
  const again = freshNetNs(t);
  restoreLinks({ ns: again, nsId: 9, links: entries, vethOuter: new Map(), macvlanParent: new Map([['mv0', parent]]), pid: pidOf(again.path), log: quietLog() });
  const made = inNetNs(again, listLinks).find((l) => l.name === 'mv0');
  t.match(made, { kind: 'macvlan', index: mv0.ifindex, mtu: mv0.mtu }, 'made again with its index');
  t.equal(made?.address?.toString('hex'), Buffer.from(mv0.address!).toString('hex'), 'and its address');
});
