import t from 'tap';
import { readFileSync } from 'node:fs';
import { CriuError, SyscallError, UsageError } from '@criu-ts/base';
import {
  CHECK_BAD, CHECK_GOOD, CHECK_MAYBE, FEATURES, categoriesOf, runCheck, selectFeatures, startVictim, victimPool,
  type Feature, type ProbeResult,
} from './index.js';

/** Every registered feature, with its probe replaced by an injected result. */
function injected(results: Record<string, ProbeResult | Error>): Feature[] {
  return FEATURES.map((f) => ({
    ...f,
    probe: () => {
      const r = results[f.name] ?? 'ok';
      if (r instanceof Error) throw r;
      return r;
    },
  }));
}
const noVictim = { victim: () => { throw new Error('no victim in this test'); }, release: () => undefined };

t.test('the registry: unique names, criu\'s names where criu has them, every category', async (t) => {
  const names = FEATURES.map((f) => f.name);
  t.equal(new Set(names).size, names.length);
  // every name upstream criu 4.2 answers to (criu/cr-check.c feature_list): zdtm asks for them
  const upstream = `mnt_id mem_dirty_track aio_remap timerfd tun tun_ns userns fdinfo_lock seccomp_suspend seccomp_filters loginuid
    cgroupns autofs tcp_half_closed compat_cr uffd uffd-noncoop can_map_vdso sk_ns sk_unix_file net_diag_raw nsid link_nsid
    kcmp_epoll timens external_net_ns clone3_set_tid newifindex nftables has_ipt_legacy pidfd_store ns_pid apparmor_stacking
    network_lock_nftables sockopt_buf_lock memfd_hugetlb move_mount_set_group openat2 get_rseq_conf ipv6_freebind pagemap_scan
    timer_cr_ids overlayfs_maps breakpoints pagemap_scan_guard_pages`.split(/\s+/);
  for (const name of upstream) t.ok(names.includes(name), name);
  t.same([...new Set(FEATURES.map((f) => f.category))].sort(), [1, 2, 3]);
  t.ok(FEATURES.every((f) => f.neededFor.length > 10), 'every feature says what it is needed for');
});

t.test('options choose the categories', async (t) => {
  t.same(categoriesOf({}), [1]);
  t.same(categoriesOf({ extra: true }), [1, 2]);
  t.same(categoriesOf({ experimental: true }), [1, 3]);
  t.same(categoriesOf({ all: true }), [1, 2, 3]);
  t.same(selectFeatures({}).map((f) => f.category), FEATURES.filter((f) => f.category === 1).map(() => 1));
  t.same(selectFeatures({ features: ['timens', 'uffd'] }).map((f) => f.name), ['timens', 'uffd']);
  t.throws(() => selectFeatures({ features: ['nope'] }), UsageError);
});

t.test('each probe forced to fail gives the verdict, message and exit code of its category', async (t) => {
  for (const f of FEATURES) {
    const report = runCheck({ all: true }, { registry: injected({ [f.name]: { missing: 'forced' } }), pool: noVictim });
    const warning = `${f.name} (category ${f.category}): forced; ${f.neededFor} will not work`;
    t.equal(report.exitCode, 1, `${f.name}: exit 1`);
    t.same(report.warnings, f.category === 1 ? [warning, CHECK_BAD] : [warning], `${f.name}: warning`);
    t.same(report.stdout, f.category === 1 ? [] : [CHECK_MAYBE], `${f.name}: verdict`);
    const plain = runCheck({}, { registry: injected({ [f.name]: { missing: 'forced' } }), pool: noVictim });
    t.same(plain.stdout, f.category === 1 ? [] : [CHECK_GOOD], `${f.name}: without --all only category 1 counts`);
  }
});

t.test('a probe that throws a kernel error counts as missing; a bug propagates', async (t) => {
  const error = new SyscallError({ syscall: 'ptrace(PTRACE_SEIZE)', errno: 1, pid: 42 });
  const report = runCheck({}, { registry: injected({ ptrace_seize: error }), pool: noVictim });
  t.equal(report.warnings[0], `ptrace_seize (category 1): ptrace(PTRACE_SEIZE) pid 42: Operation not permitted (EPERM); ${FEATURES[0]!.neededFor} will not work`);
  t.throws(() => runCheck({}, { registry: injected({ ptrace_seize: new TypeError('bug') }), pool: noVictim }), TypeError);
  t.same(runCheck({ features: ['uffd'] }, { registry: injected({ uffd: new CriuError('no uffd') }), pool: noVictim }).exitCode, 1);
});

t.test('--feature list prints every name, one a line, probing nothing', async (t) => {
  t.same(runCheck({ features: ['list'] }, { registry: injected({}), pool: noVictim }), { exitCode: 0, stdout: FEATURES.map((f) => f.name), warnings: [] });
});

t.test('the real probes on this kernel, and the victim is gone afterwards', async (t) => {
  let victimPid = 0;
  const pool = victimPool(() => {
    const v = startVictim();
    victimPid = v.pid;
    return v;
  });
  const report = runCheck({}, { pool });
  t.same(report, { exitCode: 0, stdout: [CHECK_GOOD], warnings: [] }, 'category 1 is complete here (design notes)');
  t.ok(victimPid > 0, 'a victim was used');
  t.throws(() => readFileSync(`/proc/${victimPid}/status`), { code: 'ENOENT' }, 'killed and reaped');
  const extra = runCheck({ features: ['uffd', 'timerfd', 'fdinfo_lock', 'mnt_id', 'seccomp_filters', 'seccomp_suspend', 'prctl_mm_map', 'openat2'] });
  t.same(extra.stdout, ['uffd', 'timerfd', 'fdinfo_lock', 'mnt_id', 'seccomp_filters', 'seccomp_suspend', 'prctl_mm_map', 'openat2'].map((n) => `${n} is supported`));
  t.equal(extra.exitCode, 0);
  const notBuilt = runCheck({ features: ['cgroupns', 'userns'] });
  t.equal(notBuilt.exitCode, 1, 'what criu-ts cannot checkpoint is not claimed, whatever the kernel has');
  t.match(notBuilt.warnings.join('\n'), /userns.*criu-ts does not checkpoint user namespaces/);
  t.same(runCheck({ features: ['timens'] }).stdout, ['timens is supported'], 'time namespaces are (this kernel has them)');
});
