import t from 'tap';
import { FAULT, FaultInjectedError, parseFault } from './fault.js';

t.test('CRIU_FAULT values', async (t) => {
  t.equal(parseFault(undefined), undefined);
  t.equal(parseFault(''), undefined);
  t.strictSame(parseFault('3'), { id: 3, what: undefined });
  t.strictSame(parseFault('1002:files'), { id: 1002, what: 'files' });
  t.throws(() => parseFault('999'), { code: 'EINVAL', message: /CRIU_FAULT=999: not a fault point/ });
  t.throws(() => parseFault('x'), { code: 'EINVAL' });
});

t.test('every point has a distinct number and name; upstream numbers are upstream meanings', async (t) => {
  const points = Object.values(FAULT);
  t.equal(new Set(points.map((p) => p.id)).size, points.length);
  t.equal(new Set(points.map((p) => p.name)).size, points.length);
  t.equal(FAULT.DUMP_EARLY.id, 1);
  t.equal(FAULT.RESTORE_ROOT_ONLY.id, 2);
  t.equal(FAULT.DUMP_PAGES.id, 3);
  t.equal(FAULT.RESTORE_OPEN_LINK_REMAP.id, 4);
  t.equal(FAULT.PARASITE_CONNECT.id, 5);
  t.equal(FAULT.POST_RESTORE.id, 6);
  t.equal(FAULT.DUMP_CRASH.id, 136);
});

t.test('the error names the point', async (t) => {
  const error = new FaultInjectedError(FAULT.DUMP_KIND, 'files');
  t.equal(error.code, 'EFAULTINJECTED');
  t.equal(error.message, 'fault injected (CRIU_FAULT=1002:files): dump-kind');
});
