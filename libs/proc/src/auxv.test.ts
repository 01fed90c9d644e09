import t from 'tap';
import { AT, parseAuxv, readAuxv } from './auxv.js';
import { startSleep } from './live-task.fixture.js';

// captured on this machine: `od -A d -t x8 /proc/PID/auxv` of a C program
const CAPTURED: Array<[number, bigint]> = [
  [0x21, 0x7f76ff0a2000n], [0x33, 0xd30n], [0x10, 0x178bfbffn], [0x06, 0x1000n], [0x11, 0x64n],
  [0x03, 0x55ef164de040n], [0x04, 0x38n], [0x05, 0xdn], [0x07, 0x7f76ff0a4000n], [0x08, 0n],
  [0x09, 0x55ef164df1c0n], [0x0b, 0n], [0x0c, 0n], [0x0d, 0n], [0x0e, 0n], [0x17, 0n],
  [0x19, 0x7ffcd232f5f9n], [0x1a, 0x2n], [0x1f, 0x7ffcd232fff0n], [0x0f, 0x7ffcd232f609n],
  [0x1b, 0x1cn], [0x1c, 0x20n], [0, 0n],
];

function encode(pairs: Array<[number, bigint]>): Buffer {
  const buf = Buffer.alloc(pairs.length * 16);
  pairs.forEach(([type, value], i) => {
    buf.writeBigUInt64LE(BigInt(type), i * 16);
    buf.writeBigUInt64LE(value, i * 16 + 8);
  });
  return buf;
}

t.test('captured auxv: pairs up to AT_NULL', async (t) => {
  const auxv = parseAuxv(encode(CAPTURED));
  t.equal(auxv.length, CAPTURED.length - 1);
  t.same(auxv[0], { type: AT.SYSINFO_EHDR, value: 0x7f76ff0a2000n });
  t.equal(auxv.find((e) => e.type === AT.PAGESZ)?.value, 4096n);
  t.equal(auxv.find((e) => e.type === AT.ENTRY)?.value, 0x55ef164df1c0n);
  const trailing = Buffer.concat([encode(CAPTURED), Buffer.alloc(32)]);
  t.equal(parseAuxv(trailing).length, CAPTURED.length - 1, 'bytes after AT_NULL are ignored');
});

t.test('malformed auxv', async (t) => {
  t.throws(() => parseAuxv(Buffer.alloc(20), '/proc/5/auxv'), { code: 'EPROCFORMAT', message: /^\/proc\/5\/auxv: 20 bytes/ });
  t.throws(() => parseAuxv(encode(CAPTURED.slice(0, 3))), { message: /no AT_NULL entry/ });
});

t.test('live: a sleep\'s auxv has its vDSO and page size', async (t) => {
  const sleep = await startSleep(t);
  const auxv = readAuxv(sleep.pid);
  t.equal(auxv.find((e) => e.type === AT.PAGESZ)?.value, 4096n);
  t.ok(auxv.some((e) => e.type === AT.SYSINFO_EHDR && e.value > 0n), 'AT_SYSINFO_EHDR points at the vDSO');
});
