// What restore accepts as a link remap's file (it removes that file once
// the tree runs) and where it makes names for an open (ghosts, links back):
// only what a dump makes, never through a symlink.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkCanonicalDir, checkLinkRemapSource } from './path-remap.js';

t.test('a link remap is a link_remap.N file beside the file or above it, reached through no symlink', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'criu-ts-remap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  mkdirSync(join(dir, 'other'));
  symlinkSync(join(dir, 'a'), join(dir, 'via'));
  const file = join(dir, 'a', 'b', 'file');
  t.doesNotThrow(() => checkLinkRemapSource(join(dir, 'a', 'b', 'link_remap.7'), file), 'beside it');
  t.doesNotThrow(() => checkLinkRemapSource(join(dir, 'a', 'link_remap.7'), file), 'in a directory above (its own was gone at dump)');
  t.throws(() => checkLinkRemapSource(join(dir, 'a', 'b', 'other-file'), file), { code: 'EINVAL', message: /is not a link_remap\.N file a dump makes/ });
  t.throws(() => checkLinkRemapSource(join(dir, 'a', 'b', 'link_remap.x'), file), { code: 'EINVAL' });
  t.throws(() => checkLinkRemapSource(join(dir, 'other', 'link_remap.7'), file), { code: 'EINVAL', message: /not beside it or in a directory above it/ });
  t.throws(() => checkLinkRemapSource(join(dir, 'a', 'b', 'c', 'link_remap.7'), file), { code: 'EINVAL', message: /not beside it/ }, 'not below it');
  t.throws(() => checkLinkRemapSource(join(dir, 'via', 'b', 'link_remap.7'), join(dir, 'via', 'b', 'file')), { code: 'EINVAL', message: /goes through a symlink/ });
  t.doesNotThrow(() => checkCanonicalDir(join(dir, 'a', 'b'), 'here'));
  t.throws(() => checkCanonicalDir(join(dir, 'via', 'b'), 'ghost 1 of x'), { message: `ghost 1 of x: ${join(dir, 'via', 'b')} goes through a symlink (to ${join(dir, 'a', 'b')}); a dumped path never does` });
  t.end();
});
