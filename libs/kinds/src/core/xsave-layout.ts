// Where the XSAVE components of this CPU sit: CPUID leaf 0xd sub-leaf 0
// names the components the processor supports (eax, edx), sub-leaf N gives
// component N's size (eax) and offset in the uncompacted format that
// NT_X86_XSTATE uses (ebx). As upstream's compel, the image holds every
// supported component of the table in x86-fpu.ts. Probed once per dump
// (DumpContext.shared) through the native cpuid helper.
import { CriuError } from '@criu-ts/base';
import { nativeCpuidReader, type CpuidReader } from '@criu-ts/cpuinfo';
import { XFEATURES, type XsaveLayout } from './x86-fpu.js';

/** The layout of the table's components this CPU supports (see the file comment). */
export function probeXsaveLayout(reader: CpuidReader = nativeCpuidReader()): XsaveLayout {
  const [leaf0] = reader([{ leaf: 0xd, subleaf: 0 }]);
  const supported = BigInt(leaf0!.eax >>> 0) | (BigInt(leaf0!.edx >>> 0) << 32n);
  const enabled = XFEATURES.filter((f) => (supported & (1n << BigInt(f.bit))) !== 0n);
  const answers = enabled.length === 0 ? [] : reader(enabled.map((f) => ({ leaf: 0xd, subleaf: f.bit })));
  const layout = new Map<number, number>();
  enabled.forEach((feature, i) => {
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
