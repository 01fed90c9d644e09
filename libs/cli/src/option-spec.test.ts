import t from 'tap';
import { cpuCapOption } from './cpu-cap.js';
import { camelCase, initialValues, parseInteger, parseSize } from './option-spec.js';
import { commonOptions } from './common-options.js';

t.test('sizes take K, M, G suffixes (powers of 1024)', async (t) => {
  t.equal(parseSize('4096'), 4096);
  t.equal(parseSize('1K'), 1024);
  t.equal(parseSize('1M'), 1048576);
  t.equal(parseSize('3G'), 3 * 2 ** 30);
  t.throws(() => parseSize('1.5M'), /not a size/);
  t.throws(() => parseSize('M'), /not a size/);
});

t.test('integers are decimal and bounded', async (t) => {
  t.equal(parseInteger('10', 0, 10), 10);
  t.throws(() => parseInteger('11', 0, 10), /out of range/);
  t.throws(() => parseInteger('0x10', 0, 100), /not a number/);
  t.throws(() => parseInteger('-1', 0, 100), /not a number/);
});

t.test('cpu-cap accumulates like criu', async (t) => {
  const option = cpuCapOption('test');
  t.same(option.initial, { fpu: true, ins: true, cpu: false, image: false }, 'fpu,ins and no image unless given');
  const base = option.reduce(option.initial, 'fpu');
  t.same(option.reduce(base, 'cpu'), { fpu: true, ins: true, cpu: true, image: true });
  t.same(option.reduce(option.initial, 'none'), { fpu: false, ins: false, cpu: false, image: false });
  t.same(option.reduce(base, '^^fpu'), base, 'a double ^ cancels');
  t.throws(() => option.reduce(base, 'fpu,avx'), /unknown CPU capability 'avx'/);
});

t.test('camelCase names and initial values', async (t) => {
  t.equal(camelCase('tls-no-cn-verify'), 'tlsNoCnVerify');
  const initial = initialValues(commonOptions);
  t.equal(initial.verbosity, 2);
  t.equal(initial.imagesDir, '.');
  t.same(initial.actionScript, []);
  t.equal(initial.logFile, undefined);
});
