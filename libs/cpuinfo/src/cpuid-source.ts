// Where CPUID values come from. JavaScript cannot execute the instruction,
// so the values come from native/build/libcriu-cpuid.so (native/lib/
// criu-cpuid.c, built by `make -C native` at set-up), called in-process
// through ffi-rs: no helper process per dump or restore. Tests pass their
// own CpuidReader with recorded values instead.
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CriuError } from '@criu-ts/base';
import { callLibrary } from '@criu-ts/kernel';

export interface CpuidQuery {
  leaf: number;
  subleaf: number;
}

export interface CpuidRegs {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** Answers CPUID queries, one result per query, in order. */
export type CpuidReader = (queries: readonly CpuidQuery[]) => CpuidRegs[];

/** native/build/libcriu-cpuid.so of this checkout (libs/cpuinfo/dist → ../../../native/build). */
export const DEFAULT_CPUID_LIBRARY = fileURLToPath(new URL('../../../native/build/libcriu-cpuid.so', import.meta.url));

/** A CpuidReader executing CPUID through the native library; fails clearly when it was not built. */
export function nativeCpuidReader(library: string = DEFAULT_CPUID_LIBRARY): CpuidReader {
  return (queries) => {
    if (queries.length === 0) return [];
    try {
      accessSync(library, constants.R_OK);
    } catch (error) {
      throw new CriuError(`the cpuid library ${library} is missing`, {
        code: 'ENOCPUID',
        hint: 'build the native helpers: make -C native (or npm run setup)',
        cause: error,
      });
    }
    const regs = Buffer.alloc(16);
    return queries.map((query) => {
      callLibrary(library, 'criu_cpuid', [query.leaf, query.subleaf, regs]);
      return { eax: regs.readUInt32LE(0), ebx: regs.readUInt32LE(4), ecx: regs.readUInt32LE(8), edx: regs.readUInt32LE(12) };
    });
  };
}
