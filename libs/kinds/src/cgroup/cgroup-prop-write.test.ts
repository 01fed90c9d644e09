// Writing properties back as the kernel wants them, on plain files standing
// in for a cgroup's (each write lands at the start, as a cgroup file takes it).
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDefaultSpecial, writeProp } from './cgroup-prop-write.js';

function cgroupDir(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-cgprop-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

t.test('cgroup.subtree_control: what is on now turned off, what was saved turned on', (t) => {
  const dir = cgroupDir(t, { 'cgroup.subtree_control': 'cpu io\n' });
  writeProp(dir, { name: 'cgroup.subtree_control', value: 'memory pids' });
  t.equal(readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').slice(0, 26), '-cpu -io +memory +pids', 'one write with both');
  t.end();
});

t.test('a value with its owner and mode; cgroup.procs gets its permissions only', (t) => {
  const dir = cgroupDir(t, { 'pids.max': 'max', 'cgroup.procs': '' });
  writeProp(dir, { name: 'pids.max', value: '50', perms: { mode: 0o100640, uid: 0, gid: 0 } });
  t.equal(readFileSync(join(dir, 'pids.max'), 'utf8').slice(0, 2), '50');
  t.equal(statSync(join(dir, 'pids.max')).mode & 0o777, 0o640);
  writeProp(dir, { name: 'cgroup.procs', value: '', perms: { mode: 0o100600, uid: 0, gid: 0 } });
  t.equal(readFileSync(join(dir, 'cgroup.procs'), 'utf8'), '', 'nothing written');
  t.equal(statSync(join(dir, 'cgroup.procs')).mode & 0o777, 0o600);
  t.end();
});

t.test('cgroup.type is written only when threaded; defaults of special properties are skipped', (t) => {
  const dir = cgroupDir(t, { 'cgroup.type': 'domain' });
  writeProp(dir, { name: 'cgroup.type', value: 'domain' });
  t.equal(readFileSync(join(dir, 'cgroup.type'), 'utf8'), 'domain');
  writeProp(dir, { name: 'cgroup.type', value: 'threaded' });
  t.equal(readFileSync(join(dir, 'cgroup.type'), 'utf8'), 'threaded');
  t.ok(isDefaultSpecial({ name: 'memory.swappiness', value: '60' }));
  t.notOk(isDefaultSpecial({ name: 'memory.swappiness', value: '10' }));
  t.end();
});

t.test('devices.list: deny all, then allow each line; net_prio.ifpriomap: the non-zero lines', (t) => {
  const dir = cgroupDir(t, { 'devices.deny': '', 'devices.allow': '', 'net_prio.ifpriomap': '' });
  writeProp(dir, { name: 'devices.list', value: 'c 1:3 rwm\nc 1:5 rwm' });
  t.equal(readFileSync(join(dir, 'devices.deny'), 'utf8'), 'a');
  t.equal(readFileSync(join(dir, 'devices.allow'), 'utf8'), 'c 1:5 rwm', 'the last of one write per line');
  writeProp(dir, { name: 'net_prio.ifpriomap', value: 'lo 0\neth0 5\neth1 0' });
  t.equal(readFileSync(join(dir, 'net_prio.ifpriomap'), 'utf8'), 'eth0 5');
  t.end();
});

t.test('names from an image that would leave the cgroup are refused', (t) => {
  const dir = cgroupDir(t, {});
  for (const name of ['../x', 'a/b', '..', '']) t.throws(() => writeProp(dir, { name, value: '1' }), /bad property name/, JSON.stringify(name));
  t.end();
});
