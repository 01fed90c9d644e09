import t from 'tap';
import protobuf from 'protobufjs';
import { messageType, messageTypeNames } from './schema.js';
import { hasWireType, prepareWireType, wireType, wireTypeNames, type WireType } from './wire-types.js';
import { decodeMessage, encodeMessage } from './wire.js';

t.test('the wire table says what protobufjs reflection of the same bundle says, for every type', async (t) => {
  for (const name of wireTypeNames()) {
    const type = messageType(name);
    const expected = [...type.fieldsArray].sort((a, b) => a.id - b.id).map((field) => {
      const resolved = field.resolve().resolvedType;
      return {
        id: field.id, name: field.name, required: field.required, repeated: field.repeated,
        kind: resolved instanceof protobuf.Type ? 'message' : resolved instanceof protobuf.Enum ? 'enum' : field.type,
        typeName: resolved === null ? undefined : resolved.fullName.slice(1),
      };
    });
    const got = wireType(name).wireFields.map((f) => ({ id: f.id, name: f.name, required: f.required, repeated: f.repeated, kind: f.kind, typeName: f.typeName }));
    t.same(got, expected, name);
  }
  t.same(messageTypeNames(), wireTypeNames(), 'one list of type names');
});

t.test('an unknown type is a typed error; every reference resolves', async (t) => {
  t.throws(() => wireType('no_such_entry'), { name: 'CriuError', code: 'ENOSCHEMA', message: /no message type no_such_entry/ });
  t.notOk(hasWireType('no_such_entry'));
  t.notOk(hasWireType('toString'), 'not fooled by Object.prototype');
  const done = new Set<WireType>();
  for (const name of wireTypeNames()) prepareWireType(wireType(name), done);
  t.equal(done.size, wireTypeNames().length, 'every type reached');
});

t.test('a type is named by descriptor, name or protobufjs Type alike', async (t) => {
  const message = { vaddr: 0x7fff0000n, compat_nr_pages: 3, flags: 4 };
  const bytes = encodeMessage('pagemap_entry', message);
  t.same(encodeMessage(wireType('pagemap_entry'), message), bytes);
  t.same(encodeMessage(messageType('pagemap_entry'), message), bytes);
  t.strictSame(decodeMessage(messageType('pagemap_entry'), bytes), message);
});

/** A made-up type with packed fields (CRIU's protos have none): the codec writes them as protobufjs does. */
const packedJson = {
  nested: {
    e: { values: { A: 0, B: 1, C: -2 } },
    packed_entry: {
      fields: {
        words: { rule: 'repeated', type: 'uint32', id: 1, options: { packed: true } },
        longs: { rule: 'repeated', type: 'sint64', id: 2, options: { packed: true } },
        kinds: { rule: 'repeated', type: 'e', id: 3, options: { packed: true } },
      },
    },
  },
};

t.test('packed fields are written packed and read either way', async (t) => {
  const root = protobuf.Root.fromJSON(packedJson);
  const reference = root.lookupType('packed_entry');
  const field = (id: number, name: string, kind: 'uint32' | 'sint64' | 'enum', typeName?: string) => ({
    id, name, kind, fullName: `packed_entry.${name}`, wire: 0, tag: (id << 3) >>> 0, required: false, repeated: true, packed: true,
    typeName, resolvedMessage: undefined, resolvedEnum: kind === 'enum' ? new Set([0, 1, -2]) : undefined,
  });
  const fields = [field(1, 'words', 'uint32'), field(2, 'longs', 'sint64'), field(3, 'kinds', 'enum', 'e')];
  const type: WireType = { name: 'packed_entry', wireFields: fields, byId: [undefined, ...fields] };
  const message = { words: [1, 300, 0xffffffff], longs: [-1n, 1n << 60n, -(1n << 62n)], kinds: [1, -2, 0] };
  const bytes = encodeMessage(type, message);
  const expected = reference.encode(reference.fromObject({ ...message, longs: message.longs.map(String) })).finish();
  t.same(bytes, Buffer.from(expected), 'the same bytes as Type.encode');
  t.strictSame(decodeMessage(type, bytes), message, 'packed bytes decode');
  t.same(encodeMessage(type, { words: [] }), Buffer.alloc(0), 'an empty packed field is not written');
});

t.test('hostile bytes are refused with an Error saying what, never read past the end', async (t) => {
  const type = 'pagemap_entry';
  const cases: [string, number[], RegExp][] = [
    ['a varint cut short', [0x08, 0xff], /index out of range/],
    ['a varint of eleven bytes', [0x08, ...Array(10).fill(0xff), 0x01], /invalid varint encoding/],
    ['a length past the end', [0x32, 0xff, 0xff, 0xff, 0xff, 0x0f], /index out of range/],
    ['a fixed64 cut short', [0x31, 1, 2, 3], /index out of range/],
    ['wire type 7', [0x7f], /invalid wire type 7/],
    ['an end-group tag alone', [0x7c], /invalid wire type 4/],
    ['groups nested without end', Array(200).fill(0x7b), /groups nested over 64 deep/],
    ['required fields missing', [], /missing required 'vaddr'/],
  ];
  for (const [what, bytes, message] of cases) t.throws(() => decodeMessage(type, Buffer.from(bytes)), { message }, what);
  const fpregs = encodeMessage('user_x86_fpregs_entry', { cwd: 1, swd: 2, twd: 3, fop: 4, rip: 5n, rdp: 6n, mxcsr: 7, mxcsr_mask: 8 });
  const xsave = (length: number): Buffer => Buffer.concat([fpregs, Buffer.from([0x6a, length, 0x08, 0x01])]);
  t.throws(() => decodeMessage('user_x86_fpregs_entry', xsave(5)), { message: /index out of range/ }, 'a sub-message longer than the bytes');
  t.throws(() => decodeMessage('user_x86_fpregs_entry', xsave(1)), { message: /user_x86_xsave_entry: a field runs past the message's end/ }, 'a field across a sub-message\'s end');
  t.strictSame(decodeMessage('user_x86_fpregs_entry', xsave(2)).xsave, { xstate_bv: 1n }, 'the same bytes, well framed');
});
