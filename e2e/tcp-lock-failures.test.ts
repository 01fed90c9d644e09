// A dump with --tcp-established that fails after the connection was locked
// (at a packet socket with a membership added twice, which criu cannot dump) leaves no lock rule or table
// behind, and the tree runs on: the conversation (lib/tcp-pair.ts) goes on.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from './lib/fixtures.js';
import { toolPath } from './lib/workspace.js';
import { checkConversation, lastSent, locksOf, startPair, waitConversation } from './lib/tcp-pair.js';

t.setTimeout(300_000);

for (const method of ['iptables', 'nftables'] as const) {
  t.test(`a dump that fails after locking the connection leaves no lock (${method}) and the conversation going`, (t) => {
    const pair = startPair(t, '127.0.0.1', ['with-packet-socket']);
    waitConversation(pair, 0, 'the conversation to start');
    const images = scratchDir(t);
    const run = spawnSync(process.execPath, [toolPath('criu-dump'), '-t', String(pair.client.pid), '-D', images, '-v4', '-o', 'dump.log', '--tcp-established', '--network-lock', method], { timeout: 120_000 });
    t.not(run.status, 0, 'the dump fails');
    const log = readFileSync(join(images, 'dump.log'), 'utf8');
    t.match(log, /locked .* connection/, 'after the connection was locked');
    t.match(log, /packet socket ino \d+ with a membership \(type 1, ifindex 1\) added 2 times is not supported/, 'at the packet socket');
    t.same(locksOf(pair.port), [], 'no lock left behind');
    const before = lastSent(pair.client.out);
    waitConversation(pair, before, 'the conversation to go on');
    checkConversation(t, pair);
    t.end();
  });
}
