// Benchmarks of issue 6, run by `npm run bench` after the dump and restore
// tables (BENCH_ROUNDS rounds each, median shown), on a 1 GiB process
// (e2e/fixtures/memory.c 1024):
//   dump to stream      criu-dump --stream -R | cat >/dev/null (a real pipe)
//   stream to restore   cat ckpt.tar | criu-restore --stream -d
//   page server         criu-dump --page-server -R to criu-page-server on
//                       loopback (its -D on tmpfs), plain TCP
// Throughput is bytes moved (the stream's size, or the pages sent) over
// the tool's wall time. The tools' private directories (TMPDIR) are on
// tmpfs too, as are the images.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOne } from '@criu-ts/images';
import { toolPath } from '../lib/workspace.js';

interface Row {
  name: string;
  ms: number;
  bytes: number;
}

const scratchRoot = (): string => (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());

async function waitFor(what: string, ready: () => boolean, timeoutMs: number): Promise<void> {
  for (const end = Date.now() + timeoutMs; !ready(); await new Promise((resolve) => setTimeout(resolve, 20))) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

/** The memory fixture (1 GiB) started detached, output to a file; its pid once ready. */
async function startMemory(bin: string, dir: string): Promise<{ pid: number; child: ChildProcess }> {
  const outFile = join(dir, 'out');
  const out = openSync(outFile, 'w');
  const child = spawn(bin, ['1024'], { detached: true, stdio: ['ignore', out, 'inherit'] });
  closeSync(out);
  let pid = 0;
  await waitFor('the workload', () => (pid = Number(/^ready (\d+)/m.exec(readFileSync(outFile, 'utf8'))?.[1] ?? 0)) > 0, 60_000);
  return { pid, child };
}

function killGroup(child: ChildProcess, pid: number): void {
  for (const target of [-(child.pid ?? pid), pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

function sh(script: string, env: Record<string, string>): number {
  const t0 = process.hrtime.bigint();
  execFileSync('sh', ['-c', script], { env: { ...process.env, NODE: process.execPath, DUMP: toolPath('criu-dump'), RESTORE: toolPath('criu-restore'), ...env }, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** One round of dump → stream → restore: the two timed halves. */
async function streamRound(bin: string): Promise<[Row, Row]> {
  const dir = mkdtempSync(join(scratchRoot(), 'criu-ts-bench-stream-'));
  const { pid, child } = await startMemory(bin, dir);
  try {
    const file = join(dir, 'ckpt.tar');
    const toPipe = sh('"$NODE" "$DUMP" -t $PID --stream -R -o "$DIR/dump.log" | cat >/dev/null', { PID: String(pid), DIR: dir, TMPDIR: dir });
    execFileSync(process.execPath, [toolPath('criu-dump'), '-t', String(pid), '--stream', '--stream-file', file, '-W', dir, '-o', 'dump2.log'], { timeout: 300_000 });
    const bytes = statSync(file).size;
    await waitFor('the dumped task to be gone', () => !existsSync(`/proc/${pid}`), 30_000);
    const restore = sh('cat "$FILE" | "$NODE" "$RESTORE" --stream -d -W "$DIR" -o restore.log', { FILE: file, DIR: dir, TMPDIR: dir });
    return [{ name: 'dump to stream (pipe)', ms: toPipe, bytes }, { name: 'stream to restore (pipe)', ms: restore, bytes }];
  } finally {
    killGroup(child, pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One round of criu-dump --page-server -R against criu-page-server on loopback. */
async function pageServerRound(bin: string): Promise<Row> {
  const dir = mkdtempSync(join(scratchRoot(), 'criu-ts-bench-ps-'));
  const { pid, child } = await startMemory(bin, dir);
  const port = await freePort();
  const server = spawn(process.execPath, [toolPath('criu-page-server'), '-D', dir, '--address', '127.0.0.1', '--port', String(port), '-o', 'ps.log', '--pidfile', 'ps.pid'], { stdio: 'ignore' });
  try {
    // the pidfile is written once the server listens
    await waitFor('the page server', () => existsSync(join(dir, 'ps.pid')), 30_000);
    const ms = sh('"$NODE" "$DUMP" -t $PID -R -D "$DIR" --page-server --address 127.0.0.1 --port $PORT -o dump.log', { PID: String(pid), DIR: dir, PORT: String(port) });
    const pages = Number(readOne(dir, 'stats', 'dump').dump?.pages_written ?? 0);
    return { name: 'page server (loopback)', ms, bytes: pages * 4096 };
  } finally {
    server.kill('SIGKILL');
    killGroup(child, pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(rows: Row[]): Row {
  const sorted = [...rows].sort((a, b) => a.ms - b.ms);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function printRows(rows: Row[]): void {
  const head = ['transfer, 1 GiB process', 'wall ms', 'MiB', 'GB/s'];
  const lines = rows.map((r) => [r.name, r.ms.toFixed(0), (r.bytes / 2 ** 20).toFixed(0), (r.bytes / (r.ms / 1000) / 1e9).toFixed(2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  for (const line of [head, ...lines]) console.log(line.map((c, i) => c.padStart(widths[i]!)).join('  '));
}

/** The stream and page-server table; `bin` is the compiled memory fixture. */
export async function streamBenchmarks(bin: string, rounds: number): Promise<void> {
  const dumps: Row[] = [];
  const restores: Row[] = [];
  const transfers: Row[] = [];
  for (let i = 0; i < rounds; i++) {
    const [dump, restore] = await streamRound(bin);
    dumps.push(dump);
    restores.push(restore);
    transfers.push(await pageServerRound(bin));
  }
  console.log(`\ncriu-ts --stream and --page-server, median of ${rounds} round(s)`);
  printRows([median(dumps), median(restores), median(transfers)]);
}
