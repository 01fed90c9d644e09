import t from 'tap';
import { PR, SYS } from '@criu-ts/kernel';
import { capMask, capsetStruct, checkCreds, credsCalls, credsScratch, type CredsEntry } from './creds-restore.js';
import { queuedSiginfos } from './signals-restore.js';
import { itimerspecStruct, itimervalStruct, sigeventStruct } from './timers-restore.js';
import { plainSiginfo, queueEntry } from './signals.js';
import { putXsaveComponents } from './x86-fpu.js';

const creds: CredsEntry = {
  uid: 1, euid: 2, suid: 3, fsuid: 4, gid: 5, egid: 6, sgid: 7, fsgid: 8,
  cap_inh: [1 << 10, 0], cap_prm: [0xffffffff, 0x1ff], cap_eff: [0xfffffffe, 0x1ff], cap_bnd: [0xfffffffb, 0x1ff],
  secbits: 0x10, groups: [10, 20, 30], no_new_privs: 1, cap_amb: [1 << 10, 0],
};

t.test('credentials: upstream order, every step named', (t) => {
  const calls = credsCalls(creds, 0x1000n, 40);
  const names = calls.map((c) => c.name);
  t.same(names.slice(0, 9), [
    'setgroups', 'prctl(PR_SET_SECUREBITS, NO_SETUID_FIXUP)', 'setresuid', 'setfsuid', 'setfsuid (check)', 'setresgid', 'setfsgid', 'setfsgid (check)', 'prctl(PR_SET_SECUREBITS)',
  ]);
  t.same(calls[0]!.args, [3, 0x1000n], 'setgroups reads the groups at the scratch start');
  t.same(calls[2]!.args, [1, 2, 3]);
  t.equal(calls[4]!.expect, 4n, 'fsuid is checked');
  t.same(names.filter((n) => n.startsWith('prctl(PR_CAPBSET_DROP')), ['prctl(PR_CAPBSET_DROP, 2)'], 'only caps missing from cap_bnd are dropped');
  const capset = calls.findIndex((c) => c.nr === SYS.capset);
  t.ok(capset > names.indexOf('prctl(PR_SET_SECUREBITS)'), 'capset after securebits and bounding drops');
  t.same(calls[capset]!.args, [0x1010n, 0x1018n], 'header after the groups (8-aligned), data after it');
  t.same(calls.slice(capset + 1).map((c) => c.args?.slice(0, 3)), [[PR.CAP_AMBIENT, 2, 10], [PR.SET_NO_NEW_PRIVS, 1, 0]], 'ambient raise, then no_new_privs');
  const { bytes, capsAt } = credsScratch(creds);
  t.equal(capsAt, 16);
  t.same([bytes.readUInt32LE(0), bytes.readUInt32LE(8)], [10, 30]);
  const s = capsetStruct(creds);
  t.same([s.readUInt32LE(0), s.readUInt32LE(8), s.readUInt32LE(12), s.readUInt32LE(16), s.readUInt32LE(20)], [0x20080522, 0xfffffffe, 0xffffffff, 1 << 10, 0x1ff]);
  t.equal(capMask([1, 2]), (2n << 32n) | 1n);
  t.equal(capMask(undefined), 0n);
  t.end();
});

t.test('credentials: refused when the restore lacks a capability', (t) => {
  t.doesNotThrow(() => checkCreds(7, creds, 0x1ffffffffffn, 40));
  t.throws(() => checkCreds(7, creds, 0x1fffeffffffn, 40), /thread 7 had capabilities 24 .*cannot give them back/);
  t.throws(() => checkCreds(7, { ...creds, secbits: 1 << 6 }, 0x1ffffffffffn, 40), /SECBIT_NO_CAP_AMBIENT_RAISE/);
  t.end();
});

t.test('timers: kernel structs', (t) => {
  const timer = { it_id: 3, clock_id: 1, si_signo: 44, it_sigev_notify: 4, sival_ptr: 0xabcdn, overrun: 0, isec: 2n, insec: 5n, vsec: 7n, vnsec: 9n, notify_thread_id: 77 };
  const sev = sigeventStruct(timer);
  t.same([sev.length, sev.readBigUInt64LE(0), sev.readInt32LE(8), sev.readInt32LE(12), sev.readInt32LE(16)], [64, 0xabcdn, 44, 4, 77]);
  const spec = itimerspecStruct(timer);
  t.same([0, 8, 16, 24].map((o) => spec.readBigUInt64LE(o)), [2n, 5n, 7n, 9n], 'interval, then value');
  const val = itimervalStruct({ isec: 1n, iusec: 2n, vsec: 3n, vusec: 4n });
  t.same([0, 8, 16, 24].map((o) => val.readBigUInt64LE(o)), [1n, 2n, 3n, 4n]);
  const expired = itimervalStruct({ isec: 0n, iusec: 100000n, vsec: 0n, vusec: 0n });
  t.same([0, 8, 16, 24].map((o) => expired.readBigUInt64LE(o)), [0n, 100000n, 0n, 100000n], 'a periodic timer dumped as just expired is armed for one interval');
  const off = itimerspecStruct({ ...timer, isec: 0n, insec: 0n, vsec: 0n, vnsec: 0n });
  t.same([0, 8, 16, 24].map((o) => off.readBigUInt64LE(o)), [0n, 0n, 0n, 0n], 'a disarmed timer stays disarmed');
  t.end();
});

t.test('pending signals: checked before queueing', (t) => {
  t.same(queuedSiginfos(queueEntry([plainSiginfo(42), plainSiginfo(43)]), 'core-1.img').map((si) => si.readInt32LE(0)), [42, 43]);
  t.same(queuedSiginfos(undefined, 'core-1.img'), []);
  t.throws(() => queuedSiginfos({ signals: [{ siginfo: new Uint8Array(12) }] }, 'core-1.img'), /siginfo of 12 bytes/);
  t.throws(() => queuedSiginfos(queueEntry([plainSiginfo(99)]), 'core-1.img'), /bad signal number 99/);
  t.end();
});

t.test('XSAVE components written at the layout offsets', (t) => {
  const buf = Buffer.alloc(1200);
  const bits = putXsaveComponents(buf, { xstate_bv: 0x24n, ymmh_space: Array.from({ length: 64 }, (_, i) => i), opmask_reg: [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n] }, new Map([[2, 576], [5, 1100]]));
  t.equal(bits, 0x24n);
  t.equal(buf.readUInt32LE(576 + 4 * 63), 63);
  t.equal(buf.readBigUInt64LE(1100 + 8 * 7), 8n);
  t.equal(putXsaveComponents(buf, { xstate_bv: 0x4n, pkru: [1, 0] }, new Map()), 0n, 'a component the CPU lacks but the image marks unused is skipped');
  t.end();
});
