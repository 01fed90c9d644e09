import t from 'tap';
import { encodePacketDiagRequest, parsePacketDiag } from './packet-diag.js';

function attr(type: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(4 + data.length, 0);
  head.writeUInt16LE(type, 2);
  return Buffer.concat([head, data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
}
const words = (...w: number[]): Buffer => Buffer.from(new Uint32Array(w).buffer);

t.test('a packet_diag reply: message, info, memberships, rings, fanout', async (t) => {
  const msg = Buffer.alloc(16);
  msg.writeUInt8(17, 0);
  msg.writeUInt8(2, 1);
  msg.writeUInt16LE(0x0800, 2);
  msg.writeUInt32LE(4242, 4);
  const mc = Buffer.alloc(44);
  mc.writeUInt32LE(1, 0);
  mc.writeUInt32LE(1, 4);
  mc.writeUInt16LE(3, 8);
  mc.writeUInt16LE(6, 10);
  Buffer.from([1, 2, 3, 4, 5, 6]).copy(mc, 12);
  const payload = Buffer.concat([msg, attr(0, words(1, 1, 8, 0, 0, 0x4)), attr(1, mc), attr(3, words(4096, 1, 1024, 4, 0, 0, 0)), attr(4, words(13))]);
  const sk = parsePacketDiag(payload);
  t.match(sk, { ino: 4242, type: 2, protocol: 0x0800, ifindex: 1, version: 1, reserve: 8, flags: 4, fanout: 13 });
  t.same(sk.memberships, [{ ifindex: 1, count: 1, type: 3, addr: Buffer.from([1, 2, 3, 4, 5, 6]) }]);
  t.equal(sk.rxRing, undefined, 'no RX ring');
  t.match(sk.txRing, { blockSize: 4096, blockNr: 1, frameSize: 1024, frameNr: 4 });
});

t.test('the request asks for info, memberships, rings and fanout', async (t) => {
  const req = encodePacketDiagRequest(7);
  t.equal(req.readUInt8(16), 17, 'AF_PACKET');
  t.equal(req.readUInt32LE(24), 0xf, 'pdiag_show');
  t.equal(req.readUInt32LE(8), 7, 'seq');
});
