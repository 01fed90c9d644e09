import t from 'tap';
import { UsageError } from '@criu-ts/base';
import { catchError } from './test-helpers.js';
import { indexOptions } from './canonical-args.js';
import { commonOptions } from './common-options.js';
import { configTokens, parseConfigText, splitConfigLine } from './config-file.js';
import { dumpOptions } from './dump-options.js';

const index = indexOptions({ ...commonOptions, ...dumpOptions });

t.test('words, comments and whitespace', async (t) => {
  t.same(splitConfigLine('tcp-established'), ['tcp-established']);
  t.same(splitConfigLine('  \tlog-file   dump.log  # trailing comment'), ['log-file', 'dump.log']);
  t.same(splitConfigLine('# a whole-line comment'), []);
  t.same(splitConfigLine('   '), []);
  t.same(splitConfigLine('external mnt[/a#b]:x'), ['external', 'mnt[/a#b]:x'], "'#' inside a word is not a comment (as criu)");
});

t.test('double quotes, \\" escapes, other escapes literal', async (t) => {
  t.same(splitConfigLine('work-dir "/home/u/criu/my \\"work\\" directory"'), ['work-dir', '/home/u/criu/my "work" directory']);
  t.same(splitConfigLine('log-file "a\\nb\\tc\\\\d"'), ['log-file', 'a\\nb\\tc\\\\d']);
  t.same(splitConfigLine('log-file ""'), ['log-file', '']);
  t.same(splitConfigLine('log-file "a # not a comment" # comment'), ['log-file', 'a # not a comment']);
  t.same(splitConfigLine('log-file un\\"quoted'), ['log-file', 'un\\"quoted'], 'escapes outside quotes are literal');
  t.throws(() => splitConfigLine('log-file "open'), /unterminated double quote/);
});

t.test('the man page example parses', async (t) => {
  const text = ['tcp-established', 'work-dir "/home/USERNAME/criu/my \\"work\\" directory"', '#this is a comment', 'no-restore-sibling\t# this is another comment', ''].join('\n');
  const lines = parseConfigText(text, '/etc/criu/default.conf');
  t.same(
    lines.map((l) => [l.line, l.words]),
    [
      [1, ['tcp-established']],
      [2, ['work-dir', '/home/USERNAME/criu/my "work" directory']],
      [4, ['no-restore-sibling']],
    ],
  );
  const { tokens, notes } = configTokens(index, lines);
  t.same(tokens, ['--tcp-established=true', '--work-dir=:/home/USERNAME/criu/my "work" directory']);
  t.match(notes, [/default\.conf:4: 'no-restore-sibling' is not used by this command/], "another command's option is skipped, not an error");
});

t.test('bad lines name the file and line', async (t) => {
  const bad = (text: string, pattern: RegExp): void => {
    const error = catchError(() => configTokens(index, parseConfigText(text, '/x/c.conf')));
    t.type(error, UsageError, text);
    t.match(error instanceof Error ? error.message : '', pattern, text);
  };
  bad('tcp-established\ndump', /^\/x\/c\.conf:2: 'dump' is a command; commands are not allowed/);
  bad('restore', /^\/x\/c\.conf:1: .*commands are not allowed/);
  bad('\n\nbogus-option', /^\/x\/c\.conf:3: unknown option --bogus-option/);
  bad('tcp-established yes', /^\/x\/c\.conf:1: option --tcp-established does not take an argument/);
  bad('log-file', /^\/x\/c\.conf:1: option --log-file requires an argument/);
  bad('timeout ten', /^\/x\/c\.conf:1: invalid argument for --timeout/);
  bad('log-file a b', /^\/x\/c\.conf:1: too many words/);
  bad('--tcp-established', /^\/x\/c\.conf:1: write 'tcp-established', without the leading dashes/);
  bad('help', /^\/x\/c\.conf:1: 'help' is not allowed/);
  bad('x\nwork-dir "unterminated', /^\/x\/c\.conf:2: unterminated double quote/);
});

t.test('arguments: separate word, name=value, optional values, negation', async (t) => {
  const { tokens } = configTokens(index, parseConfigText('verbosity 4\nmanage-cgroups full\ncpu-cap\nghost-limit=2M\nno-tcp-established\nverbosity', 'f'));
  t.same(tokens, ['--verbosity=:4', '--manage-cgroups=:full', '--cpu-cap=:all', '--ghost-limit=:2M', '--tcp-established=false', '--verbosity=:+1']);
});
