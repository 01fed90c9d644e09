// The made-up FIN packet: IPv4 and IPv6 headers as the kernel wants them
// from an IPPROTO_RAW socket, and a TCP checksum that verifies (the sum
// over pseudo-header and segment, checksum included, is 0xffff).
import t from 'tap';
import { AF, IPPROTO } from '@criu-ts/kernel';
import { TCP_FLAG, finPacket } from './tcp-fin.js';

function sum16(parts: readonly Buffer[]): number {
  let sum = 0;
  for (const part of parts) for (let i = 0; i < part.length; i += 2) sum += (part[i]! << 8) | (part[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

const pseudo = (length: number, v4: boolean): Buffer => {
  const p = Buffer.alloc(v4 ? 4 : 8);
  if (v4) {
    p.writeUInt16BE(IPPROTO.TCP, 0);
    p.writeUInt16BE(length, 2);
  } else {
    p.writeUInt32BE(length, 0);
    p.writeUInt8(IPPROTO.TCP, 7);
  }
  return p;
};

t.test('IPv4: header fields and a checksum that verifies', async (t) => {
  const from = Buffer.concat([Buffer.from([10, 1, 2, 3]), Buffer.alloc(12)]);
  const to = Buffer.concat([Buffer.from([10, 1, 2, 4]), Buffer.alloc(12)]);
  const { packet, addr } = finPacket({ family: AF.INET, from, fromPort: 80, to, toPort: 4000, seq: 0xfffffff0, ack: 7, window: 70000, flags: TCP_FLAG.FIN | TCP_FLAG.ACK });
  t.equal(packet.length, 40);
  t.equal(packet.readUInt8(0), 0x45);
  t.equal(packet.readUInt16BE(2), 40, 'total length');
  t.equal(packet.readUInt8(9), IPPROTO.TCP);
  t.same([...packet.subarray(12, 20)], [10, 1, 2, 3, 10, 1, 2, 4], 'from the peer to us');
  const tcp = packet.subarray(20);
  t.equal(tcp.readUInt16BE(0), 80);
  t.equal(tcp.readUInt16BE(2), 4000);
  t.equal(tcp.readUInt32BE(4), 0xfffffff0);
  t.equal(tcp.readUInt8(13), 0x11, 'FIN|ACK');
  t.equal(tcp.readUInt16BE(14), 0xffff, 'the window clamped to 16 bits');
  t.equal(sum16([packet.subarray(12, 16), packet.subarray(16, 20), pseudo(20, true), tcp]), 0xffff, 'the TCP checksum verifies');
  t.equal(addr.readUInt16LE(0), AF.INET);
  t.same([...addr.subarray(4, 8)], [10, 1, 2, 4], 'sent to our address');
});

t.test('IPv6: header fields and a checksum that verifies', async (t) => {
  const from = Buffer.from([0xfd, 0, ...new Array(13).fill(0), 1]);
  const to = Buffer.from([0xfd, 0, ...new Array(13).fill(0), 2]);
  const { packet, addr } = finPacket({ family: AF.INET6, from, fromPort: 1, to, toPort: 2, seq: 1, ack: 2, window: 3, flags: TCP_FLAG.ACK });
  t.equal(packet.length, 60);
  t.equal(packet.readUInt32BE(0) >>> 28, 6, 'version 6');
  t.equal(packet.readUInt16BE(4), 20, 'payload length');
  t.equal(packet.readUInt8(6), IPPROTO.TCP, 'next header');
  t.same(packet.subarray(8, 24), from);
  t.same(packet.subarray(24, 40), to);
  t.equal(sum16([from, to, pseudo(20, false), packet.subarray(40)]), 0xffff, 'the TCP checksum verifies');
  t.same(addr.subarray(8, 24), to);
});
