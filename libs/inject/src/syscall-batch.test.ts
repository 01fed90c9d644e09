import t from 'tap';
import { readFileSync } from 'node:fs';
import { SYS, ptraceGetRegs, ptraceGetSigmask } from '@criu-ts/kernel';
import { seizeAndStop, startTarget } from '../test/target.js';
import { openInjector } from './index.js';
import { CALL_CODE_BYTES, MAX_CALL_CODE_BYTES, assembleBatch } from './syscall-batch.js';

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

t.test('result references: a call takes an earlier call\'s result as an argument', async (t) => {
  t.throws(() => assembleBatch([{ nr: 3, args: [{ result: 0 }] }], 0x1000n), RangeError, 'a call cannot refer to itself');
  t.throws(() => assembleBatch([{ nr: 39 }, { nr: 3, args: [{ result: 2 }] }], 0x1000n), RangeError, 'nor to a later call');
  const code = assembleBatch([{ nr: 39 }, { nr: 3, args: [{ result: 0 }] }], 0x1000n);
  t.ok(code.length <= 2 * MAX_CALL_CODE_BYTES + 1, 'within the most a call may take');
  t.same([...code.subarray(CALL_CODE_BYTES, CALL_CODE_BYTES + 2)], [0x48, 0xa1], 'the second call loads the first one\'s result');
  t.equal(code.readBigUInt64LE(CALL_CODE_BYTES + 2), 0x1000n, 'from its slot');

  const target = startTarget(t);
  seizeAndStop(target.pid);
  const injector = openInjector(target.pid);
  t.teardown(() => injector.release());
  const path = injector.scratch(64);
  path.write(Buffer.from('/proc/self/stat\0'));
  // openat, read through the fd it returned, close it, then a dup of it must fail: it is closed
  const buf = injector.scratch(4096);
  const results = injector.batch([
    { nr: SYS.openat, args: [-100, path.addr, 0, 0] },
    { nr: SYS.read, args: [{ result: 0 }, buf.addr, 4096] },
    { nr: SYS.close, args: [{ result: 0 }] },
    { nr: SYS.dup, args: [{ result: 0 }] },
  ]);
  t.ok(results[0]! >= 0n, `openat gave fd ${results[0]}`);
  t.ok(results[1]! > 0n, 'the read through it got bytes');
  t.match(buf.read(Number(results[1])).toString(), new RegExp(`^${target.pid} `), 'the task\'s own stat');
  t.equal(results[2], 0n, 'close of it');
  t.equal(results[3], -9n, 'and it is closed (EBADF)');
  t.end();
});

t.test('result references across the trips of a fixed batch area', async (t) => {
  const target = startTarget(t);
  seizeAndStop(target.pid);
  const owner = openInjector(target.pid);
  const area = owner.call('mmap', SYS.mmap, [0, 2 * 4096, 7, 0x22, -1, 0]);
  owner.release();
  // one page of code: 40 calls of at most MAX_CALL_CODE_BYTES a trip
  const injector = openInjector(target.pid, { batchArea: { code: area, codeSize: 4096, results: area + 4096n, resultsSize: 4096 } });
  t.teardown(() => injector.release());
  const calls = [{ nr: SYS.dup, args: [0] }, ...Array.from({ length: 99 }, () => ({ nr: SYS.fcntl, args: [{ result: 0 }, 1] })), { nr: SYS.close, args: [{ result: 0 }] }];
  const results = injector.batch(calls);
  t.ok(results[0]! > 2n, `dup gave fd ${results[0]}`);
  t.ok(results.slice(1, 100).every((r) => r === 0n), 'F_GETFD of that fd in every trip, 99 times');
  t.equal(results[100], 0n, 'and the last trip closes it');
  t.end();
});
