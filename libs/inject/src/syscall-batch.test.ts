import t from 'tap';
import { readFileSync } from 'node:fs';
import { SYS, ptraceGetRegs, ptraceGetSigmask } from '@criu-ts/kernel';
import { seizeAndStop, startTarget } from '../test/target.js';
import { openInjector } from './index.js';
import { CALL_CODE_BYTES, assembleBatch } from './syscall-batch.js';

t.test('the assembled code: seven loads, syscall, store per call, then int3', async (t) => {
  const code = assembleBatch([{ nr: 39 }, { nr: 186, args: [1, 2n] }], 0x1000n);
  t.equal(code.length, 2 * CALL_CODE_BYTES + 1);
  t.same([...code.subarray(0, 2)], [0x48, 0xb8], 'mov rax, imm64 first');
  t.equal(code.readBigUInt64LE(2), 39n);
  t.same([...code.subarray(70, 72)], [0x0f, 0x05], 'then syscall');
  t.equal(code.readBigUInt64LE(74), 0x1000n, 'call 0 stores at results');
  t.equal(code.readBigUInt64LE(CALL_CODE_BYTES + 74), 0x1008n, 'call 1 stores 8 bytes further');
  t.equal(code[code.length - 1], 0xcc);
  t.throws(() => assembleBatch([{ nr: 0, args: [1, 2, 3, 4, 5, 6, 7] }], 0n), RangeError);
});

t.test('a batch runs every call in the task, in one trip', async (t) => {
  const target = startTarget(t);
  seizeAndStop(target.pid);
  const regs = ptraceGetRegs(target.pid);
  const mask = ptraceGetSigmask(target.pid);
  const injector = openInjector(target.pid);
  t.teardown(() => injector.release());
  const act = injector.scratch(64 * 32);
  const calls = Array.from({ length: 64 }, (_, i) => ({ nr: SYS.rt_sigaction, args: [i + 1, 0, act.addr + BigInt(i * 32), 8] }));
  const results = injector.batch([{ nr: SYS.getpid }, ...calls, { nr: SYS.close, args: [-1] }]);
  t.equal(results[0], BigInt(target.pid), 'getpid');
  t.equal(results[65], -9n, 'close(-1) gives -EBADF');
  const status = readFileSync(`/proc/${target.pid}/status`, 'utf8');
  const caught = BigInt(`0x${/^SigCgt:\s*([0-9a-f]+)/m.exec(status)![1]}`);
  const data = act.read(64 * 32);
  for (let sig = 1; sig <= 64; sig++) {
    const handler = data.readBigUInt64LE((sig - 1) * 32);
    const isCaught = handler > 1n;
    const ok = sig === 9 || sig === 19 || results[sig] === 0n;
    if (!ok || isCaught !== ((caught >> BigInt(sig - 1)) & 1n) === 1n) t.fail(`signal ${sig}: result ${results[sig]}, handler 0x${handler.toString(16)}`);
  }
  t.pass('rt_sigaction results agree with SigCgt');
  t.same(injector.batch([]), [], 'an empty batch does nothing');
  const big = injector.batch(Array.from({ length: 300 }, () => ({ nr: SYS.getpid })));
  t.ok(big.every((r) => r === BigInt(target.pid)), 'a batch larger than the first area grows it');
  injector.release();
  t.same(ptraceGetRegs(target.pid), regs, 'registers put back');
  t.equal(ptraceGetSigmask(target.pid), mask, 'signal mask put back');
});
