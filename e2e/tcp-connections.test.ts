// Established TCP connections (criu(8) --tcp-established) on loopback, with
// unmodified python3 programs (lib/tcp-pair.ts): one side is dumped
// mid-conversation (and killed), then restored, and the conversation goes
// on over the same connection with no byte lost or repeated, the network
// locked by iptables (the default) or nftables meanwhile and no lock left
// once the restore is done. IPv4 and IPv6.
import t from 'tap';
import { readEntries, readOne } from '@criu-ts/images';
import { dumpAndKill } from './lib/round-trip.js';
import { checkConversation, lastSent, locksOf, restoreTcp, startPair, waitConversation } from './lib/tcp-pair.js';
import { alive } from '../libs/restore/test/live.js';

// a python3 pair, a dump and a restore each: slow on a loaded machine
t.setTimeout(300_000);

for (const { method, side, host } of [
  { method: 'iptables', side: 'client', host: '127.0.0.1' },
  { method: 'nftables', side: 'server', host: '::1' },
] as const) {
  t.test(`the ${side} of a python3 pair on ${host} is dumped and restored mid-conversation (--network-lock ${method})`, (t) => {
    const pair = startPair(t, host);
    waitConversation(pair, 0, 'the conversation to start');
    const dumped = pair[side];
    const images = dumpAndKill(t, pair.dir, dumped.pid, { args: ['--tcp-established', '--network-lock', method] });
    t.equal(readEntries(images, 'files').filter((f) => f.isk?.dst_port !== undefined && f.isk.dst_port !== 0).length, 1, 'one connection saved');
    t.equal(readOne(images, 'inventory').network_lock_method, method === 'iptables' ? 0 : 1, 'the lock method is in inventory.img');
    t.ok(locksOf(pair.port).length > 0, `the connection is locked (${method}) between dump and restore`);
    const before = lastSent(pair.client.out);
    restoreTcp(t, images, dumped.out);
    waitConversation(pair, before, 'the conversation to go on after the restore');
    t.same(locksOf(pair.port), [], 'no lock left after the restore');
    checkConversation(t, pair);
    t.ok(alive(pair.server.pid) && alive(pair.client.pid), 'both ends run');
    t.end();
  });
}

