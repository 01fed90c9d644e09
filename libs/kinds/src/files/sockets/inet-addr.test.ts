import t from 'tap';
import { addressWords, endpointText, needsScopeId, parseInetSockaddr } from './inet-addr.js';

function sockaddrIn(port: number, ip: number[]): Buffer {
  const buf = Buffer.alloc(16);
  buf.writeUInt16LE(2, 0);
  buf.writeUInt16BE(port, 2);
  Buffer.from(ip).copy(buf, 4);
  return buf;
}

function sockaddrIn6(port: number, ip: number[]): Buffer {
  const buf = Buffer.alloc(28);
  buf.writeUInt16LE(10, 0);
  buf.writeUInt16BE(port, 2);
  Buffer.from(ip).copy(buf, 8);
  return buf;
}

t.test('sockaddr_in and sockaddr_in6 parse to port and address bytes', async (t) => {
  const v4 = parseInetSockaddr(sockaddrIn(8080, [127, 0, 0, 1]));
  t.equal(v4?.port, 8080);
  t.same([...(v4?.address ?? [])], [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const loop6 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const v6 = parseInetSockaddr(sockaddrIn6(53, loop6));
  t.equal(v6?.port, 53);
  t.same([...(v6?.address ?? [])], loop6);
  t.equal(parseInetSockaddr(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0])), undefined, 'AF_UNIX is not inet');
});

t.test('addresses become the image words CRIU memcpy()s them into', async (t) => {
  const v4 = Buffer.alloc(16);
  Buffer.from([127, 0, 0, 1]).copy(v4);
  t.same(addressWords(2, v4), [0x0100007f], 'one little-endian word for IPv4');
  const v6 = Buffer.alloc(16);
  v6[15] = 1;
  t.same(addressWords(10, v6), [0, 0, 0, 0x01000000], 'four words for IPv6');
});

t.test('scope ids: link-local and local multicast need one', async (t) => {
  const addr = (...head: number[]): Buffer => Buffer.concat([Buffer.from(head), Buffer.alloc(16 - head.length)]);
  t.ok(needsScopeId(addr(0xfe, 0x80)), 'fe80::');
  t.ok(needsScopeId(addr(0xff, 0x02)), 'ff02:: link-local multicast');
  t.notOk(needsScopeId(addr(0xff, 0x0e)), 'ff0e:: global multicast');
  t.notOk(needsScopeId(addr(0x20, 0x01)), '2001::');
});

t.test('endpoint text for logs', async (t) => {
  t.equal(endpointText(2, { port: 80, address: Buffer.from([10, 0, 0, 1, ...Array(12).fill(0)]) }), '10.0.0.1:80');
  t.equal(endpointText(10, { port: 53, address: Buffer.from([...Array(15).fill(0), 1]) }), '[::1]:53');
});
