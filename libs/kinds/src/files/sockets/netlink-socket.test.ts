import t from 'tap';
import { groupNumber, netlinkSockaddr } from './netlink-socket.js';

t.test('a peer group bit is saved as its group number, as netlink_diag gives it', async (t) => {
  t.equal(groupNumber(0), 0, 'no group');
  t.equal(groupNumber(1), 1);
  t.equal(groupNumber(1 << 31), 32);
  t.equal(groupNumber(0x80000000), 32, 'unsigned words too');
});

t.test('sockaddr_nl: family, pad, port id, groups', async (t) => {
  t.same([...netlinkSockaddr(4242, 0x80000000)], [16, 0, 0, 0, 0x92, 0x10, 0, 0, 0, 0, 0, 0x80]);
});
