// Lazy restore across implementations: our `criu restore --lazy-pages` with
// upstream CRIU 4.2's `criu lazy-pages`, and upstream's restore with ours —
// the same lazy-pages.socket hand-over on both sides. A 64 MiB fixture
// dumped by ours, restored lazily, checked from inside (its checksum of
// every page) and by each daemon's exit status.
import t from 'tap';
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIG, kill } from '@criu-ts/kernel';
import { compileFixture, scratchDir } from './lib/fixtures.js';
import { skipWithoutUpstream, upstreamCriu } from './lib/upstream.js';
import { toolPath } from './lib/workspace.js';
import { alive, killAndReap, startBackground, waitFor, waitOutput } from '../libs/restore/test/live.js';

t.setTimeout(600_000);

type Side = 'ours' | 'upstream';

function command(side: Side, verb: string): [string, string[]] {
  return side === 'ours' ? [process.execPath, [toolPath(`criu-${verb}`)]] : [upstreamCriu()!, [verb]];
}

for (const [daemonSide, restoreSide] of [['upstream', 'ours'], ['ours', 'upstream']] as [Side, Side][]) {
  t.test(`${daemonSide === 'ours' ? 'our' : "upstream's"} criu lazy-pages serves ${restoreSide === 'ours' ? 'our' : "upstream's"} restore --lazy-pages`, { skip: skipWithoutUpstream() }, async (t) => {
    const dir = scratchDir(t);
    const out = join(dir, 'out');
    const pid = startBackground(t, out, compileFixture('mem-dirty', dir), ['64', '4']);
    const sum = waitOutput(out, /ready \d+ (\d+)/)[1]!;
    const images = join(dir, 'img');
    mkdirSync(images);
    const dump = await execa(process.execPath, [toolPath('criu-dump'), '-t', String(pid), '-D', images, '-o', 'dump.log'], { reject: false, timeout: 120_000 });
    t.equal(dump.exitCode, 0, 'dumped by ours');
    killAndReap(pid);
    waitFor('the fixture to be gone', () => !alive(pid));
    const [daemonBin, daemonArgs] = command(daemonSide, 'lazy-pages');
    const daemon = execa(daemonBin, [...daemonArgs, '-D', images, '-v4', '-o', 'lazy-pages.log'], { reject: false, timeout: 120_000, stdin: 'ignore', cwd: images });
    t.teardown(() => {
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
    });
    waitFor('lazy-pages.socket', () => existsSync(join(images, 'lazy-pages.socket')), 30_000);
    const [restoreBin, restoreArgs] = command(restoreSide, 'restore');
    const restore = await execa(restoreBin, [...restoreArgs, '-D', images, '--lazy-pages', '-d', '-v4', '-o', 'restore.log'], { reject: false, timeout: 120_000, stdin: 'ignore' });
    t.equal(restore.exitCode, 0, 'restored', { log: existsSync(join(images, 'restore.log')) ? readFileSync(join(images, 'restore.log'), 'utf8').slice(-2000) : '' });
    t.teardown(() => killAndReap(pid));
    t.equal((await daemon).exitCode, 0, 'the daemon filled every page and exited 0', { log: readFileSync(join(images, 'lazy-pages.log'), 'utf8').slice(-2000) });
    kill(pid, SIG.USR1);
    t.equal(waitOutput(out, /verify \S+ \d+/, 30_000)[0], `verify ok ${sum}`, 'every page is what was dumped');
  });
}
