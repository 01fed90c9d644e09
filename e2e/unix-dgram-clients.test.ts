// A unix datagram server with two connected clients, messages from both
// still queued, held by an unmodified python3 (what zdtm socket_dgram_data
// does): restored, the server gets both queued messages and then one more
// from each client, through connections made again to its (abstract, NUL-
// ended) name — the second client's connect once bound that name twice.
import t from 'tap';
import { join } from 'node:path';
import { SIG } from '@criu-ts/kernel';
import { scratchDir } from './lib/fixtures.js';
import { dumpWith, restoreChecked, signalWhenAsleep } from './lib/upstream.js';
import { startBackground, waitOutput } from '../libs/restore/test/live.js';

const HOLDER = `
import os, signal, socket
name = b'\\0criu-ts-dgram-%d\\0' % os.getpid()
srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
srv.bind(name)
c1 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); c1.connect(name)
c2 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); c2.connect(name)
c1.send(b'one'); c2.send(b'two')
def after(*_):
    c1.send(b'three'); c2.send(b'four')
    print('got', b','.join(srv.recv(16) for _ in range(4)).decode(), flush=True)
signal.signal(signal.SIGUSR1, after)
print('ready', flush=True)
while True:
    signal.pause()
`;

t.test('a datagram server with two connected clients and their queued messages', (t) => {
  const dir = scratchDir(t);
  const out = join(dir, 'out');
  const pid = startBackground(t, out, '/usr/bin/python3', ['-c', HOLDER]);
  waitOutput(out, /ready/);
  const images = dumpWith('ours', t, dir, pid);
  if (!restoreChecked(t, 'ours', out, images)) return t.end();
  signalWhenAsleep(pid, SIG.USR1);
  t.equal(waitOutput(out, /got (.*)/)[1], 'one,two,three,four', 'the queued messages first, then one from each client');
  t.end();
});
