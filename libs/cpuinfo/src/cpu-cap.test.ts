import t from 'tap';
import { CPU_CAP_ALL, CPU_CAP_DEFAULT, capsForCpuinfoCheck, formatCpuCaps, parseCpuCap } from './index.js';

t.test('--cpu-cap words, defaults and negation as criu(8) describes', async (t) => {
  t.same(CPU_CAP_DEFAULT, { fpu: true, ins: true, cpu: false, image: false }, 'no --cpu-cap: fpu and ins, no image');
  t.same(parseCpuCap(undefined), CPU_CAP_ALL, 'bare --cpu-cap: all, with the image');
  t.same(parseCpuCap('all'), CPU_CAP_ALL);
  t.same(parseCpuCap('none'), { fpu: false, ins: false, cpu: false, image: false }, 'none: no image, no check');
  t.same(parseCpuCap('cpu'), { fpu: true, ins: true, cpu: true, image: true }, 'caps add to the default');
  t.same(parseCpuCap('^ins'), { fpu: true, ins: false, cpu: false, image: true }, '^ removes a cap');
  t.same(parseCpuCap('none,fpu'), { fpu: true, ins: false, cpu: false, image: true }, 'none then fpu: fpu only');
  t.same(parseCpuCap('^^fpu', parseCpuCap('none')), { fpu: true, ins: false, cpu: false, image: true }, 'each ^ toggles');
  t.same(parseCpuCap('^none'), CPU_CAP_ALL, '^none is all');
  t.same(parseCpuCap('^all'), { fpu: false, ins: false, cpu: false, image: false });
  t.same(parseCpuCap('ins', parseCpuCap('none')), { fpu: false, ins: true, cpu: false, image: true }, 'occurrences accumulate');
  t.throws(() => parseCpuCap('fpu,avx'), /unknown CPU capability 'avx'/);
  t.throws(() => parseCpuCap('fpu,,ins'), /empty CPU capability/);
  t.equal(formatCpuCaps(parseCpuCap('all')), 'fpu,ins,cpu');
  t.equal(formatCpuCaps(parseCpuCap('none')), 'none');
  t.same(capsForCpuinfoCheck(parseCpuCap('none')), CPU_CAP_ALL, 'cpuinfo check with no caps checks all');
});
