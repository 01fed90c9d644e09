// The network lock's commands as upstream CRIU writes them (so either can
// remove the other's rules): iptables rules per direction, the nftables
// table script and set elements, IPv4-mapped connections as IPv4, and the
// inventory numbers of the methods. Plus one real nft transaction in a
// network namespace of its own (nothing touches the host's ruleset).
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { AF } from '@criu-ts/kernel';
import { addressText, wireForm, type Connection } from './connection.js';
import { iptablesRule } from './iptables-lock.js';
import { NET_LOCK_NUMBER, netLockMethodOf } from './net-lock.js';
import { nftElements, nftLockScript, nftTable } from './nftables-lock.js';

const v4 = (a: number, b: number, c: number, d: number): Buffer => Buffer.concat([Buffer.from([a, b, c, d]), Buffer.alloc(12)]);
const mapped = (a: number, b: number, c: number, d: number): Buffer => Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d]);
const loopback6 = Buffer.from([...new Array(15).fill(0), 1]);

const conn4: Connection = { family: AF.INET, src: v4(10, 0, 0, 1), srcPort: 5000, dst: v4(10, 0, 0, 2), dstPort: 40000 };

t.test('iptables rules: INPUT from the peer, OUTPUT to it, marked packets spared', async (t) => {
  t.same(iptablesRule(conn4, 'INPUT', '-I'), [
    'iptables', '-w', '-I', 'INPUT', '-t', 'filter', '--protocol', 'tcp', '-m', 'mark', '!', '--mark', '0xC114',
    '--source', '10.0.0.2', '--sport', '40000', '--destination', '10.0.0.1', '--dport', '5000', '-j', 'DROP',
  ]);
  t.same(iptablesRule(conn4, 'OUTPUT', '-D').slice(2, 4), ['-D', 'OUTPUT']);
  t.same(iptablesRule(conn4, 'OUTPUT', '-D').slice(13, 21), ['--source', '10.0.0.1', '--sport', '5000', '--destination', '10.0.0.2', '--dport', '40000']);
  const six: Connection = { family: AF.INET6, src: loopback6, srcPort: 1, dst: loopback6, dstPort: 2 };
  t.equal(iptablesRule(six, 'INPUT', '-I')[0], 'ip6tables', 'IPv6 goes to ip6tables');
  t.equal(iptablesRule(six, 'INPUT', '-I')[14], '0:0:0:0:0:0:0:1');
});

t.test('an IPv4-mapped IPv6 connection is locked as IPv4', async (t) => {
  const conn: Connection = { family: AF.INET6, src: mapped(127, 0, 0, 1), srcPort: 1, dst: mapped(127, 0, 0, 2), dstPort: 2 };
  const wire = wireForm(conn);
  t.equal(wire.family, AF.INET);
  t.equal(addressText(wire.family, wire.dst), '127.0.0.2');
  t.equal(iptablesRule(conn, 'INPUT', '-I')[0], 'iptables');
  t.match(nftElements(nftTable('x'), conn), /conns4 \{ 127\.0\.0\.2 \. 2 \. 127\.0\.0\.1 \. 1, 127\.0\.0\.1 \. 1 \. 127\.0\.0\.2 \. 2 \}/);
});

t.test("nftables: upstream's table, chains, sets and rules", async (t) => {
  const table = nftTable('5f2c');
  t.equal(table, 'inet CRIU-5f2c');
  const script = nftLockScript(table);
  for (const line of [
    'create table inet CRIU-5f2c',
    'add chain inet CRIU-5f2c output { type filter hook output priority 0; }',
    'add rule inet CRIU-5f2c input meta mark 0xC114 accept',
    'add set inet CRIU-5f2c conns6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; }',
    'add rule inet CRIU-5f2c output ip saddr . tcp sport . ip daddr . tcp dport @conns4 drop',
  ]) t.ok(script.split('\n').includes(line), line);
  t.equal(nftElements(table, conn4), 'add element inet CRIU-5f2c conns4 { 10.0.0.2 . 40000 . 10.0.0.1 . 5000, 10.0.0.1 . 5000 . 10.0.0.2 . 40000 }\n');
});

t.test('nft takes the script and the elements (in a network namespace of its own)', async (t) => {
  const table = nftTable('test');
  const run = spawnSync('unshare', ['--net', 'nft', '-f', '-'], { input: nftLockScript(table) + nftElements(table, conn4), encoding: 'utf8', timeout: 30_000 });
  t.equal(run.status, 0, run.stderr);
});

t.test("inventory's network_lock_method numbers", async (t) => {
  t.same(NET_LOCK_NUMBER, { iptables: 0, nftables: 1, skip: 2 });
  t.equal(netLockMethodOf(1), 'nftables');
  t.equal(netLockMethodOf(2), 'skip');
  t.equal(netLockMethodOf(undefined), 'iptables', 'older images: iptables');
});
