import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createPagemap, kindHasSchema, PE_PRESENT, sampleEntries, writeImage, imageKind } from '@criu-ts/images';
import { TarWriter } from '@criu-ts/stream';

const run = promisify(execFile);
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.cjs');
const dir = mkdtempSync(join(tmpdir(), 'criu-crit-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const crit = (...args: string[]): Promise<{ stdout: string; stderr: string }> => run('node', [BIN, ...args], { timeout: 30_000 });

const tcp = imageKind('tcp-stream');
const tcpPath = join(dir, 'tcp-stream-1.img');
if (kindHasSchema(tcp)) writeImage(tcpPath, 'tcp-stream', sampleEntries(tcp) as never);
const pm = createPagemap(dir, 5, 1);
pm.appendRun({ vaddr: 0x7ffff000n, nrPages: 1, flags: PE_PRESENT, data: Buffer.alloc(4096, 2) });
pm.close();
const pagemapPath = join(dir, 'pagemap-5.img');

t.test('-h lists the verbs', async (t) => {
  const { stdout } = await crit('-h');
  for (const verb of ['decode', 'encode', 'show', 'info']) t.match(stdout, verb);
});

t.test('decode matches crit, plain and --pretty, file and stdin', async (t) => {
  const realCrit = existsSync('/usr/bin/crit');
  for (const pretty of [[], ['--pretty']]) {
    const { stdout } = await crit('decode', '-i', tcpPath, ...pretty);
    if (realCrit) t.equal(stdout, execFileSync('/usr/bin/crit', ['decode', '-i', tcpPath, ...pretty], { encoding: 'utf8' }), `same as crit ${pretty.join('')}`);
    const piped = execFileSync('node', [BIN, 'decode', ...pretty], { input: readFileSync(tcpPath), encoding: 'utf8' });
    t.equal(piped, stdout, 'stdin gives the same');
  }
  const out = join(dir, 'out.json');
  await crit('decode', '-i', pagemapPath, '-o', out);
  t.match(JSON.parse(readFileSync(out, 'utf8')), { magic: 'PAGEMAP', entries: [{ pages_id: 1 }, { vaddr: 0x7ffff000, flags: 4 }] });
});

t.test('encode turns decode output back into the same bytes', async (t) => {
  for (const path of [tcpPath, pagemapPath]) {
    const json = join(dir, 'round.json');
    const back = join(dir, 'round.img');
    await crit('decode', '-i', path, '-o', json, '--pretty');
    await crit('encode', '-i', json, '-o', back);
    t.strictSame(readFileSync(back), readFileSync(path), `${path}: file to file`);
    const viaStdout = execFileSync('node', [BIN, 'encode'], { input: readFileSync(json) });
    t.strictSame(viaStdout, readFileSync(path), 'stdin to stdout');
  }
});

t.test('show and info', async (t) => {
  const shown = await crit('show', tcpPath);
  t.equal(shown.stdout, (await crit('decode', '-i', tcpPath, '--pretty')).stdout, 'show = decode --pretty');
  const nopl = JSON.parse((await crit('show', '--nopl', tcpPath)).stdout) as { entries: { extra: string }[] };
  t.match(nopl.entries[0]?.extra, /^\.\.\. <\d+B>$/, 'payload sizes with --nopl');
  t.equal((await crit('info', pagemapPath)).stdout, '{\n    "magic": "PAGEMAP",\n    "count": 1\n}\n');
});

t.test('errors: message on stderr, exit status 1', async (t) => {
  const bad = join(dir, 'bad.img');
  writeFileSync(bad, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
  await t.rejects(crit('decode', '-i', bad), { code: 1, stderr: /bad\.img at offset 0: unknown magic 0x4030201/ });
  await t.rejects(crit('decode', '-i', join(dir, 'missing.img')), { code: 1, stderr: /ENOENT/ });
  await t.rejects(crit('nonsense'), { code: 1, stderr: /criu-crit: / });
  writeFileSync(join(dir, 'bad.json'), '{"magic": "NOPE", "entries": []}');
  await t.rejects(crit('encode', '-i', join(dir, 'bad.json'), '-o', join(dir, 'x.img')), { code: 1, stderr: /no image kind with magic "NOPE"/ });
});

t.test('checkpoint streams: info lists, show/decode -m read a member, from a file or stdin', async (t) => {
  const streamPath = join(dir, 'ckpt.tar');
  const fd = openSync(streamPath, 'w');
  try {
    const writer = new TarWriter(fd);
    for (const path of [tcpPath, pagemapPath]) writer.addFile(path, basename(path));
    writer.finish();
  } finally {
    closeSync(fd);
  }
  const listed = JSON.parse((await crit('info', streamPath)).stdout) as { members: { name: string; size: number }[] };
  t.same(listed.members.map((m) => m.name), ['tcp-stream-1.img', 'pagemap-5.img'], 'info lists the members');
  const member = await crit('show', streamPath, '-m', 'tcp-stream-1.img');
  t.equal(member.stdout, (await crit('show', tcpPath)).stdout, 'show -m gives what show of the file gives');
  const decoded = await crit('decode', '-i', streamPath, '-m', 'pagemap-5.img');
  t.equal(decoded.stdout, (await crit('decode', '-i', pagemapPath)).stdout, 'decode -i STREAM -m NAME');
  const piped = execFileSync('node', [BIN, 'decode', '-m', 'pagemap-5.img'], { input: readFileSync(streamPath), encoding: 'utf8' });
  t.equal(piped, decoded.stdout, 'a stream on stdin with -m');
  t.equal((await crit('info', streamPath, '-m', 'pagemap-5.img')).stdout, '{\n    "magic": "PAGEMAP",\n    "count": 1\n}\n', 'info -m');
  await t.rejects(crit('decode', '-i', streamPath), { code: 1, stderr: /is a checkpoint stream: say which image with -m/ });
  await t.rejects(crit('show', streamPath, '-m', 'core-1.img'), { code: 1, stderr: /no member core-1\.img in the stream\n.*its members: tcp-stream-1\.img, pagemap-5\.img/ });
  const cut = join(dir, 'cut.tar');
  writeFileSync(cut, readFileSync(streamPath).subarray(0, 1500));
  await t.rejects(crit('info', cut), { code: 1, stderr: /truncated stream/ });
});
