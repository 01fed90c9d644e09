// A TCP conversation on loopback between two unmodified python3 programs,
// for the --tcp-established tests: a server that accepts one connection,
// closes its listener (a reconnect could not happen) and checks that every
// line it gets is the next number (no byte lost, none twice), echoing each
// back; a client that sends batches of numbered lines and checks the echo.
// Plus what the firewall holds for a port (the network lock's rules/tables).
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEntries } from '@criu-ts/images';
import { scratchDir } from './fixtures.js';
import { killAndReap, runRestore, startBackground, waitFor, waitOutput, type Teardowns } from '../../libs/restore/test/live.js';

const SERVER = `
import socket, sys
family = socket.AF_INET6 if sys.argv[1] == '::1' else socket.AF_INET
s = socket.socket(family)
s.bind((sys.argv[1], 0))
s.listen(1)
print('port', s.getsockname()[1], flush=True)
c, _ = s.accept()
s.close()
print('accepted', flush=True)
expect, buf = 0, b''
while True:
    d = c.recv(65536)
    if not d:
        print('eof', expect, flush=True)
        break
    buf += d
    lines = buf.split(b'\\n')
    buf = lines.pop()
    for line in lines:
        n = int(line.split(b' ')[0])
        if n != expect:
            print('BAD got', n, 'expected', expect, flush=True)
            sys.exit(1)
        expect += 1
    c.sendall(b''.join(l + b'\\n' for l in lines))
    print('got', expect, flush=True)
`;

const CLIENT = `
import socket, struct, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
if len(sys.argv) > 3:
    # a socket criu cannot dump (nor upstream): a packet socket with a membership added twice
    packet = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
    for _ in range(2): packet.setsockopt(263, 1, struct.pack('iHH32s', 1, 1, 0, b''))
f = c.makefile('rb')
n, pad = 0, b'.' * 200
print('connected', flush=True)
while True:
    lines = [b'%d %s' % (i, pad) for i in range(n, n + 300)]
    c.sendall(b''.join(l + b'\\n' for l in lines))
    for l in lines:
        if f.readline() != l + b'\\n':
            print('BAD echo at', n, flush=True)
            sys.exit(1)
    n += 300
    print('sent', n, flush=True)
    time.sleep(0.005)
`;

export interface Pair {
  dir: string;
  server: { pid: number; out: string };
  client: { pid: number; out: string };
  port: number;
}

export function startPair(t: Test, host: string, clientExtra: string[] = []): Pair {
  const dir = scratchDir(t);
  writeFileSync(join(dir, 'server.py'), SERVER);
  writeFileSync(join(dir, 'client.py'), CLIENT);
  const server = { pid: 0, out: join(dir, 'server.out') };
  server.pid = startBackground(t, server.out, '/usr/bin/python3', [join(dir, 'server.py'), host]);
  const port = Number(waitOutput(server.out, /port (\d+)/, 20_000)[1]);
  const client = { pid: 0, out: join(dir, 'client.out') };
  client.pid = startBackground(t, client.out, '/usr/bin/python3', [join(dir, 'client.py'), host, String(port), ...clientExtra]);
  waitOutput(server.out, /accepted/, 20_000);
  return { dir, server, client, port };
}

export const lastSent = (out: string): number => Number([...readFileSync(out, 'utf8').matchAll(/sent (\d+)/g)].pop()?.[1] ?? -1);

export function waitConversation(pair: Pair, beyond: number, what: string): void {
  waitFor(what, () => lastSent(pair.client.out) > beyond + 1500, 60_000);
}

/** The firewall's lock rules or tables that name this port (other tests may hold their own). */
export function locksOf(port: number): string[] {
  const rules = ['iptables', 'ip6tables'].flatMap((cmd) => spawnSync(cmd, ['-w', '-S'], { encoding: 'utf8' }).stdout.split('\n'));
  const portRules = rules.filter((rule) => /0xc114/i.test(rule) && new RegExp(`--[sd]port ${port}\\b`).test(rule));
  const tables = spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).stdout;
  const nftLocks = [...tables.matchAll(/table inet (CRIU-\S+) \{([\s\S]*?)\n\}/g)].filter((m) => new RegExp(`\\. ${port}\\b`).test(m[2]!)).map((m) => m[1]!);
  return [...portRules, ...nftLocks];
}

export function checkConversation(t: Test, pair: Pair): void {
  const server = readFileSync(pair.server.out, 'utf8');
  t.equal(server.match(/accepted/g)?.length, 1, 'one connection: no reconnect');
  t.notMatch(server, /BAD|eof|Error/, 'the server got every line once, in order, and no end of stream');
  t.notMatch(readFileSync(pair.client.out, 'utf8'), /BAD|Error/, 'the client got every echo back');
}

export function restoreTcp(t: Teardowns, images: string, out: string): void {
  const status = runRestore(out, ['-D', images, '-d', '-v4', '-o', 'restore.log', '--tcp-established'], 120_000);
  if (status !== 0) throw new Error(`criu-restore failed (${status}): ${readFileSync(join(images, 'restore.log'), 'utf8').slice(-3000)}`);
  const tids = readEntries(images, 'pstree').flatMap((entry) => entry.threads ?? []);
  t.teardown(() => tids.forEach(killAndReap));
}

