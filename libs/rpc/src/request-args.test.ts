import t from 'tap';
import { cpuCapWords } from './opts-table.js';
import { requestArgs } from './request-args.js';

const dump = { mode: 'dump' as const, swrk: true, peerPid: 100 };

t.test('images_dir_fd is the client\'s fd, reached through /proc; the log defaults to criu.log', async (t) => {
  const args = requestArgs({ images_dir_fd: 7, leave_running: true, tcp_established: false }, dump);
  t.same(args.argv, ['-D', '/proc/100/fd/7', '--verbosity=2', '-o', 'criu.log', '--leave-running', '--no-tcp-established']);
  t.equal(args.imagesDir, '/proc/100/fd/7');
});

t.test('images_dir, work_dir_fd, log_file, log_level, config_file', async (t) => {
  const args = requestArgs({ images_dir: '/x', work_dir_fd: 3, log_file: 'd.log', log_level: 4, config_file: '/etc/runc.conf' }, dump);
  t.same(args.argv, ['-D', '/x', '-W', '/proc/100/fd/3', '--verbosity=4', '-o', 'd.log']);
  t.equal(args.configFile, '/etc/runc.conf');
});

t.test('no images dir: an error, except for CHECK (which then logs to stderr)', async (t) => {
  t.throws(() => requestArgs({}, dump), /Neither images_dir_fd nor images_dir/);
  t.same(requestArgs(undefined, { mode: 'check', swrk: true, peerPid: 1, imagesOptional: true }).argv, ['--verbosity=2']);
});

t.test('a log_file with a directory is refused', async (t) => {
  t.throws(() => requestArgs({ images_dir: '/x', log_file: '../evil.log' }, dump), /no subdirs/);
});

t.test('fields of another request are ignored (and reported), unsupported ones refused', async (t) => {
  const restore = requestArgs({ images_dir: '/x', leave_running: true, rst_sibling: true, shell_job: true }, { mode: 'restore', swrk: true, peerPid: 1 });
  t.same(restore.ignored, ['leave_running']);
  t.ok(restore.argv.includes('--restore-sibling') && restore.argv.includes('--shell-job'));
  t.throws(() => requestArgs({ images_dir: '/x', rst_sibling: true }, { mode: 'restore', swrk: false, peerPid: 1 }), /only with criu swrk/);
  t.throws(() => requestArgs({ images_dir: '/x', unprivileged: true }, { mode: 'restore', swrk: true, peerPid: 1 }), /unprivileged is not supported/);
  t.throws(() => requestArgs({ images_dir: '/x', status_fd: 4 }, { mode: 'restore', swrk: true, peerPid: 1 }), /status_fd is not supported/);
  t.throws(() => requestArgs({ images_dir: '/x', exec_cmd: ['sh'] }, { mode: 'restore', swrk: true, peerPid: 1 }), /exec_cmd is not supported/);
  t.same(requestArgs({ images_dir: '/x', orphan_pts_master: false }, { mode: 'restore', swrk: true, peerPid: 1 }).argv.slice(5), []);
});

t.test('enums and masks become criu(8) words', async (t) => {
  const args = requestArgs({ images_dir: '/x', manage_cgroups_mode: 'STRICT', network_lock: 'SKIP', cpu_cap: 5, inherit_fd: [{ key: 'pipe:[1]', fd: 9 }] }, { mode: 'restore', swrk: true, peerPid: 1 });
  t.same(args.argv.slice(5), ['--manage-cgroups=strict', '--network-lock=skip', '--cpu-cap=fpu,ins', '--inherit-fd', 'fd[9]:pipe:[1]']);
  t.equal(cpuCapWords(0), 'none');
  t.equal(cpuCapWords(0xffffffff), 'fpu,cpu,ins');
  t.throws(() => requestArgs({ images_dir: '/x', empty_ns: 0x20000 }, { mode: 'restore', swrk: true, peerPid: 1 }), /only CLONE_NEWNET/);
});
