// Raw inet sockets and IP-level options end to end, held by an unmodified
// python3: an ICMP raw socket with an ICMP filter and nodefrag, a bound
// ICMPv6 raw socket with its filter, an IPPROTO_RAW socket, and UDP
// sockets with IP_TOS, IP_TTL, IP_PKTINFO / IPV6_RECVPKTINFO and freebind,
// an ICMP "ping" socket bound to its id (net.ipv4.ping_group_range is
// opened to root for the test and put back after)
// — dumped and restored by ours, and in both directions with upstream CRIU
// 4.2; after the restore python3 reads every option back.
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIG } from '@criu-ts/kernel';
import { scratchDir } from './lib/fixtures.js';
import { DIRECTIONS, dumpWith, restoreChecked, signalWhenAsleep, skipWithoutUpstream, type Side } from './lib/upstream.js';
import { startBackground, waitOutput, type Teardowns } from '../libs/restore/test/live.js';

const HOLDER = `
import os, signal, socket, struct
SOL_RAW, ICMP_FILTER, SOL_ICMPV6, ICMPV6_FILTER = 255, 1, 58, 1
IP_NODEFRAG, IPV6_FREEBIND, IP_FREEBIND, IP_PKTINFO = 22, 78, 15, 8
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
icmp.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack('I', 0x0000ff0f))
icmp.setsockopt(socket.SOL_IP, IP_NODEFRAG, 1)
icmp6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
icmp6.bind(('::1', 0))
icmp6.setsockopt(SOL_ICMPV6, ICMPV6_FILTER, struct.pack('8I', *range(1, 9)))
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setsockopt(socket.SOL_IP, socket.IP_TOS, 0x08)
udp.setsockopt(socket.SOL_IP, socket.IP_TTL, 32)
udp.setsockopt(socket.SOL_IP, IP_PKTINFO, 1)
udp.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
udp.bind(('127.0.0.1', 0))
ping = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
ping.bind(('127.0.0.1', 4242))
udp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
udp6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
udp6.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
def state():
    return ' '.join([
        'icmp-filter=%x' % struct.unpack('I', icmp.getsockopt(SOL_RAW, ICMP_FILTER, 4))[0],
        'nodefrag=%d' % icmp.getsockopt(socket.SOL_IP, IP_NODEFRAG),
        'icmp6-filter=%s' % ','.join(map(str, struct.unpack('8I', icmp6.getsockopt(SOL_ICMPV6, ICMPV6_FILTER, 32)))),
        'icmp6-bound=%s' % icmp6.getsockname()[0],
        'raw-proto=%d' % raw.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL),
        'raw-hdrincl=%d' % raw.getsockopt(socket.SOL_IP, socket.IP_HDRINCL),
        'tos=%d ttl=%d pktinfo=%d freebind=%d' % (udp.getsockopt(socket.SOL_IP, socket.IP_TOS), udp.getsockopt(socket.SOL_IP, socket.IP_TTL),
            udp.getsockopt(socket.SOL_IP, IP_PKTINFO), udp.getsockopt(socket.SOL_IP, IP_FREEBIND)),
        'udp-bound=%s:%d' % udp.getsockname(),
        'ping-bound=%s:%d' % ping.getsockname(),
        'v6-pktinfo=%d v6-freebind=%d' % (udp6.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO), udp6.getsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND)),
    ])
signal.signal(signal.SIGUSR1, lambda *_: print('now', state(), flush=True))
print('ready', state(), flush=True)
while True:
    signal.pause()
`;

function startHolder(t: Teardowns, dir: string): { pid: number; out: string; before: string } {
  const out = join(dir, 'out');
  const pid = startBackground(t, out, '/usr/bin/python3', ['-c', HOLDER]);
  return { pid, out, before: waitOutput(out, /ready (.*)/)[1]! };
}

function roundTrip(t: Test, dump: Side, restore: Side): void {
  const dir = scratchDir(t);
  const holder = startHolder(t, dir);
  t.match(holder.before, /^icmp-filter=ff0f nodefrag=1 icmp6-filter=1,2,3,4,5,6,7,8 icmp6-bound=::1 raw-proto=255 raw-hdrincl=1 tos=8 ttl=32 pktinfo=1 freebind=1 udp-bound=127\.0\.0\.1:\d+ ping-bound=127\.0\.0\.1:4242 v6-pktinfo=1 v6-freebind=1$/, 'python3 set its sockets up');
  const images = dumpWith(dump, t, dir, holder.pid);
  if (!restoreChecked(t, restore, holder.out, images)) return;
  signalWhenAsleep(holder.pid, SIG.USR1);
  // upstream 4.2 restores a bound raw IPv6 socket and a bound ping socket unbound, from its own images too (they hold the same entries as ours)
  const expected = restore === 'upstream' ? holder.before.replace('icmp6-bound=::1', 'icmp6-bound=::').replace('ping-bound=127.0.0.1:4242', 'ping-bound=0.0.0.0:0') : holder.before;
  t.equal(waitOutput(holder.out, /now (.*)/)[1], expected, 'every raw socket and option as before');
}

const PING_RANGE = '/proc/sys/net/ipv4/ping_group_range';
const pingRange = readFileSync(PING_RANGE, 'utf8');
writeFileSync(PING_RANGE, '0 0');
t.teardown(() => writeFileSync(PING_RANGE, pingRange));

t.test('raw sockets and IP options, dumped and restored by ours', (t) => {
  roundTrip(t, 'ours', 'ours');
  t.end();
});

for (const way of DIRECTIONS) {
  t.test(`raw sockets and IP options, ${way.title}`, { skip: skipWithoutUpstream() }, (t) => {
    roundTrip(t, way.dump as Side, way.restore as Side);
    t.end();
  });
}
