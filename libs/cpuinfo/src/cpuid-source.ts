// Where CPUID values come from. JavaScript cannot execute the instruction,
// so the values come from native/cpuid (native/cpuid.c, built by
// `make -C native` at set-up): one process run answers every leaf we ask
// for. Tests pass their own CpuidReader with recorded values instead.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CriuError } from '@criu-ts/base';

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

/** native/build/cpuid of this checkout (libs/cpuinfo/dist → ../../../native/build). */
export const DEFAULT_CPUID_HELPER = fileURLToPath(new URL('../../../native/build/cpuid', import.meta.url));

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Parses the helper's lines "LEAF SUBLEAF EAX EBX ECX EDX" (hex). */
export function parseCpuidOutput(text: string, queries: readonly CpuidQuery[]): CpuidRegs[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length !== queries.length) {
    throw new CriuError(`cpuid helper answered ${lines.length} of ${queries.length} leaves`, { code: 'ECPUID' });
  }
  return lines.map((line, i) => {
    const words = line.trim().split(/\s+/).map((w) => Number.parseInt(w, 16));
    const query = queries[i]!;
    if (words.length !== 6 || words.some((w) => Number.isNaN(w)) || words[0] !== query.leaf || words[1] !== query.subleaf) {
      throw new CriuError(`cpuid helper: unexpected line '${line}' for leaf ${hex(query.leaf)}:${query.subleaf}`, { code: 'ECPUID' });
    }
    return { eax: words[2]!, ebx: words[3]!, ecx: words[4]!, edx: words[5]! };
  });
}

/** A CpuidReader running the native helper; fails clearly when it was not built. */
export function nativeCpuidReader(helper: string = DEFAULT_CPUID_HELPER): CpuidReader {
  return (queries) => {
    if (queries.length === 0) return [];
    try {
      accessSync(helper, constants.X_OK);
    } catch (error) {
      throw new CriuError(`the cpuid helper ${helper} is missing or not executable`, {
        code: 'ENOCPUID',
        hint: 'build the native helpers: make -C native (or npm run setup)',
        cause: error,
      });
    }
    const args = queries.map((q) => `${hex(q.leaf)}:${q.subleaf}`);
    const out = execFileSync(helper, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return parseCpuidOutput(out, queries);
  };
}
