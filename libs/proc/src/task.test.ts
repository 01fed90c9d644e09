import t from 'tap';
import { readFileSync, readlinkSync } from 'node:fs';
import { environToRecord, listTasks, LOGINUID_UNSET, parseChildren, parsePersonality, readChildren, readCmdline, readCwd, readEnviron, readExe, readLoginuid, readOomScoreAdj, readPersonality, readRoot, splitNul } from './task.js';
import { parseNsLink, readNamespaces } from './namespaces.js';
import { startSleep } from './live-task.fixture.js';

t.test('pure parsers: children, personality, NUL lists, ns links', async (t) => {
  t.same(parseChildren('6206 6210 '), [6206, 6210]);
  t.same(parseChildren(''), []);
  t.throws(() => parseChildren('12 x', '/proc/1/task/1/children'), { code: 'EPROCFORMAT', message: /^\/proc\/1\/task\/1\/children line 1/ });
  t.equal(parsePersonality('00000000\n'), 0);
  t.equal(parsePersonality('00400000\n'), 0x400000, 'ADDR_NO_RANDOMIZE');
  t.same(splitNul(Buffer.from('./kinds\0-x\0\0a b\0')), ['./kinds', '-x', '', 'a b']);
  t.same(splitNul(Buffer.from('rewritten argv')), ['rewritten argv'], 'no final NUL');
  t.same(splitNul(Buffer.alloc(0)), []);
  t.same(environToRecord(['A=1', 'B=x=y', 'C=']), { A: '1', B: 'x=y', C: '' });
  t.throws(() => environToRecord(['A=1', 'oops']), { message: /environ line 2: not NAME=value/ });
  t.same(parseNsLink('net:[4026531833]'), { kind: 'net', inode: 4026531833 });
  t.throws(() => parseNsLink('net:4026531833'), { code: 'EPROCFORMAT' });
});

t.test('live: a sleep child of ours', async (t) => {
  const sleep = await startSleep(t);
  t.same(listTasks(sleep.pid), [sleep.pid]);
  t.ok(readChildren(process.pid).includes(sleep.pid), 'our main thread lists the sleep as a child');
  t.same(readChildren(sleep.pid), []);
  t.same(readCmdline(sleep.pid), ['sleep', '60']);
  t.same(readEnviron(sleep.pid), readFileSync(`/proc/${sleep.pid}/environ`, 'utf8').split('\0').slice(0, -1));
  t.equal(readCwd(sleep.pid), process.cwd());
  t.equal(readRoot(sleep.pid), '/');
  t.equal(readExe(sleep.pid), readlinkSync(`/proc/${sleep.pid}/exe`));
  t.match(readExe(sleep.pid), /\/sleep$/);
  t.equal(readOomScoreAdj(sleep.pid), Number(readFileSync(`/proc/${process.pid}/oom_score_adj`, 'utf8')));
  const loginuid = readLoginuid(sleep.pid);
  t.ok(loginuid === LOGINUID_UNSET || loginuid >= 0);
  t.equal(readPersonality(sleep.pid), 0);
  const ns = readNamespaces(sleep.pid);
  t.same(ns, readNamespaces(process.pid), 'a child shares our namespaces');
  t.ok(ns.net > 0 && ns.mnt > 0 && ns.pid > 0 && ns.user > 0);
});

t.test('live: node\'s threads', async (t) => {
  const tasks = listTasks(process.pid);
  t.ok(tasks.length > 1 && tasks[0] === process.pid, 'the main thread first, then the others');
});
