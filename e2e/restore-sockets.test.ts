// Socket restore on the rsock fixture (e2e/fixtures/rsock.c): a unix
// stream and a seqpacket socketpair with queued data, a unix listener at a
// path, a bound unix dgram socket with queued datagrams, an abstract dgram
// socket with a connected client, TCP listeners on 127.0.0.1 and [::1],
// a UDP socket. criu-dump writes them (crit decodes the images); then
// 1. the socket kinds' open() makes every socket of the images in the test
//    process, as the fixture had them (queues, names, listening, options);
// 2. criu-restore brings the fixture back: its own checks pass (SIGUSR1
//    verdicts) and it answers a unix, two TCP and a UDP client.
import t, { type Test } from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries, readOne } from '@criu-ts/images';
import { AF, MSG, SIG, SO, SOCK, SOL, IPV6_OPT, getsockname, getsockoptInt, kill, recvmsg, sendto, socket } from '@criu-ts/kernel';
import { fdKinds, filesKind } from '@criu-ts/kinds';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { ask, askUdp } from './lib/socket-clients.js';
import { toolPath } from './lib/workspace.js';
import { alive, killAndReap, runRestore, startBackground, waitFor, waitOutput, type Teardowns } from '../libs/restore/test/live.js';
import { imagesEnv } from '../libs/kinds/src/files/sockets/restore-env.fixture.js';
import { connectSocket, inetSockaddr, unixSockaddr } from '../libs/kinds/src/files/sockets/socket-restore-calls.js';

const FD_NAMES = ['sp0', 'sp1', 'seq0', 'seq1', 'ul', 'ud', 'as', 'ac', 'tcp4', 'tcp6', 'udp'] as const;
type FdName = (typeof FD_NAMES)[number];

interface Fixture {
  pid: number;
  out: string;
  work: string;
  fds: Record<FdName, number>;
  ports: { tcp4: number; tcp6: number; udp: number };
}

function startFixture(t: Teardowns, dir: string): Fixture {
  const work = join(dir, 'w');
  mkdirSync(work);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, compileFixture('rsock', dir), [work]);
  const [, p4, p6, pu] = waitOutput(out, /^ready (\d+) (\d+) (\d+)$/m).map(Number);
  const numbers = waitOutput(out, /^fds((?: \d+){11})$/m)[1]!.trim().split(' ').map(Number);
  const fds = Object.fromEntries(FD_NAMES.map((name, i) => [name, numbers[i]!])) as Record<FdName, number>;
  return { pid, out, work, fds, ports: { tcp4: p4!, tcp6: p6!, udp: pu! } };
}

/** criu-dump -t pid (the fixture is killed, reaped, its pid freed). */
function dump(t: Teardowns, dir: string, pid: number): string {
  const images = join(dir, 'img');
  mkdirSync(images);
  const run = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(pid), '-D', images, '-v4', '-o', 'dump.log'], { timeout: 60_000 });
  if (run.status !== 0) throw new Error(`criu-dump failed (${run.status}): ${readFileSync(join(images, 'dump.log'), 'utf8').slice(-2000)}`);
  killAndReap(pid);
  waitFor('the dumped fixture to be gone', () => !alive(pid));
  t.teardown(() => killAndReap(pid));
  return images;
}

function critEntries(path: string): Record<string, unknown>[] {
  return (JSON.parse(execFileSync('/usr/bin/crit', ['decode', '-i', path], { encoding: 'utf8', timeout: 30_000 })) as { entries: Record<string, unknown>[] }).entries;
}

/** Every message queued on fd now, as text. */
function drain(fd: number): string[] {
  const out: string[] = [];
  const buf = Buffer.alloc(4096);
  for (let got = recvmsg(fd, buf, MSG.DONTWAIT); got !== null && got.length > 0; got = recvmsg(fd, buf, MSG.DONTWAIT)) out.push(buf.subarray(0, got.length).toString());
  return out;
}

/** Opens every socket entry of the images through its fd kind; our fds by the fixture's fd names. */
function openAll(t: Test, images: string, fx: Fixture): Record<FdName, number> {
  const env = imagesEnv(t, images);
  const filesId = readOne(images, 'ids', fx.pid).files_id;
  const idOfFd = new Map(readEntries(images, 'fdinfo', filesId).map((e) => [e.fd, e.id]));
  const opened = {} as Record<FdName, number>;
  for (const name of FD_NAMES) {
    const entry = env.file(idOfFd.get(fx.fds[name])!);
    const kind = fdKinds.find((k) => k.type === entry.type && k.open !== undefined)!;
    const fd = kind.open!(env.env, entry);
    if (fd === 'retry') throw new Error(`${name}: open asked to retry`);
    opened[name] = env.track(fd);
  }
  return opened;
}

t.test('the dump of the fixture: images crit decodes, every socket made again in the tool', (t) => {
  const dir = scratchDir(t, 'criu-ts-rsock-');
  const fx = startFixture(t, dir);
  const images = dump(t, dir, fx.pid);
  const files = critEntries(join(images, 'files.img'));
  t.equal(files.filter((e) => e.type === 'UNIXSK').length, 8, 'crit: eight unix socket entries');
  t.equal(files.filter((e) => e.type === 'INETSK').length, 3, 'crit: three inet socket entries');
  t.equal(critEntries(join(images, 'sk-queues.img')).length, 2 + 2 + 2 + 1, 'crit: seven queued messages');
  const fd = openAll(t, images, fx);
  t.same([drain(fd.sp1), drain(fd.sp0)], [['to-sp1'], ['to-sp0']], 'socketpair queues, each on its end');
  t.equal(sendto(fd.sp0, Buffer.from('x'), 0, null), 1);
  t.same(drain(fd.sp1), ['x'], 'the pair is connected');
  t.same(drain(fd.seq1), ['m1', 'm22'], 'seqpacket messages with their boundaries');
  t.same(drain(fd.ud), ['dgram-1', 'dgram-22'], 'datagrams of a sender that is gone');
  t.same(drain(fd.as), ['abstract-1'], 'the abstract socket\'s datagram');
  t.equal(sendto(fd.ac, Buffer.from('again'), 0, null), 5);
  t.same(drain(fd.as), ['again'], 'its client is connected to it');
  const listenPath = join(fx.work, 'listen.sock');
  t.equal(getsockoptInt(fd.ul, SOL.SOCKET, SO.ACCEPTCONN), 1, 'unix listener listening');
  t.equal(statSync(listenPath).mode & 0o777, 0o640, 'its file has the saved mode');
  const client = socket(AF.UNIX, SOCK.STREAM);
  t.teardown(() => closeSync(client));
  connectSocket(client, unixSockaddr(Buffer.from(listenPath)), 'client');
  t.equal(getsockoptInt(fd.tcp4, SOL.SOCKET, SO.ACCEPTCONN), 1, 'TCP listener listening');
  t.equal(getsockname(fd.tcp4).readUInt16BE(2), fx.ports.tcp4, 'on its port');
  t.equal(getsockoptInt(fd.tcp4, SOL.SOCKET, SO.REUSEADDR), 1, 'SO_REUSEADDR as saved');
  t.equal(getsockoptInt(fd.tcp6, SOL.IPV6, IPV6_OPT.V6ONLY), 1, 'IPV6_V6ONLY as saved');
  t.equal(getsockname(fd.udp).readUInt16BE(2), fx.ports.udp, 'UDP socket on its port');
  const probe = socket(AF.INET, SOCK.DGRAM);
  t.teardown(() => closeSync(probe));
  t.equal(sendto(probe, Buffer.from('p'), 0, inetSockaddr(AF.INET, fx.ports.udp, [0x0100007f])), 1);
  waitFor('the datagram', () => drain(fd.udp).includes('p'), 5000);
  t.pass('a datagram reaches the UDP socket');
  t.end();
});



t.test('criu-restore brings the fixture back: its checks pass, it answers clients', { skip: filesKind.restore === undefined ? 'the files kind has no restore half yet' : false }, async (t) => {
  const dir = scratchDir(t, 'criu-ts-rsock-');
  const fx = startFixture(t, dir);
  const images = dump(t, dir, fx.pid);
  const status = runRestore(fx.out, ['-D', images, '-d', '-v4', '-o', 'restore.log']);
  t.equal(status, 0, 'criu-restore -d exits 0', { diagnostic: status !== 0, log: status === 0 ? '' : readFileSync(join(images, 'restore.log'), 'utf8').slice(-3000) });
  if (status !== 0) return;
  kill(fx.pid, SIG.USR1);
  const verdicts = waitOutput(fx.out, /^(verdict .*\n)+verdicts done$/m)[0].split('\n').filter((l) => l.startsWith('verdict '));
  t.equal(verdicts.length, 10, 'ten checks ran');
  t.same(verdicts.filter((l) => !l.endsWith(' ok')), [], 'every check inside the restored fixture passed');
  t.equal(await ask({ path: join(fx.work, 'listen.sock') }, ''), 'unix-ok', 'the unix listener accepts and answers');
  t.equal(await ask({ host: '127.0.0.1', port: fx.ports.tcp4 }, 'hello4'), 'tcp-ok:hello4', 'the TCP listener on 127.0.0.1 answers');
  t.equal(await ask({ host: '::1', port: fx.ports.tcp6 }, 'hello6'), 'tcp-ok:hello6', 'the TCP listener on [::1] answers');
  t.equal(await askUdp(fx.ports.udp, 'ping'), 'udp-ok:ping', 'the UDP socket answers');
});
