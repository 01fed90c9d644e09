import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriuError } from '@criu-ts/base';
import { AMD_EPYC_LEAVES, recordedReader } from '../test/recorded-cpuid.js';
import { DEFAULT_CPUID_LIBRARY, featureIndex, featureName, hasFeature, nativeCpuidReader, readCpuFeatures } from './index.js';

t.test('the recorded AMD EPYC leaves give the words CRIU would store', async (t) => {
  const cpu = readCpuFeatures(recordedReader(AMD_EPYC_LEAVES));
  t.equal(cpu.vendor, 'amd');
  t.same([cpu.family, cpu.model, cpu.stepping], [0x1a, 0x02, 1], 'family 0xf + extended family 0xb, model 0x02');
  t.equal(cpu.modelId, 'AMD EPYC');
  t.equal(cpu.capability.length, 19);
  t.equal(cpu.capability[0], 0x178bfbff, 'word 0 = CPUID.1:EDX (bit 31 cleared on AMD)');
  t.equal(cpu.capability[1], 0x2fd3fbff, 'word 1 = CPUID.80000001:EDX');
  t.equal(cpu.capability[4], 0xfffa3203, 'word 4 = CPUID.1:ECX');
  t.equal(cpu.capability[6], 0x004003f3, 'word 6 = CPUID.80000001:ECX');
  t.equal(cpu.capability[9], 0xf1bf07ab, 'word 9 = CPUID.7.0:EBX');
  t.equal(cpu.capability[10], 0xf, 'word 10 = CPUID.D.1:EAX');
  t.equal(cpu.capability[11], 0x00405fc6, 'word 11 = CPUID.7.0:ECX');
  t.equal(cpu.capability[13], 0x50020005, 'word 13 = CPUID.80000008:EBX');
  t.equal(cpu.capability[14], 0x4, 'word 14 = CPUID.6:EAX');
  t.equal(cpu.capability[18], 0x110, 'word 18 = CPUID.7.0:EDX');
  t.ok(hasFeature(cpu.capability, featureIndex('nopl')) && hasFeature(cpu.capability, featureIndex('rep_good')), 'synthesised nopl, rep_good');
  t.equal(cpu.xfeaturesMask, 0xe7n, 'x87, SSE, AVX and the three AVX-512 components');
  t.same([cpu.xsaveSize, cpu.xsaveSizeMax], [0x980, 0x980]);
});

t.test('Intel quirks and a CPU without leaf 0xd', async (t) => {
  const intel = { '0:0': { eax: 0xb, ebx: 0x756e6547, edx: 0x49656e69, ecx: 0x6c65746e }, '1:0': { eax: 0x000906ea } };
  const cpu = readCpuFeatures(recordedReader(AMD_EPYC_LEAVES, intel));
  t.equal(cpu.vendor, 'intel');
  t.same([cpu.family, cpu.model], [6, 0x9e]);
  t.notOk(hasFeature(cpu.capability, featureIndex('xsave')), 'xsave cleared: no leaf 0xd below level 0xd');
  t.same([cpu.xfeaturesMask, cpu.xsaveSize], [0n, 0], 'no XSAVE state without xsave');
  t.equal(cpu.capability[9], 0xf1bf07ab, 'leaf 7 still read (level 0xb >= 7)');
  t.ok(hasFeature(cpu.capability, featureIndex('rep_good')), 'family 6: rep_good');
  const via = { '0:0': { ebx: 0x746e6543, edx: 0x48727561, ecx: 0x736c7561 } };
  t.throws(() => readCpuFeatures(recordedReader(AMD_EPYC_LEAVES, via)), /unsupported CPU vendor 'CentaurHauls'/);
});

t.test('XSAVE components whose CPUID feature is off are dropped', async (t) => {
  const noAvx512 = { '7:0': { ebx: 0xf1bf07ab & ~(1 << 16) } };
  t.equal(readCpuFeatures(recordedReader(AMD_EPYC_LEAVES, noAvx512)).xfeaturesMask, 0x07n);
});

t.test('the native library: real leaves, and a clear error when it is missing', async (t) => {
  const cpu = readCpuFeatures(nativeCpuidReader(DEFAULT_CPUID_LIBRARY));
  t.ok(hasFeature(cpu.capability, featureIndex('fpu')) && hasFeature(cpu.capability, featureIndex('sse2')), 'this x86-64 CPU has fpu and sse2');
  t.equal(featureName(featureIndex('avx2')), 'avx2');
  t.equal(featureName(2 * 32 + 5), 'word 2 bit 5');
  const [leaf0, leaf1] = nativeCpuidReader()([{ leaf: 0, subleaf: 0 }, { leaf: 1, subleaf: 0 }]);
  const vendor = Buffer.alloc(12);
  vendor.writeUInt32LE(leaf0!.ebx, 0);
  vendor.writeUInt32LE(leaf0!.edx, 4);
  vendor.writeUInt32LE(leaf0!.ecx, 8);
  t.match(vendor.toString('latin1'), /^(GenuineIntel|AuthenticAMD|HygonGenuine)$/, 'leaf 0 names the vendor');
  t.ok(leaf0!.eax >= 0xd, 'the highest basic leaf includes the XSAVE leaf');
  t.equal((leaf1!.edx >>> 0) & 1, 1, 'leaf 1: edx bit 0 is fpu');
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-cpuid-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, 'libcriu-cpuid.so');
  const error = t.throws(() => nativeCpuidReader(missing)([{ leaf: 0, subleaf: 0 }])) as CriuError;
  t.match(error, { code: 'ENOCPUID', hint: /make -C native/, message: /libcriu-cpuid\.so is missing/ });
});
