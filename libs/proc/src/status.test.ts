import t from 'tap';
import { parseCpuList, parseStatus, readStatus } from './status.js';
import { startSleep } from './live-task.fixture.js';

// captured on this machine: /proc/PID/status of a small C test program
const CAPTURED = `Name:	kinds
Umask:	0022
State:	S (sleeping)
Tgid:	6205
Ngid:	0
Pid:	6205
PPid:	1
TracerPid:	0
Uid:	0	0	0	0
Gid:	0	0	0	0
FDSize:	256
Groups:	 
NStgid:	6205
NSpid:	6205
NSpgid:	6195
NSsid:	4139
Kthread:	0
VmPeak:	    2476 kB
VmSize:	    2476 kB
VmLck:	       0 kB
VmPin:	       0 kB
VmHWM:	    1400 kB
VmRSS:	    1400 kB
RssAnon:	     100 kB
RssFile:	    1300 kB
RssShmem:	       0 kB
VmData:	     224 kB
VmStk:	     132 kB
VmExe:	       4 kB
VmLib:	    1528 kB
VmPTE:	      44 kB
VmSwap:	       0 kB
HugetlbPages:	       0 kB
CoreDumping:	0
THP_enabled:	1
untag_mask:	0xffffffffffffffff
Threads:	1
SigQ:	1/96365
SigPnd:	0000000000000000
ShdPnd:	0000000000000000
SigBlk:	0000000000000000
SigIgn:	0000000000000006
SigCgt:	0000000000000000
CapInh:	0000000000000000
CapPrm:	000001fffeffffff
CapEff:	000001fffeffffff
CapBnd:	000001fffeffffff
CapAmb:	0000000000000000
NoNewPrivs:	0
Seccomp:	0
Seccomp_filters:	0
Speculation_Store_Bypass:	vulnerable
SpeculationIndirectBranch:	always enabled
Cpus_allowed:	3
Cpus_allowed_list:	0-1
Mems_allowed:	00000000,00000001
Mems_allowed_list:	0
voluntary_ctxt_switches:	1
nonvoluntary_ctxt_switches:	1
`;

t.test('captured status: typed fields with the kernel names', async (t) => {
  const s = parseStatus(CAPTURED);
  t.match(s, {
    Name: 'kinds', Umask: 0o22, State: 'S', Tgid: 6205, Ngid: 0, Pid: 6205, PPid: 1, TracerPid: 0,
    FDSize: 256, Threads: 1, SigQ: { queued: 1, limit: 96365 }, NoNewPrivs: 0, Seccomp: 0, Seccomp_filters: 0,
    Speculation_Store_Bypass: 'vulnerable', Cpus_allowed_list: '0-1', voluntary_ctxt_switches: 1, nonvoluntary_ctxt_switches: 1,
  });
  t.same(s.Uid, [0, 0, 0, 0]);
  t.same(s.Groups, []);
  t.same(s.NSpgid, [6195]);
  t.equal(s.SigIgn, 6n);
  t.equal(s.CapEff, 0x1fffeffffffn);
  t.equal(s.CapAmb, 0n);
  t.equal(s.memory.VmRSS, 1400);
  t.equal(s.memory.HugetlbPages, 0);
  t.equal(s.raw.untag_mask, '0xffffffffffffffff', 'every line is kept raw');
  t.equal(s.raw.SpeculationIndirectBranch, 'always enabled');
});

t.test('escaped names, nested pid namespaces, groups and high masks', async (t) => {
  const text = CAPTURED
    .replace('Name:\tkinds', 'Name:\ta\\nb\\\\c d ')
    .replace('Groups:\t ', 'Groups:\t4 24 27 ')
    .replace('NSpid:\t6205', 'NSpid:\t6205\t12\t1')
    .replace('SigCgt:\t0000000000000000', 'SigCgt:\tfffffffe7ffbfeff')
    .replace('Uid:\t0\t0\t0\t0', 'Uid:\t1000\t1001\t1002\t1003');
  const s = parseStatus(text);
  t.equal(s.Name, 'a\nb\\c d ', 'comm is unescaped, trailing space kept');
  t.same(s.Groups, [4, 24, 27]);
  t.same(s.NSpid, [6205, 12, 1]);
  t.equal(s.SigCgt, 0xfffffffe7ffbfeffn);
  t.same(s.Uid, [1000, 1001, 1002, 1003]);
});

t.test('a zombie status without memory lines still parses; bad lines are named', async (t) => {
  const zombie = CAPTURED.split('\n').filter((l) => !/^(Vm|Rss|Hugetlb)/.test(l)).join('\n').replace('State:\tS (sleeping)', 'State:\tZ (zombie)');
  const s = parseStatus(zombie);
  t.equal(s.State, 'Z');
  t.same(s.memory, {});
  t.throws(() => parseStatus(CAPTURED.replace('PPid:\t1', 'PPid:\tone'), '/proc/9/status'), { code: 'EPROCFORMAT', message: /^\/proc\/9\/status line 7: PPid is not a number/ });
  t.throws(() => parseStatus(CAPTURED.replace('CapEff:\t000001fffeffffff', 'CapEff:\txyz'), 'st'), { message: /^st line 46: CapEff is not a hex mask/ });
  t.throws(() => parseStatus(CAPTURED.replace(/^Pid:.*\n/m, ''), 'st'), { message: /^st: no Pid line/ });
  t.throws(() => parseStatus('Name kinds\n', 'st'), { message: /^st line 1: not a "Key: value" line/ });
});

t.test('cpu lists expand', async (t) => {
  t.same(parseCpuList('0-1'), [0, 1]);
  t.same(parseCpuList('0-2,5,7-8\n'), [0, 1, 2, 5, 7, 8]);
  t.throws(() => parseCpuList('0-x'), { code: 'EPROCFORMAT' });
});

t.test('live: a sleep and its thread', async (t) => {
  const sleep = await startSleep(t);
  const s = readStatus(sleep.pid);
  t.match(s, { Name: 'sleep', Pid: sleep.pid, Tgid: sleep.pid, PPid: process.pid, State: 'S', Threads: 1, TracerPid: 0 });
  t.ok(s.memory.VmRSS !== undefined && s.memory.VmRSS > 0, 'has VmRSS');
  t.same(readStatus(sleep.pid, sleep.pid).Pid, sleep.pid);
  t.equal(readStatus(process.pid).Pid, process.pid);
});
