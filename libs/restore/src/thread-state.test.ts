import t from 'tap';
import { ERESTART, SYS } from '@criu-ts/kernel';
import { fpuAreaFor, fxsaveArea, withSyscallRestart, xstateFrom } from './thread-state.js';

const zero = {
  r15: 0n, r14: 0n, r13: 0n, r12: 0n, rbp: 0n, rbx: 0n, r11: 0n, r10: 0n, r9: 0n, r8: 0n, rax: 0n, rcx: 0n, rdx: 0n,
  rsi: 0n, rdi: 0n, orig_rax: 0n, rip: 0n, cs: 0x33n, eflags: 0x246n, rsp: 0n, ss: 0x2bn, fs_base: 0n, gs_base: 0n,
  ds: 0n, es: 0n, fs: 0n, gs: 0n,
};
const neg = (n: number): bigint => BigInt.asUintN(64, BigInt(-n));
const NO_SYSCALL = BigInt.asUintN(64, -1n);

t.test('interrupted syscalls restart as the kernel would, then orig_rax is -1', (t) => {
  for (const code of [ERESTART.SYS, ERESTART.NOINTR, ERESTART.NOHAND]) {
    const out = withSyscallRestart({ ...zero, orig_rax: BigInt(SYS.pause), rax: neg(code), rip: 0x1002n });
    t.same([out.rip, out.rax, out.orig_rax], [0x1000n, BigInt(SYS.pause), NO_SYSCALL], `-${code}`);
  }
  const block = withSyscallRestart({ ...zero, orig_rax: BigInt(SYS.clock_nanosleep), rax: neg(ERESTART.RESTARTBLOCK), rip: 0x1002n });
  t.same([block.rip, block.rax], [0x1002n, neg(4)], 'restart_block: -EINTR, rip kept');
  const done = withSyscallRestart({ ...zero, orig_rax: BigInt(SYS.read), rax: 5n, rip: 0x1002n });
  t.same([done.rip, done.rax, done.orig_rax], [0x1002n, 5n, NO_SYSCALL], 'a finished syscall is left alone');
  const upstream = withSyscallRestart({ ...zero, orig_rax: BigInt(SYS.pause), rax: BigInt(SYS.pause), rip: 0x1000n });
  t.same([upstream.rip, upstream.rax], [0x1000n, BigInt(SYS.pause)], 'already adjusted (upstream images): unchanged');
  const user = withSyscallRestart({ ...zero, orig_rax: NO_SYSCALL, rax: neg(ERESTART.SYS), rip: 0x1002n });
  t.same([user.rip, user.rax], [0x1002n, neg(ERESTART.SYS)], 'not in a syscall: unchanged');
  t.end();
});

const fp = {
  cwd: 0x37f, swd: 0x1234, twd: 0xff, fop: 7, rip: 0x1122334455n, rdp: 0x66n, mxcsr: 0x1f80, mxcsr_mask: 0xffff,
  st_space: Array.from({ length: 32 }, (_, i) => i + 1), xmm_space: Array.from({ length: 64 }, (_, i) => 0x100 + i),
  padding: Array.from({ length: 24 }, () => 0),
};

t.test('the FXSAVE area is laid out as struct user_fpregs_struct', (t) => {
  const fx = fxsaveArea(fp);
  t.equal(fx.length, 512);
  t.same([fx.readUInt16LE(0), fx.readUInt16LE(2), fx.readUInt16LE(4), fx.readUInt16LE(6)], [0x37f, 0x1234, 0xff, 7]);
  t.equal(fx.readBigUInt64LE(8), 0x1122334455n);
  t.equal(fx.readUInt32LE(24), 0x1f80);
  t.equal(fx.readUInt32LE(32), 1, 'st_space at 32');
  t.equal(fx.readUInt32LE(160), 0x100, 'xmm_space at 160');
  t.equal(fx.readUInt32LE(160 + 63 * 4), 0x100 + 63);
  t.throws(() => fxsaveArea({ ...fp, xmm_space: Array.from({ length: 65 }, () => 0) }), /xmm_space has 65 words/);
  t.end();
});

t.test('xstate: legacy area, the header\'s x87|SSE|AVX bits and the AVX upper halves', (t) => {
  const current = Buffer.alloc(1024, 0xaa);
  const ymmh = Array.from({ length: 64 }, (_, i) => i);
  const x = xstateFrom(current, { ...fp, xsave: { xstate_bv: 0x2e7n, ymmh_space: ymmh } }, new Map([[2, 576]]));
  t.equal(x.readUInt16LE(0), 0x37f);
  t.equal(x.readBigUInt64LE(512), 0x7n, 'only restored components are claimed');
  t.equal(x.readBigUInt64LE(520), 0n, 'standard format');
  t.equal(x.readUInt32LE(576 + 4 * 5), 5, 'ymmh at 576');
  t.equal(x.readUInt8(900), 0xaa, 'the rest is the thread\'s current state');
  t.end();
});

t.test('xstate: AVX-512 and PKRU at the CPU\'s offsets; a component this CPU lacks is refused', (t) => {
  const layout = new Map([[2, 576], [5, 1088], [6, 1152], [7, 1664], [9, 2688]]);
  const current = Buffer.alloc(2696, 0xaa);
  const xsave = {
    xstate_bv: 0x2e7n,
    ymmh_space: Array.from({ length: 64 }, () => 1),
    opmask_reg: Array.from({ length: 8 }, (_, i) => BigInt(i + 1)),
    zmm_upper: Array.from({ length: 64 }, (_, i) => BigInt(0x100 + i)),
    hi16_zmm: Array.from({ length: 128 }, (_, i) => BigInt(0x1000 + i)),
    pkru: [0x55555554, 0],
  };
  const x = xstateFrom(current, { ...fp, xsave }, layout);
  t.equal(x.readBigUInt64LE(512), 0x2e7n, 'x87|SSE|AVX|opmask|ZMM_Hi256|Hi16_ZMM|PKRU claimed');
  t.equal(x.readBigUInt64LE(1088 + 8 * 7), 8n, 'opmask k7');
  t.equal(x.readBigUInt64LE(1152), 0x100n, 'zmm_upper first word');
  t.equal(x.readBigUInt64LE(1664 + 8 * 127), 0x1000n + 127n, 'hi16_zmm last word');
  t.equal(x.readUInt32LE(2688), 0x55555554, 'pkru');
  t.throws(() => xstateFrom(current, { ...fp, xsave }, new Map([[2, 576]])), /opmask_reg \(bit 5\) that this CPU does not have/);
  t.throws(() => xstateFrom(current, { ...fp, xsave: { ...xsave, zmm_upper: [1n] } }, layout), /zmm_upper holds 8 bytes/);
  t.end();
});

t.test('fpregs that do not fit are an image error naming the thread\'s core image', (t) => {
  const layout = new Map([[2, 576], [5, 1088], [6, 1152], [7, 1664], [9, 2688]]);
  const current = Buffer.alloc(2696);
  t.throws(() => fpuAreaFor(42, { ...fp, xsave: { xstate_bv: 0x2e7n, zmm_upper: [1n] } }, layout, current), {
    name: 'ImageError', image: 'core-42.img', message: 'core-42.img at offset 0: thread 42: fpregs XSAVE zmm_upper holds 8 bytes, not 512',
  });
  t.throws(() => fpuAreaFor(43, { ...fp, st_space: Array.from({ length: 33 }, () => 0) }, layout), { name: 'ImageError', image: 'core-43.img', message: /st_space has 33 words/ });
  t.equal(fpuAreaFor(44, fp, layout).length, 512, 'a good FXSAVE area');
  t.end();
});
