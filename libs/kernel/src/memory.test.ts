import t from 'tap';
import { deadPid, seizeAndStop, startTarget } from '../test/target.js';
import { IOV_MAX, openTaskMemory, processVmReadv, processVmWritev, readTaskMemory, writeTaskMemory } from './index.js';

/** The fixture's buffer content at offset i. */
const patternAt = (i: number): number => (i * 7 + 3) & 0xff;

/** 2 * IOV_MAX + 5 ranges of 17 bytes, 40 bytes apart: more than one call's worth. */
function scatteredRanges(base: bigint): { addr: bigint; len: number }[] {
  return Array.from({ length: 2 * IOV_MAX + 5 }, (_, i) => ({ addr: base + BigInt(i * 40), len: 17 }));
}

t.test('processVmReadv moves many iovecs into differently cut local buffers', async (t) => {
  const target = startTarget(t);
  const remote = scatteredRanges(target.state.buf);
  const total = remote.length * 17;
  // one big backing buffer cut in uneven slices, plus a separate buffer
  const backing = Buffer.alloc(total - 1000);
  const local = [backing.subarray(0, 333), backing.subarray(333), Buffer.alloc(1000)];
  t.equal(processVmReadv(target.pid, local, remote), total);
  const got = Buffer.concat(local);
  const want = Buffer.from(remote.flatMap((_, i) => Array.from({ length: 17 }, (_, j) => patternAt(i * 40 + j))));
  t.ok(got.equals(want), 'every byte came from its range, in order');
});

t.test('processVmWritev writes many ranges; a bad range ends the transfer', async (t) => {
  const target = startTarget(t);
  const remote = scatteredRanges(target.state.buf);
  const data = Buffer.alloc(remote.length * 17, 0xab);
  t.equal(processVmWritev(target.pid, [data], remote), data.length);
  const check = Buffer.alloc(remote.length * 40);
  t.equal(readTaskMemory(target.pid, target.state.buf, check), check.length);
  t.equal(check[0], 0xab);
  t.equal(check[16], 0xab);
  t.equal(check[17], patternAt(17), 'the gap between ranges is untouched');
  t.equal(check[(remote.length - 1) * 40 + 16], 0xab, 'the last range was written');

  const partial = [{ addr: target.state.buf, len: 100 }, { addr: 0x1000n, len: 100 }, { addr: target.state.buf, len: 100 }];
  t.equal(processVmReadv(target.pid, [Buffer.alloc(300)], partial), 100, 'stops at the unmapped range');
  t.throws(() => processVmReadv(target.pid, [Buffer.alloc(8)], [{ addr: 0x1000n, len: 8 }]), { code: 'EFAULT', syscall: 'process_vm_readv' });
  t.throws(() => processVmReadv(deadPid(), [Buffer.alloc(8)], [{ addr: 0x1000n, len: 8 }]), { code: 'ESRCH' });
});

t.test('/proc/PID/mem reaches read-only mappings of a stopped task', async (t) => {
  const target = startTarget(t);
  seizeAndStop(target.pid);
  const ro = Buffer.alloc(4096);
  t.equal(readTaskMemory(target.pid, target.state.ro, ro), 4096);
  t.ok(ro.equals(Buffer.alloc(4096, 'R')));
  t.throws(() => processVmWritev(target.pid, [Buffer.from('W')], [{ addr: target.state.ro, len: 1 }]), { code: 'EFAULT' }, 'process_vm_writev cannot');
  t.equal(writeTaskMemory(target.pid, target.state.ro + 10n, Buffer.from('written')), 7);

  const mem = openTaskMemory(target.pid);
  t.teardown(() => mem.close());
  const back = Buffer.alloc(7);
  t.equal(mem.read(target.state.ro + 10n, back), 7);
  t.equal(back.toString(), 'written');
  const end = target.state.buf + BigInt(target.state.len);
  const straddle = Buffer.alloc(8192);
  const got = mem.read(end - 4096n, straddle);
  t.ok(got >= 4096, `a read running past the mapping returns what it could (${got})`);
  t.throws(() => mem.read(0x1000n, Buffer.alloc(8)), { code: 'EIO', syscall: 'pread(/proc/PID/mem)', pid: target.pid });
});
