// --cgroup-root on restore: heads renamed, set paths rewritten to match.
import t from 'tap';
import type { Messages } from '@criu-ts/images';
import { rewriteCgroupRoots } from './cgroup-roots.js';

function image(): Messages['cgroup_entry'] {
  return {
    sets: [
      { id: 2, ctls: [{ name: 'pids', path: '/test' }, { name: 'cpu', path: '/test' }] },
      { id: 3, ctls: [{ name: 'pids', path: '/test/sub' }, { name: 'cpu', path: '/test' }] },
    ],
    controllers: [
      { cnames: ['pids'], dirs: [{ dir_name: 'test', children: [{ dir_name: 'sub' }] }] },
      { cnames: ['cpu'], dirs: [{ dir_name: 'test' }] },
    ],
  };
}

t.test('a per-controller root moves that hierarchy only', (t) => {
  const entry = image();
  rewriteCgroupRoots(entry, [{ controller: 'pids', path: '/moved' }]);
  t.equal(entry.controllers![0]!.dirs![0]!.dir_name, '/moved');
  t.equal(entry.controllers![0]!.dirs![0]!.children![0]!.dir_name, 'sub', 'children keep their names');
  t.same(entry.sets!.map((s) => s.ctls!.map((c) => c.path)), [['/moved', '/test'], ['/moved/sub', '/test']]);
  t.end();
});

t.test('a global root moves every hierarchy; a bad root is refused', (t) => {
  const entry = image();
  rewriteCgroupRoots(entry, [{ path: '/all' }]);
  t.same(entry.sets!.map((s) => s.ctls!.map((c) => c.path)), [['/all', '/all'], ['/all/sub', '/all']]);
  t.throws(() => rewriteCgroupRoots(image(), [{ path: '../x' }]), /must be an absolute path/);
  t.throws(() => rewriteCgroupRoots(image(), [{ path: '/a/../b' }]), /must be an absolute path/);
  t.end();
});
