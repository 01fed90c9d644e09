import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriuError, ImageError } from '@criu-ts/base';
import { writeEntries } from '@criu-ts/images';
import { AMD_EPYC_LEAVES, recordedReader, withFeatures } from '../test/recorded-cpuid.js';
import {
  CPU_CAP_DEFAULT, checkCpuinfo, compareCpuinfo, cpuinfoEntry, dumpCpuinfo, parseCpuCap, readCpuFeatures, readCpuinfoImage,
  validateCpuinfo, writeCpuinfoImage,
} from './index.js';

const epyc = readCpuFeatures(recordedReader(AMD_EPYC_LEAVES));

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-cpuinfo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('each cap compares what criu(8) says it does', async (t) => {
  t.same(checkCpuinfo(epyc, epyc, parseCpuCap('all')), { ok: true, differences: [] }, 'same CPU: compatible');
  const richer = withFeatures(epyc, ['avx512_4vnniw', 'hle']);
  const ins = checkCpuinfo(richer, epyc, parseCpuCap('none,ins'));
  t.notOk(ins.ok);
  t.same(ins.differences.map((d) => [d.kind, d.missing]), [['ins', ['hle', 'avx512_4vnniw']]], 'ins names the missing instructions');
  t.match(ins.differences[0]!.message, /lacks instructions .*hle, avx512_4vnniw/);
  t.ok(checkCpuinfo(richer, epyc, parseCpuCap('none,fpu')).ok, 'fpu ignores instruction features');
  t.ok(checkCpuinfo(epyc, richer, parseCpuCap('none,ins')).ok, 'a richer restoring CPU is fine for ins');
  const strict = checkCpuinfo(epyc, withFeatures(epyc, ['hle'], ['avx2']), parseCpuCap('none,cpu'));
  t.same(strict.differences.map((d) => [d.kind, d.missing, d.extra]), [['cpu', ['avx2'], ['hle']]], 'cpu: both directions');
  t.ok(checkCpuinfo(withFeatures(epyc, ['hypervisor']), epyc, parseCpuCap('none,ins')).ok, 'non-instruction bits only matter to cpu');
});

t.test('fpu: FPU features, XSAVE components and frame sizes', async (t) => {
  const noOsxsave = withFeatures(epyc, [], ['osxsave', 'xsaves']);
  const fpu = checkCpuinfo(epyc, { ...noOsxsave, xfeaturesMask: 0x7n, xsaveSize: 0x340 }, parseCpuCap('none,fpu'));
  t.same(fpu.differences.map((d) => d.kind), ['fpu', 'xfeatures', 'xsave_size']);
  t.same(fpu.differences[0]!.missing, ['osxsave', 'xsaves']);
  t.same(fpu.differences[1]!.missing, ['AVX-512 opmask', 'AVX-512 Hi256', 'AVX-512 ZMM_Hi256']);
  t.match(fpu.differences[2]!.message, /image 2432 bytes, this CPU 832/);
  const smaller = checkCpuinfo({ ...epyc, xsaveSizeMax: 0x340 }, epyc, parseCpuCap('none,fpu'));
  t.same(smaller.differences.map((d) => d.kind), ['xsave_size_max'], 'sizes must be equal both ways');
});

t.test('cpuinfo.img: written as CRIU writes it, decoded by crit, read back', async (t) => {
  const dir = tempDir(t);
  const path = writeCpuinfoImage(dir, epyc);
  const decoded = JSON.parse(execFileSync('/usr/bin/crit', ['decode', '-i', path], { encoding: 'utf8' })) as {
    magic: string; entries: { x86_entry: Record<string, unknown>[] }[];
  };
  t.equal(decoded.magic, 'CPUINFO');
  t.match(decoded.entries[0]!.x86_entry[0], {
    vendor_id: 'AMD', cpu_family: 26, model: 2, stepping: 1, capability_ver: 2, model_id: 'AMD EPYC',
    xfeatures_mask: 0xe7, xsave_size: 2432, xsave_size_max: 2432,
  });
  t.same(decoded.entries[0]!.x86_entry[0]!.capability, epyc.capability);
  t.same(readCpuinfoImage(dir, epyc), epyc, 'round trip');
  t.ok(compareCpuinfo(dir, parseCpuCap('all'), { current: epyc }).ok);
});

t.test('older and broken images', async (t) => {
  const dir = tempDir(t);
  const v1 = cpuinfoEntry(epyc);
  const x86 = v1.x86_entry![0]!;
  Object.assign(x86, { capability_ver: 1, capability: epyc.capability.slice(0, 12) });
  delete x86.xfeatures_mask;
  writeEntries(dir, 'cpuinfo', [v1]);
  t.same(readCpuinfoImage(dir, epyc), epyc, 'v1: words 12-18 and the XSAVE fields come from this CPU');
  const bad = (patch: object, re: RegExp, what: string): void => {
    const entry = cpuinfoEntry(epyc);
    Object.assign(entry.x86_entry![0]!, patch);
    writeEntries(dir, 'cpuinfo', [entry]);
    t.throws(() => readCpuinfoImage(dir, epyc), re, what);
  };
  bad({ capability: epyc.capability.slice(0, 12) }, /version 2 needs 19 words, the image has 12/, 'word count must match the version');
  bad({ capability_ver: 7 }, /unknown capability version 7/, 'unknown version');
  bad({ vendor_id: 0 }, /unknown CPU vendor 0/, 'unknown vendor');
  writeEntries(dir, 'cpuinfo', [{ x86_entry: [] }]);
  t.throws(() => readCpuinfoImage(dir, epyc), ImageError);
  rmSync(join(dir, 'cpuinfo.img'));
  t.throws(() => readCpuinfoImage(dir, epyc), { code: 'ENOENT', message: /no cpuinfo image/ });
});

t.test('dump and restore entry points; a doctored image claiming a feature this CPU lacks', async (t) => {
  const dir = tempDir(t);
  t.equal(dumpCpuinfo(dir, CPU_CAP_DEFAULT, { current: epyc }), undefined, 'default caps: no image on dump');
  t.equal(dumpCpuinfo(dir, parseCpuCap('fpu'), { current: epyc }), join(dir, 'cpuinfo.img'));
  validateCpuinfo(dir, parseCpuCap('all'), { current: epyc });
  writeCpuinfoImage(dir, withFeatures(epyc, ['avx512_4fmaps']));
  const error = t.throws(() => validateCpuinfo(dir, parseCpuCap('ins'), { current: epyc })) as CriuError;
  t.match(error, { code: 'ECPUCAP', message: /cannot run the dumped tasks \(--cpu-cap=fpu,ins\):\n.*avx512_4fmaps/, hint: /--cpu-cap=none/ });
  t.doesNotThrow(() => validateCpuinfo(dir, parseCpuCap('none'), { current: epyc }), 'none: restore is not checked');
  t.doesNotThrow(() => validateCpuinfo(dir, CPU_CAP_DEFAULT, { current: epyc }), 'no --cpu-cap: no image check (criu default)');
  t.doesNotThrow(() => validateCpuinfo(dir, parseCpuCap('none,fpu'), { current: epyc }), 'fpu only: instruction bits ignored');
  writeFileSync(join(dir, 'cpuinfo.img'), Buffer.from('garbage!'));
  t.throws(() => validateCpuinfo(dir, parseCpuCap('all'), { current: epyc }), ImageError, 'a corrupt image is an image error');
});
