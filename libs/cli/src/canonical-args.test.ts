import t from 'tap';
import { UsageError } from '@criu-ts/base';
import { catchError } from './test-helpers.js';
import { canonicalArgs, indexOptions, wantsHelpOrVersion } from './canonical-args.js';
import { commonOptions } from './common-options.js';
import { dumpOptions } from './dump-options.js';
import { parseCanonical } from './parse-options.js';

const table = { ...commonOptions, ...dumpOptions };
const index = indexOptions(table);
const parse = (argv: string[]) => parseCanonical(table, canonicalArgs(index, argv));

t.test('verbosity forms', async (t) => {
  const level = (argv: string[]): number => parse(argv).values.verbosity;
  t.equal(level([]), 2, 'default 2');
  t.equal(level(['-v']), 3);
  t.equal(level(['-vv']), 4);
  t.equal(level(['-vvv']), 5, 'each v adds one, as criu');
  t.equal(level(['-v', '-v']), 4);
  t.equal(level(['-v4']), 4);
  t.equal(level(['-v0']), 0);
  t.equal(level(['--verbosity=0']), 0);
  t.equal(level(['--verbosity', '3']), 3);
  t.equal(level(['--verbosity']), 3);
  t.equal(level(['--verbosity', '-t', '1']), 3, 'a bare --verbosity does not eat the next option');
  t.equal(level(['-v1', '-v']), 2, 'in order: set then raise');
  t.equal(level(['-jv']), 3, 'v at the end of a cluster');
  t.throws(() => parse(['-vx']), /invalid argument for --verbosity/);
  t.equal(level(['-verbosity=0']), 0, "zdtm's -verbosity=0, as criu's getopt reads it");
  t.throws(() => parse(['-verbosity=x']), /invalid argument for --verbosity/);
});

t.test('flags, negation, last one wins', async (t) => {
  t.equal(parse(['--tcp-established']).values.tcpEstablished, true);
  t.equal(parse(['--tcp-established', '--no-tcp-established']).values.tcpEstablished, false);
  t.equal(parse(['--no-tcp-established', '--tcp-established']).values.tcpEstablished, true);
  const v = parse(['-Rj']).values;
  t.ok(v.leaveRunning && v.shellJob, 'short clusters');
  t.throws(() => parse(['--leave-running=1']), /does not take an argument/);
  t.throws(() => parse(['--no-tree']), /unknown option --no-tree/, 'only flags negate');
});

t.test('values: attached, separate, repeated, typed', async (t) => {
  const v = parse(['-t1234', '-D', '/imgs', '--timeout=3', '--ghost-limit', '2K', '-o', '-', '--action-script', 'a', '--action-script=b']).values;
  t.equal(v.tree, 1234);
  t.equal(v.imagesDir, '/imgs');
  t.equal(v.timeout, 3);
  t.equal(v.ghostLimit, 2048);
  t.equal(v.logFile, '-', "'-' is a value, not an option");
  t.same(v.actionScript, ['a', 'b']);
  t.equal(parse(['-t', '1', '-t', '2']).values.tree, 2);
  t.equal(parse([]).values.timeout, 10);
  t.equal(parse([]).values.ghostLimit, 1 << 20);
  t.equal(parse(['--ghost-limit=1G']).values.ghostLimit, 1 << 30);
});

t.test('optional arguments need =', async (t) => {
  t.equal(parse(['--manage-cgroups']).values.manageCgroups, 'soft');
  t.equal(parse(['--manage-cgroups=full']).values.manageCgroups, 'full');
  t.same(parse(['--manage-cgroups', 'pre-dump']).positionals, ['pre-dump'], 'the next word is not its argument');
  t.same(parse(['--cpu-cap']).values.cpuCap, { fpu: true, ins: true, cpu: true, image: true });
  t.same(parse(['--cpu-cap=none']).values.cpuCap, { fpu: false, ins: false, cpu: false, image: false });
  t.same(parse(['--cpu-cap=none,fpu']).values.cpuCap, { fpu: true, ins: false, cpu: false, image: true });
  t.same(parse(['--cpu-cap=^ins']).values.cpuCap, { fpu: true, ins: false, cpu: false, image: true });
  t.same(parse(['-x']).values.extUnixSk, []);
  t.same(parse(['--ext-unix-sk=1,2']).values.extUnixSk, ['1', '2']);
  t.equal(parse([]).values.extUnixSk, undefined);
});

t.test('errors are usage errors', async (t) => {
  const bad = (argv: string[], pattern: RegExp): void => {
    const error = catchError(() => parse(argv));
    t.type(error, UsageError, argv.join(' '));
    t.match(error instanceof Error ? error.message : '', pattern, argv.join(' '));
  };
  bad(['--bogus'], /^unknown option --bogus$/);
  bad(['-q'], /^unknown option -q$/);
  bad(['--inherit-fd', 'fd[1]:x'], /^option --inherit-fd is not used by this command$/);
  bad(['-d'], /^option -d is not used by this command$/);
  bad(['-t'], /^option -t requires an argument$/);
  bad(['--tree'], /^option --tree requires an argument$/);
  bad(['-t', '0'], /invalid argument for --tree: 0 is out of range/);
  bad(['--ghost-limit', '1T'], /invalid argument for --ghost-limit/);
  bad(['--manage-cgroups=sometimes'], /is not one of none, props/);
  bad(['--external', 'nonsense'], /not of the form TYPE\[ID\]/);
  bad(['--cpu-cap=avx'], /unknown CPU capability 'avx'/);
});

t.test('-- ends options; help and version are found before anything else', async (t) => {
  t.same(parse(['-t', '1', '--', '--tree', 'x']).positionals, ['--tree', 'x']);
  t.equal(wantsHelpOrVersion(['--bogus', '-h']), 'help');
  t.equal(wantsHelpOrVersion(['-V']), 'version');
  t.equal(wantsHelpOrVersion(['--', '-h']), undefined);
});

t.test('values reach the option untouched: empty, quoted, dash-led', async (t) => {
  t.equal(parse(['--log-file=']).values.logFile, '');
  t.equal(parse(['--log-file', '"q"']).values.logFile, '"q"');
  t.same(parse(['--action-script', '-x', '--action-script=']).values.actionScript, ['-x', '']);
});
