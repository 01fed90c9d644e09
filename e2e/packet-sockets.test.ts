// AF_PACKET sockets (zdtm packet_sock, packet_sock_spkt, packet_sock_mmap),
// held by an unmodified python3: a SOCK_RAW one with TPACKET_V2,
// PACKET_AUXDATA, an RX ring mapped into the task and a promiscuous
// membership on lo; a SOCK_DGRAM ETH_P_IP one bound
// to lo with a reserve, PACKET_ORIGDEV, a fanout group, a unicast
// membership and a TX ring; an old SOCK_PACKET one bound to lo and an
// unbound one. After the restore each has its binding and options again,
// the ring is mapped at its address from the same socket,
// the memberships are there to be dropped, and the bound one sees a UDP
// datagram sent over lo. Dumped and restored by ours, and with upstream
// CRIU 4.2 on either side (skipped, saying so, when it is absent).
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { SIG } from '@criu-ts/kernel';
import { scratchDir } from './lib/fixtures.js';
import { DIRECTIONS, dumpWith, restoreChecked, signalWhenAsleep, skipWithoutUpstream, type Side } from './lib/upstream.js';
import { startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

t.setTimeout(600_000);
const noUpstream = skipWithoutUpstream();
if (noUpstream !== false) t.comment(noUpstream);

const SCRIPT = [
  'import ctypes, mmap, os, signal, socket, struct, time',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'SOL, VERSION, AUXDATA, RESERVE, ORIGDEV, FANOUT, RX, TX, ADD, DROP = 263, 10, 8, 12, 9, 18, 5, 13, 1, 2',
  'ring = struct.pack("7I", 4096, 1, 1024, 4, 0, 0, 0)',
  'mreq = lambda kind, alen: struct.pack("iHH32s", 1, kind, alen, b"")',
  'raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)',
  'raw.setsockopt(SOL, VERSION, 1)',
  'raw.setsockopt(SOL, AUXDATA, 1)',
  'raw.setsockopt(SOL, RX, ring)',
  'raw.setsockopt(SOL, ADD, mreq(1, 0))',
  'rx = mmap.mmap(raw.fileno(), 4096)',
  'rx_at = ctypes.addressof(ctypes.c_char.from_buffer(rx))',
  'def ring_mapped():',
  '    line = [l for l in open("/proc/self/maps") if l.startswith("%x-" % rx_at)]',
  '    return len(line) == 1 and line[0].split()[5] == "socket:[%d]" % os.fstat(raw.fileno()).st_ino',
  'dgram = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))',
  'dgram.bind(("lo", 0))',
  'dgram.setsockopt(SOL, RESERVE, 8)',
  'dgram.setsockopt(SOL, ORIGDEV, 1)',
  'dgram.setsockopt(SOL, FANOUT, 13)',
  'dgram.setsockopt(SOL, ADD, mreq(3, 6))',
  'dgram.setsockopt(SOL, TX, ring)',
  'spkt = socket.socket(socket.AF_PACKET, 10, socket.htons(3))',
  // SOCK_PACKET binds with a struct sockaddr naming the device (python's own bind passes a sockaddr_ll)
  'assert libc.bind(spkt.fileno(), struct.pack("H14s", socket.AF_PACKET, b"lo"), 16) == 0',
  'loose = socket.socket(socket.AF_PACKET, 10, socket.htons(3))',
  'udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
  'def spkt_name(s):',
  '    buf, length = ctypes.create_string_buffer(16), ctypes.c_uint(16)',
  '    assert libc.getsockname(s.fileno(), buf, ctypes.byref(length)) == 0',
  '    return buf.raw[2:16].split(b"\\0")[0].decode() or "none"',
  'dgram.settimeout(5)',
  // the socket sees all of lo's IP traffic (other tests' too): its queue is drained first, so the marker is not dropped at a full one, and sent again a few times
  'def drain():',
  '    dgram.setblocking(False)',
  '    try:',
  '        while True: dgram.recv(65536)',
  '    except BlockingIOError: pass',
  '    dgram.settimeout(5)',
  'def sees(marker):',
  '    for attempt in range(5):',
  '        drain()',
  '        udp.sendto(marker, ("127.0.0.1", 9))',
  '        deadline = time.time() + 2',
  '        while time.time() < deadline:',
  '            try: frame = dgram.recv(65536)',
  '            except socket.timeout: break',
  '            if marker in frame: return True',
  '    return False',
  'rounds = [0]',
  'def check(sig, frame):',
  '    rounds[0] += 1',
  '    g = lambda s, o: s.getsockopt(SOL, o)',
  '    name = dgram.getsockname()',
  '    state = [g(raw, VERSION), g(raw, AUXDATA), g(raw, FANOUT), name[0], hex(name[1]), g(dgram, RESERVE), g(dgram, ORIGDEV), g(dgram, FANOUT),',
  '             spkt_name(spkt), spkt_name(loose), ring_mapped(), sees(b"criu-ts-packet-%d" % rounds[0])]',
  '    if rounds[0] == 2:',
  '        raw.setsockopt(SOL, DROP, mreq(1, 0)); dgram.setsockopt(SOL, DROP, mreq(3, 6)); state.append("dropped")',
  '    print("state", *state, flush=True)',
  'signal.signal(signal.SIGUSR1, check)',
  'print("ready", flush=True)',
  'while True: time.sleep(0.05)',
].join('\n');

const BEFORE = 'state 1 1 0 lo 0x800 8 1 13 lo none True True';
const states = (out: string): string[] => readFileSync(out, 'utf8').match(/^state .*$/gm) ?? [];
const ways: { dump: Side; restore: Side; title: string }[] = [{ dump: 'ours', restore: 'ours', title: 'dumped and restored by ours' }, ...DIRECTIONS];

for (const way of ways) {
  const skip = way.dump === 'ours' && way.restore === 'ours' ? false : noUpstream;
  t.test(`packet sockets, ${way.title}: bindings, options, memberships, rings and fanout kept`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-packet-');
    const out = join(dir, 'out');
    const script = join(dir, 'packet.py');
    writeFileSync(script, SCRIPT);
    const pid = startBackground(t, out, '/usr/bin/python3', [script]);
    waitOutput(out, /ready/, 30_000);
    signalWhenAsleep(pid, SIG.USR1);
    waitFor('the state before', () => states(out).length >= 1, 20_000);
    t.equal(states(out)[0], BEFORE, 'before: every option as set, traffic seen');
    const images = dumpWith(way.dump, t, dir, pid);
    if (way.dump === 'ours') {
      const psk = readEntries(images, 'files').flatMap((entry) => (entry.psk !== undefined ? [entry.psk] : []));
      t.equal(psk.length, 4, 'four packet_sock_entry in files.img');
      const dgram = psk.find((e) => e.type === 2);
      t.match(dgram, { protocol: 0x0008, ifindex: 1, reserve: 8, orig_dev: true, fanout: 13, tx_ring: { block_size: 4096, frame_nr: 4 } }, 'the protocol in network order, as upstream writes it');
      t.equal(dgram?.mclist?.length, 1, 'its membership');
    }
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    signalWhenAsleep(pid, SIG.USR1);
    waitFor('the state after', () => states(out).length >= 2, 20_000);
    t.equal(states(out)[1], `${BEFORE} dropped`, 'after: the same, and both memberships were there to drop');
    t.end();
  });
}
