// AF_NETLINK sockets (zdtm sk-netlink), held by an unmodified python3: a
// uevent socket bound to a chosen port id, one bound to multicast group 32
// with a kernel-chosen port, one connected to the first's port and that
// group, and an unbound rtnetlink socket. After the restore each has its
// protocol, port id, groups and peer again, and a message sent on the
// connected one reaches both the bound port and the group's member.
// Dumped and restored by ours, and with upstream CRIU 4.2 on either side
// (skipped, saying so, when it is absent).
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
  'import os, signal, socket, time',
  'UEVENT, GROUP = 15, 1 << 31',
  'port = os.getpid() + 7',
  'ssk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, UEVENT)',
  'ssk.bind((port, 0))',
  'bsk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, UEVENT)',
  'bsk.bind((0, GROUP))',
  'csk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, UEVENT)',
  'csk.connect((port, GROUP))',
  'rsk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)',
  'for s in (ssk, bsk): s.settimeout(5)',
  'def check(sig, frame):',
  '    csk.send(b"criu-ts-netlink")',
  '    got = [s.recv(64) == b"criu-ts-netlink" for s in (ssk, bsk)]',
  '    print("state", ssk.getsockname()[0] == port, ssk.getsockname()[1], bsk.getsockname()[1], bsk.getsockname()[0] != 0,',
  '          csk.getpeername()[0] == port, csk.getpeername()[1], rsk.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL), got, flush=True)',
  'signal.signal(signal.SIGUSR1, check)',
  'print("ready", flush=True)',
  'while True: time.sleep(0.05)',
].join('\n');

const EXPECTED = 'state True 0 2147483648 True True 2147483648 0 [True, True]';
const states = (out: string): string[] => readFileSync(out, 'utf8').match(/^state .*$/gm) ?? [];
const ways: { dump: Side; restore: Side; title: string }[] = [{ dump: 'ours', restore: 'ours', title: 'dumped and restored by ours' }, ...DIRECTIONS];

for (const way of ways) {
  const skip = way.dump === 'ours' && way.restore === 'ours' ? false : noUpstream;
  t.test(`netlink sockets, ${way.title}: ports, groups and peer kept, messages delivered`, { skip }, (t) => {
    const dir = scratchDir(t, 'criu-ts-netlink-');
    const out = join(dir, 'out');
    const script = join(dir, 'netlink.py');
    writeFileSync(script, SCRIPT);
    const pid = startBackground(t, out, '/usr/bin/python3', [script]);
    waitOutput(out, /ready/, 30_000);
    signalWhenAsleep(pid, SIG.USR1);
    waitFor('the state before', () => states(out).length >= 1, 20_000);
    t.equal(states(out)[0], EXPECTED, 'before: bound, in group 32, connected, delivered');
    const images = dumpWith(way.dump, t, dir, pid);
    if (way.dump === 'ours') {
      const nlsk = readEntries(images, 'files').flatMap((entry) => (entry.nlsk !== undefined ? [entry.nlsk] : []));
      t.same(nlsk.map((e) => e.protocol).sort(), [0, 15, 15, 15], 'four netlink_sk_entry in files.img, as upstream writes them');
    }
    if (!restoreChecked(t, way.restore, out, images)) return t.end();
    signalWhenAsleep(pid, SIG.USR1);
    waitFor('the state after', () => states(out).length >= 2, 20_000);
    t.equal(states(out)[1], EXPECTED, 'after: the same');
    t.end();
  });
}
