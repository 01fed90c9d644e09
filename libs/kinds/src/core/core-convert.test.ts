import t from 'tap';
import { ERESTART, regsFromBuffer, unsigned64, type X86Regs } from '@criu-ts/kernel';
import { parseStatus, type PosixTimer } from '@criu-ts/proc';
import { capWords, credsEntry } from './creds.js';
import { NAMESPACE_ORDER, numberNamespaces } from './kobj-ids.js';
import { parseRseqCs, rseqDecision } from './rseq.js';
import { handledMasks, saEntries } from './sigactions.js';
import { plainSiginfo, queueEntry } from './signals.js';
import { ACTION_SIGNALS, KSIGACTION_SIZE } from './task-calls.js';
import { itimerEntries, posixTimerEntry, sigevNotify } from './timers.js';
import { fpregsFromXstate } from './x86-fpu.js';
import { gpregsEntry, resolveSyscallRestart, tlsEntries } from './x86-regs.js';
import { probeXsaveLayout } from './xsave-layout.js';

function regs(changes: Partial<X86Regs>): X86Regs {
  return { ...regsFromBuffer(Buffer.alloc(216)), rip: 0x401002n, ...changes };
}

t.test('syscall restart is resolved as upstream does', async (t) => {
  for (const code of [ERESTART.SYS, ERESTART.NOINTR, ERESTART.NOHAND]) {
    const r = resolveSyscallRestart(regs({ orig_rax: 34n, rax: unsigned64(-BigInt(code)) }));
    t.equal(r.rax, 34n, `-${code}: rax = orig_rax`);
    t.equal(r.rip, 0x401000n, `-${code}: rip back on the syscall instruction`);
  }
  const block = resolveSyscallRestart(regs({ orig_rax: 230n, rax: unsigned64(-BigInt(ERESTART.RESTARTBLOCK)) }));
  t.equal(block.rax, unsigned64(-4n), 'restart block: -EINTR');
  t.equal(block.rip, 0x401002n, 'restart block: rip kept');
  const plain = regs({ orig_rax: unsigned64(-1n), rax: unsigned64(-BigInt(ERESTART.SYS)) });
  t.same(resolveSyscallRestart(plain), plain, 'no syscall (orig_rax -1): untouched');
  const done = regs({ orig_rax: 0n, rax: 5n });
  t.same(resolveSyscallRestart(done), done, 'a finished syscall: untouched');
  const entry = gpregsEntry(regs({ orig_rax: 34n, rax: unsigned64(-514n), rbx: 7n, eflags: 0x246n, fs_base: 0x7f00n }));
  t.match(entry, { ax: 34n, orig_ax: 34n, ip: 0x401000n, bx: 7n, flags: 0x246n, fs_base: 0x7f00n, mode: 1 });
});

t.test('GDT TLS slots from NT_X86_TLS', async (t) => {
  const buf = Buffer.alloc(48);
  buf.writeUInt32LE(12, 0);
  buf.writeUInt32LE(0x28, 12); // read_exec_only | seg_not_present: an empty slot
  buf.writeUInt32LE(13, 16);
  buf.writeUInt32LE(0x1000, 20);
  buf.writeUInt32LE(0xfffff, 24);
  buf.writeUInt32LE(1 | (3 << 1) | 16 | 64, 28);
  buf.writeUInt32LE(14, 32);
  const tls = tlsEntries(buf);
  t.equal(tls.length, 3);
  t.match(tls[0], { entry_number: 12, read_exec_only: true, seg_not_present: true, seg_32bit: false });
  t.match(tls[1], { entry_number: 13, base_addr: 0x1000, limit: 0xfffff, seg_32bit: true, contents_h: true, contents_l: true, limit_in_pages: true, usable: true, seg_not_present: false });
  t.throws(() => tlsEntries(Buffer.alloc(10)), RangeError);
});

t.test('FPU and XSAVE components at their CPUID offsets', async (t) => {
  const x = Buffer.alloc(2432);
  x.writeUInt16LE(0x37f, 0);
  x.writeUInt16LE(0xff, 4);
  x.writeUInt32LE(0x1f80, 24);
  x.writeUInt32LE(0xffff, 28);
  x.writeUInt32LE(0xdeadbeef, 32 + 4 * 3);
  x.writeUInt32LE(0x11223344, 160);
  x.writeBigUInt64LE(0x7n, 512);
  x.writeUInt32LE(0xaabbccdd, 576 + 4);
  x.writeBigUInt64LE(0x55n, 832 + 8);
  x.writeBigUInt64LE(0x66n, 1408 + 8 * 127);
  const layout = new Map([[2, 576], [5, 832], [6, 896], [7, 1408]]);
  const f = fpregsFromXstate(x, layout);
  t.match(f, { cwd: 0x37f, twd: 0xff, mxcsr: 0x1f80, mxcsr_mask: 0xffff });
  t.equal(f.st_space?.length, 32);
  t.equal(f.st_space?.[3], 0xdeadbeef);
  t.equal(f.xmm_space?.length, 64);
  t.equal(f.xmm_space?.[0], 0x11223344);
  t.equal(f.xsave?.xstate_bv, 7n);
  t.equal(f.xsave?.ymmh_space?.length, 64);
  t.equal(f.xsave?.ymmh_space?.[1], 0xaabbccdd);
  t.equal(f.xsave?.opmask_reg?.[1], 0x55n);
  t.equal(f.xsave?.zmm_upper?.length, 64);
  t.equal(f.xsave?.hi16_zmm?.[127], 0x66n);
  t.equal(f.xsave?.pkru, undefined, 'PKRU not enabled: not saved');
  t.equal(f.xsave?.bndreg_state, undefined, 'no MPX: not saved');
  t.throws(() => fpregsFromXstate(x, new Map([[7, 2000]])), RangeError, 'a component past the area');
});

t.test('XSAVE layout from CPUID leaf 0xd', async (t) => {
  const table: Record<number, [number, number]> = { 0: [0x2e7, 0], 2: [256, 576], 5: [64, 832], 6: [512, 896], 7: [1024, 1408], 9: [8, 2688] };
  const asked: number[][] = [];
  const reader = (qs: readonly { leaf: number; subleaf: number }[]) => {
    asked.push(qs.map((q) => q.subleaf));
    // a sub-leaf of an unsupported component answers zeros
    return qs.map((q) => ({ eax: table[q.subleaf]?.[0] ?? 0, ebx: table[q.subleaf]?.[1] ?? 0, ecx: 0, edx: 0 }));
  };
  t.same([...probeXsaveLayout(reader)], [[2, 576], [5, 832], [6, 896], [7, 1408], [9, 2688]]);
  t.same(asked, [[0, 2, 3, 4, 5, 6, 7, 9]], 'one helper run: sub-leaf 0 and every component of the table');
  const x87only = (qs: readonly { leaf: number; subleaf: number }[]) => qs.map((q) => ({ eax: q.subleaf === 0 ? 0x3 : 0, ebx: 0, ecx: 0, edx: 0 }));
  t.same([...probeXsaveLayout(x87only)], [], 'x87/SSE only: nothing extended');
  const bad = (qs: readonly { leaf: number; subleaf: number }[]) => qs.map((q) => (q.subleaf === 0 ? { eax: 0x20, ebx: 0, ecx: 0, edx: 0 } : { eax: 128, ebx: 832, ecx: 0, edx: 0 }));
  t.throws(() => probeXsaveLayout(bad), { code: 'EXSAVE' });
});

t.test('sigactions: 62 entries in signal order, SigIgn/SigCgt', async (t) => {
  t.equal(ACTION_SIGNALS.length, 62);
  t.notOk(ACTION_SIGNALS.includes(9) || ACTION_SIGNALS.includes(19));
  const buf = Buffer.alloc(62 * KSIGACTION_SIZE);
  const at = (sig: number): number => ACTION_SIGNALS.indexOf(sig) * KSIGACTION_SIZE;
  buf.writeBigUInt64LE(0x401234n, at(10));
  buf.writeBigUInt64LE(0x14000004n, at(10) + 8);
  buf.writeBigUInt64LE(0x7f0000001000n, at(10) + 16);
  buf.writeBigUInt64LE(1n << 11n, at(10) + 24);
  buf.writeBigUInt64LE(1n, at(12));
  const sa = saEntries(buf);
  t.match(sa[ACTION_SIGNALS.indexOf(10)], { sigaction: 0x401234n, flags: 0x14000004n, restorer: 0x7f0000001000n, mask: 0x800n, compat_sigaction: false });
  t.same(handledMasks(sa), { ignored: 1n << 11n, caught: 1n << 9n });
  t.throws(() => saEntries(Buffer.alloc(32)), RangeError);
});

t.test('timers', async (t) => {
  const iv = Buffer.alloc(96);
  iv.writeBigUInt64LE(999n, 16);
  iv.writeBigUInt64LE(500000n, 24);
  iv.writeBigUInt64LE(7n, 32);
  const its = itimerEntries(iv);
  t.same(its.real, { isec: 0n, iusec: 0n, vsec: 999n, vusec: 500000n });
  t.equal(its.virt.isec, 7n);
  const timer: PosixTimer = { ID: 3, signal: 44, sigev_value: 0xabcdn, notify: 'signal', thread_id: false, notify_pid: 42, ClockID: 1 };
  const spec = Buffer.alloc(32);
  spec.writeBigUInt64LE(2n, 0);
  spec.writeBigUInt64LE(499n, 16);
  spec.writeBigUInt64LE(123n, 24);
  t.same(posixTimerEntry(timer, spec, 4), {
    it_id: 3, clock_id: 1, si_signo: 44, it_sigev_notify: 0, sival_ptr: 0xabcdn, overrun: 4, isec: 2n, insec: 0n, vsec: 499n, vnsec: 123n,
  });
  const byTid = posixTimerEntry({ ...timer, thread_id: true, notify_pid: 77 }, spec, 0);
  t.equal(byTid.it_sigev_notify, 4);
  t.equal(byTid.notify_thread_id, 77);
  t.equal(sigevNotify({ ...timer, notify: 'none' }), 1);
  t.equal(sigevNotify({ ...timer, notify: 'thread' }), 2);
});

t.test('creds from status', async (t) => {
  const status = parseStatus([
    'Name:\tx', 'State:\tS (sleeping)', 'Tgid:\t5', 'Pid:\t5', 'PPid:\t1', 'TracerPid:\t0',
    'Uid:\t1\t2\t3\t4', 'Gid:\t5\t6\t7\t8', 'Groups:\t10 20 ', 'Threads:\t1', 'SigQ:\t0/10',
    'SigPnd:\t0000000000000000', 'ShdPnd:\t0000000000000000', 'SigBlk:\t0000000000000000',
    'SigIgn:\t0000000000000000', 'SigCgt:\t0000000000000000', 'CapInh:\t0000000000000000',
    'CapPrm:\t000001fffeffffff', 'CapEff:\t000001fffeffffff', 'CapBnd:\t000001ffffffffff',
    'CapAmb:\t0000000000000001', 'NoNewPrivs:\t1', '',
  ].join('\n'));
  t.same(capWords(0x1fffeffffffn), [0xfeffffff, 0x1ff]);
  t.same(credsEntry(status, 0x2f), {
    uid: 1, euid: 2, suid: 3, fsuid: 4, gid: 5, egid: 6, sgid: 7, fsgid: 8,
    cap_inh: [0, 0], cap_prm: [0xfeffffff, 0x1ff], cap_eff: [0xfeffffff, 0x1ff], cap_bnd: [0xffffffff, 0x1ff],
    secbits: 0x2f, groups: [10, 20], no_new_privs: 1, cap_amb: [1, 0],
  });
});

t.test('namespace ids: one counter, upstream order, shared inodes share ids', async (t) => {
  const table = { namespaces: new Map<string, number>(), nextNsId: 1 };
  const inodes = { pid: 100, net: 101, ipc: 102, uts: 103, time: 104, mnt: 105, user: 106, cgroup: 107, pid_for_children: 100 };
  const ids = numberNamespaces(table, inodes);
  t.same(ids, { pid_ns_id: 1, net_ns_id: 2, ipc_ns_id: 3, uts_ns_id: 4, time_ns_id: 5, mnt_ns_id: 6, user_ns_id: 7, cgroup_ns_id: 8 });
  t.same(numberNamespaces(table, inodes), ids, 'same namespaces, same ids');
  const other = numberNamespaces(table, { ...inodes, net: 999 });
  t.equal(other.net_ns_id, 9, 'a new namespace takes the next id');
  const noTime = numberNamespaces(table, { ...inodes, time: 0 });
  t.notOk('time_ns_id' in noTime, 'an unsupported kind has no id');
  t.equal(NAMESPACE_ORDER.length, 8);
});

t.test('rseq: critical sections', async (t) => {
  const entry = { rseq_abi_pointer: 0x7000n, rseq_abi_size: 32, signature: 0x53053053 };
  const csBuf = Buffer.alloc(32);
  csBuf.writeBigUInt64LE(0x1000n, 8);
  csBuf.writeBigUInt64LE(0x20n, 16);
  csBuf.writeBigUInt64LE(0x2000n, 24);
  const cs = parseRseqCs(csBuf);
  t.same(rseqDecision(entry, 0n, 0, null, 0x1010n), { entry }, 'no section');
  t.same(rseqDecision(entry, 0x8000n, 0, cs, 0x1010n), { entry, abortIp: 0x2000n }, 'inside: abort handler');
  t.same(rseqDecision(entry, 0x8000n, 0, cs, 0x1020n), { entry }, 'past the commit: nothing');
  t.same(rseqDecision(entry, 0x8000n, 1, cs, 0x1010n), { entry: { ...entry, rseq_cs_pointer: 0x8000n } }, 'no-restart: keep the pointer');
  csBuf.writeUInt32LE(1, 0);
  t.throws(() => rseqDecision(entry, 0x8000n, 0, parseRseqCs(csBuf), 0x1010n), { code: 'ERSEQ' });
});

t.test('signal queues', async (t) => {
  const si = plainSiginfo(43);
  t.equal(si.length, 128);
  t.equal(si.readInt32LE(0), 43);
  t.equal(si.readInt32LE(8), 0, 'SI_USER');
  const q = queueEntry([si]);
  t.equal(q.signals?.length, 1);
  t.same(Buffer.from(q.signals![0]!.siginfo), si);
});
