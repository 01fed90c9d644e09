import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import {
  CLONE, KCMP, PR, PR_SET_MM, PTRACE, PTRACE_EVENT, PTRACE_O, SYS, X86_REG_NAMES, regsFromBuffer, regsToBuffer, signed64,
  ptraceEventOf, syscallName, wexitstatus, wifexited, wifsignaled, wifstopped, wstopsig, wtermsig,
} from './index.js';

/** `#define PREFIXname value` lines of a system header. */
function defines(path: string, prefix: string): Map<string, bigint> {
  const found = new Map<string, bigint>();
  const re = new RegExp(`^#\\s*define\\s+${prefix}(\\w+)\\s+\\(?(0x[0-9a-fA-F]+|\\d+)(?:ULL|UL|U)?\\)?\\s*(?:/\\*.*)?$`, 'gm');
  for (const m of readFileSync(path, 'utf8').matchAll(re)) found.set(m[1]!, BigInt(m[2]!));
  return found;
}

/** Names of `table` whose value differs from the header's, and how many were compared. */
function compare(table: Record<string, number | bigint>, header: Map<string, bigint>): { wrong: string[]; checked: number } {
  const wrong: string[] = [];
  let checked = 0;
  for (const [name, value] of Object.entries(table)) {
    const expected = header.get(name);
    if (expected === undefined) continue; // newer than the installed header
    if (BigInt(value) !== expected) wrong.push(`${name}: ${value} != ${expected}`);
    checked += 1;
  }
  return { wrong, checked };
}

const HEADERS = '/usr/include';
const haveHeaders = existsSync(`${HEADERS}/linux/ptrace.h`) && existsSync(`${HEADERS}/x86_64-linux-gnu/asm/unistd_64.h`);

t.test('syscall numbers match <asm/unistd_64.h>', { skip: !haveHeaders && 'kernel headers not installed' }, async (t) => {
  const { wrong, checked } = compare(SYS, defines(`${HEADERS}/x86_64-linux-gnu/asm/unistd_64.h`, '__NR_'));
  t.same(wrong, []);
  t.ok(checked >= 250, `${checked} numbers checked`);
  t.equal(syscallName(SYS.process_vm_readv), 'process_vm_readv');
  t.equal(syscallName(4095), 'syscall(4095)');
});

t.test('ptrace, prctl, clone and kcmp constants match the uapi headers', { skip: !haveHeaders && 'kernel headers not installed' }, async (t) => {
  const tables = [
    [PTRACE, 'linux/ptrace.h', 'PTRACE_', 25],
    [PTRACE_EVENT, 'linux/ptrace.h', 'PTRACE_EVENT_', 8],
    [PR, 'linux/prctl.h', 'PR_', 35],
    [PR_SET_MM, 'linux/prctl.h', 'PR_SET_MM_', 15],
    [CLONE, 'linux/sched.h', 'CLONE_', 25],
  ] as const;
  for (const [table, header, prefix, min] of tables) {
    const { wrong, checked } = compare(table, defines(`${HEADERS}/${header}`, prefix));
    t.same(wrong, [], `${prefix}* match ${header}`);
    t.ok(checked >= min, `${checked} ${prefix}* names checked`);
  }
  // the header spells the option bits as 1 << PTRACE_EVENT_x
  for (const name of ['FORK', 'VFORK', 'CLONE', 'EXEC', 'VFORK_DONE', 'EXIT', 'SECCOMP'] as const) {
    t.equal(PTRACE_O[`TRACE${name.replace('_', '')}` as keyof typeof PTRACE_O], 1 << PTRACE_EVENT[name], `PTRACE_O_TRACE${name}`);
  }
  const order = [...readFileSync(`${HEADERS}/linux/kcmp.h`, 'utf8').matchAll(/KCMP_(\w+),/g)].map((m) => m[1]);
  t.same(Object.keys(KCMP), order.slice(0, Object.keys(KCMP).length), 'kcmp enum order');
});

t.test('registers survive a buffer round trip in kernel order', async (t) => {
  const buf = Buffer.alloc(216);
  X86_REG_NAMES.forEach((_, i) => buf.writeBigUInt64LE(BigInt(i + 1) * 0x0101010101010101n, i * 8));
  const regs = regsFromBuffer(buf);
  t.equal(regs.r15, 0x0101010101010101n);
  t.equal(regs.orig_rax, 16n * 0x0101010101010101n);
  t.equal(regs.gs, 27n * 0x0101010101010101n);
  t.ok(regsToBuffer(regs).equals(buf));
  t.ok(regsToBuffer({ ...regs, rax: -516n }).subarray(80, 88).equals(Buffer.from('fcfdffffffffffff', 'hex')), 'signed values are stored as u64');
  t.equal(signed64(0xfffffffffffffdfcn), -516n);
  t.throws(() => regsFromBuffer(Buffer.alloc(100)), RangeError);
});

t.test('wait status decoders', async (t) => {
  const exited = 3 << 8;
  t.ok(wifexited(exited));
  t.equal(wexitstatus(exited), 3);
  t.notOk(wifsignaled(exited));
  const killed = 9;
  t.ok(wifsignaled(killed));
  t.equal(wtermsig(killed), 9);
  t.notOk(wifexited(killed));
  const eventStop = (128 << 16) | (5 << 8) | 0x7f;
  t.ok(wifstopped(eventStop));
  t.notOk(wifsignaled(eventStop));
  t.equal(wstopsig(eventStop), 5);
  t.equal(ptraceEventOf(eventStop), 128);
});
