import t from 'tap';
import { messageType, messageTypeNames } from './schema.js';
import { decodeMessage, encodeMessage } from './wire.js';
import { sampleMessage } from './sample-message.js';

const names = messageTypeNames();

t.test('the schema bundle has the messages of proto/', async (t) => {
  t.ok(names.length > 0, `${names.length} message types`);
  t.ok(names.includes('pagemap_entry'));
});

t.test('every message type round-trips with every field set', async (t) => {
  for (const name of names) {
    for (const seed of [0, 1]) {
      const message = sampleMessage(name, seed);
      const back = decodeMessage(messageType(name), encodeMessage(messageType(name), message));
      t.strictSame(back, message, `${name} seed ${seed}`);
    }
  }
});

t.test('64-bit fields keep every bit', async (t) => {
  const type = messageType('pagemap_entry');
  const top = (1n << 64n) - 1n;
  const back = decodeMessage(type, encodeMessage(type, { vaddr: top, compat_nr_pages: 0xffffffff, nr_pages: (1n << 53n) + 1n }));
  t.equal(back.vaddr, top);
  t.equal(back.nr_pages, (1n << 53n) + 1n);
  t.equal(back.compat_nr_pages, 0xffffffff);
});

t.test('bad input to the encoder is refused, naming the field', async (t) => {
  const type = messageType('pagemap_entry');
  t.throws(() => encodeMessage(type, { compat_nr_pages: 1 }), /pagemap_entry: required field vaddr is missing/);
  t.throws(() => encodeMessage(type, { vaddr: -1n, compat_nr_pages: 1 }), /vaddr: -1 is not a uint64/);
  t.throws(() => encodeMessage(type, { vaddr: 2 ** 60, compat_nr_pages: 1 }), /is not a uint64/);
  t.equal(decodeMessage(type, encodeMessage(type, { vaddr: 4096, compat_nr_pages: 1 })).vaddr, 4096n, 'safe numbers are accepted');
});

/** Our message in the form protobufjs' fromObject takes (64-bit values as decimal strings). */
function forProtobufjs(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(forProtobufjs);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, forProtobufjs(v)]));
  return value;
}

t.test('the bytes are protobufjs\' own, and protobufjs\' bytes decode the same', async (t) => {
  for (const name of names) {
    const type = messageType(name);
    for (const seed of [0, 1]) {
      const message = sampleMessage(name, seed);
      const reference = Buffer.from(type.encode(type.fromObject(forProtobufjs(message) as Record<string, unknown>)).finish());
      t.same(encodeMessage(type, message), reference, `${name} seed ${seed}: the same bytes as Type.encode`);
      t.strictSame(decodeMessage(type, reference), message, `${name} seed ${seed}: Type.encode's bytes decode to the message`);
    }
  }
});

t.test('a wrong type is refused, naming the field', async (t) => {
  const type = messageType('pagemap_entry');
  t.throws(() => encodeMessage(type, { vaddr: 1n, compat_nr_pages: 'x' }), /pagemap_entry: compat_nr_pages: integer expected/);
  t.throws(() => encodeMessage(messageType('fown_entry'), { uid: 0, euid: 0, signum: 0, pid_type: 0, pid: 1.5 }), /fown_entry: pid: integer expected/);
});
