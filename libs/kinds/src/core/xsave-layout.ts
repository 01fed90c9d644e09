// Where the XSAVE components of this CPU sit: CPUID leaf 0xd sub-leaf 0
// names the components the processor supports (eax, edx), sub-leaf N gives
// component N's size (eax) and offset in the uncompacted format that
// NT_X86_XSTATE uses (ebx). As upstream's compel, the image holds every
// supported component of the table in x86-fpu.ts. Probed once per dump
// (DumpContext.shared, before the freeze) through the native cpuid library.
import { CriuError } from '@criu-ts/base';
import { nativeCpuidReader, type CpuidReader } from '@criu-ts/cpuinfo';
import { XFEATURES, type XsaveLayout } from './x86-fpu.js';

/** The layout of the table's components this CPU supports (see the file comment). */
export function probeXsaveLayout(reader: CpuidReader = nativeCpuidReader()): XsaveLayout {
  // one helper run for sub-leaf 0 and every component's (a sub-leaf of an unsupported one is just zeros)
  const [leaf0, ...answers] = reader([{ leaf: 0xd, subleaf: 0 }, ...XFEATURES.map((f) => ({ leaf: 0xd, subleaf: f.bit }))]);
  const supported = BigInt(leaf0!.eax >>> 0) | (BigInt(leaf0!.edx >>> 0) << 32n);
  const layout = new Map<number, number>();
  XFEATURES.forEach((feature, i) => {
    if ((supported & (1n << BigInt(feature.bit))) === 0n) return;
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
