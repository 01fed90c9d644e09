// Where the XSAVE components of this CPU sit: CPUID leaf 0xd, sub-leaf N
// gives component N's size (eax) and offset in the uncompacted format (ebx).
// Only the components the kernel enabled (the regset's xfeatures) are
// probed, once per dump (DumpContext.shared). The YMM offset is
// architectural, so a CPU with nothing beyond AVX needs no CPUID run.
import { CriuError } from '@criu-ts/base';
import { nativeCpuidReader, type CpuidReader } from '@criu-ts/cpuinfo';
import { XFEATURES, type XsaveLayout } from './x86-fpu.js';

const YMM_BIT = 2;
const YMM_OFFSET = 576;

/** The layout of the components enabled in `xfeatures`, from CPUID (see the file comment). */
export function probeXsaveLayout(xfeatures: bigint, reader: CpuidReader = nativeCpuidReader()): XsaveLayout {
  const enabled = XFEATURES.filter((f) => (xfeatures & (1n << BigInt(f.bit))) !== 0n);
  const layout = new Map<number, number>();
  const needCpuid = enabled.filter((f) => f.bit !== YMM_BIT);
  if (enabled.some((f) => f.bit === YMM_BIT)) layout.set(YMM_BIT, YMM_OFFSET);
  if (needCpuid.length === 0) return layout;
  const answers = reader(needCpuid.map((f) => ({ leaf: 0xd, subleaf: f.bit })));
  needCpuid.forEach((feature, i) => {
    const regs = answers[i]!;
    if (regs.eax >>> 0 !== feature.size) {
      throw new CriuError(`XSAVE component ${feature.field} (bit ${feature.bit}) is ${regs.eax >>> 0} bytes on this CPU, the image format holds ${feature.size}`, {
        code: 'EXSAVE',
      });
    }
    layout.set(feature.bit, regs.ebx >>> 0);
  });
  return layout;
}
