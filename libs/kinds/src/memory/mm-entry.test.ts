// The saved auxv as upstream CRIU 4.2 writes it: pairs up to and including
// AT_NULL, at most AT_VECTOR_SIZE words (upstream's restore refuses more).
import t from 'tap';
import { AT_VECTOR_SIZE, auxvWords } from './mm-entry.js';

function auxv(pairs: [number, number][]): Buffer {
  const buf = Buffer.alloc(pairs.length * 16);
  pairs.forEach(([type, value], i) => {
    buf.writeBigUInt64LE(BigInt(type), i * 16);
    buf.writeBigUInt64LE(BigInt(value), i * 16 + 8);
  });
  return buf;
}

t.test('a short vector is kept up to and including its AT_NULL pair', (t) => {
  const words = auxvWords(auxv([[33, 0x7000], [6, 4096], [0, 0], [0, 0]]));
  t.same(words, [33n, 0x7000n, 6n, 4096n, 0n, 0n]);
  t.end();
});

t.test('a vector longer than AT_VECTOR_SIZE words is cut there, as upstream reads it', (t) => {
  // 23 pairs with AT_NULL, as /proc/PID/auxv shows on kernel 6.18
  const pairs: [number, number][] = Array.from({ length: 22 }, (_, i) => [i + 3, i * 10] as [number, number]);
  const words = auxvWords(auxv([...pairs, [0, 0]]));
  t.equal(AT_VECTOR_SIZE, 44);
  t.equal(words.length, 44, 'at most AT_VECTOR_SIZE words');
  t.same(words.slice(0, 4), [3n, 0n, 4n, 10n]);
  t.same(words.slice(-2), [24n, 210n], 'the last pair kept is the 22nd');
  t.end();
});

t.test('a trailing partial word or pair is dropped', (t) => {
  const buf = Buffer.concat([auxv([[6, 4096], [0, 0]]), Buffer.alloc(12, 0xff)]);
  t.same(auxvWords(buf), [6n, 4096n, 0n, 0n]);
  t.end();
});
