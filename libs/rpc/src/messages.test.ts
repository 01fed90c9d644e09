import t from 'tap';
import protobuf from 'protobufjs';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, MAX_ERRMSG, RpcError } from './messages.js';

t.test('a request round-trips with its options', async (t) => {
  const bytes = encodeRequest({ type: 'DUMP', opts: { images_dir_fd: 5, pid: 42, leave_running: true, external: ['tty[1:2]'] }, keep_open: false });
  const req = decodeRequest(bytes);
  t.equal(req.type, 'DUMP');
  t.same(req.opts, { images_dir_fd: 5, pid: 42, leave_running: true, external: ['tty[1:2]'] });
});

t.test('a response encodes what upstream sends; cr_errmsg is kept small', async (t) => {
  const resp = decodeResponse(encodeResponse({ type: 'RESTORE', success: true, restore: { pid: 7 } }));
  t.same(resp, { type: 'RESTORE', success: true, restore: { pid: 7 } });
  const long = decodeResponse(encodeResponse({ type: 'DUMP', success: false, cr_errmsg: 'x'.repeat(10_000) }));
  t.equal(long.cr_errmsg?.length, MAX_ERRMSG);
});

t.test('garbage, a missing type, and unknown fields are refused by name', async (t) => {
  t.throws(() => decodeRequest(Buffer.from([0xff, 0xff, 0xff, 0xff])), RpcError);
  t.throws(() => decodeRequest(Buffer.alloc(0)), /missing required 'type'/);
  // criu_opts field 200: a future option this criu does not know
  const writer = protobuf.Writer.create();
  writer.uint32((1 << 3) | 0).uint32(1);
  writer.uint32((2 << 3) | 2).fork().uint32((1 << 3) | 0).int32(-1).uint32((200 << 3) | 0).uint32(1).ldelim();
  t.throws(() => decodeRequest(writer.finish()), /criu_opts: field 200 is not known/);
  const top = protobuf.Writer.create().uint32((1 << 3) | 0).uint32(10).uint32((99 << 3) | 0).uint32(1).finish();
  t.throws(() => decodeRequest(top), /criu_req: field 99 is not known/);
});

t.test('an unknown request type is refused', async (t) => {
  const bytes = protobuf.Writer.create().uint32((1 << 3) | 0).uint32(77).finish();
  t.throws(() => decodeRequest(bytes), RpcError);
});
