// Where the `syscall; int3` trampoline goes in a task.
//
// Default: the first bytes of the vDSO. They are the vDSO's ELF header
// ("\x7fELF..."), which no thread ever executes, so even a thread of the
// task that was not stopped cannot run into the trampoline; the vDSO is
// executable and private in every task the kernel starts; and it is not
// file-backed, so the copy-on-write our write causes turns no file page
// into an anonymous one (a dump's page set is unchanged; CRIU does not dump
// vDSO pages at all). Without a vDSO (a restore helper may have unmapped
// it) the start of a private executable mapping is used, preferring one at
// file offset 0 (an ELF header again). Shared mappings are never chosen:
// writing there would change the file.
import { readFileSync } from 'node:fs';
import { UnsupportedError } from '@criu-ts/base';

export interface TrampolineSite {
  addr: bigint;
  /** the maps line's name, for logs: '[vdso]', '/usr/bin/sleep' */
  mapping: string;
}

interface ExecMapping {
  start: bigint;
  offset: bigint;
  name: string;
}

function execMappings(maps: string): ExecMapping[] {
  const found: ExecMapping[] = [];
  for (const line of maps.split('\n')) {
    const m = /^([0-9a-f]+)-[0-9a-f]+ r-xp ([0-9a-f]+) \S+ \d+\s*(.*)$/.exec(line);
    if (m === null || m[3] === '[vsyscall]') continue;
    found.push({ start: BigInt(`0x${m[1]}`), offset: BigInt(`0x${m[2]}`), name: m[3] ?? '' });
  }
  return found;
}

/** Chooses the trampoline address of a task in /proc/PID/maps (see the file comment). */
export function findTrampolineSite(pid: number): TrampolineSite {
  return chooseTrampolineSite(readFileSync(`/proc/${pid}/maps`, 'utf8'), pid);
}

/** Chooses the trampoline address from the text of /proc/PID/maps. */
export function chooseTrampolineSite(maps: string, pid: number): TrampolineSite {
  const mappings = execMappings(maps);
  const chosen =
    mappings.find((m) => m.name === '[vdso]') ??
    mappings.find((m) => m.offset === 0n) ??
    mappings[0];
  if (chosen === undefined) {
    throw new UnsupportedError({ pid, kind: 'task without a private executable mapping (no place for the injection trampoline)' });
  }
  return { addr: chosen.start, mapping: chosen.name };
}
