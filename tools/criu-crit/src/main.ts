#!/usr/bin/env node
// criu-crit: crit's verbs (decode, encode, show, info) over @criu-ts/images,
// on image files and on checkpoint streams (stream-verbs.ts).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CriuError, ImageError } from '@criu-ts/base';
import { decodeStreamMember, infoStreamMember, isStreamFile, streamMembers, writeJson } from './stream-verbs.js';
import { decode, encode, info } from './verbs.js';

const inOption = { alias: 'in', type: 'string', description: 'input file (stdin by default)' } as const;
const outOption = { alias: 'out', type: 'string', description: 'output file (stdout by default)' } as const;
const memberOption = {
  alias: 'member', type: 'string',
  description: 'the input is a checkpoint stream (criu-dump --stream; a file holding one is recognised by itself): use its image NAME',
} as const;

function fail(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`criu-crit: ${message}\n`);
  if (error instanceof CriuError && error.hint !== undefined) process.stderr.write(`criu-crit: ${error.hint}\n`);
  if (error instanceof ImageError && /unknown magic/.test(error.message)) {
    process.stderr.write('criu-crit: maybe this is an image with raw data (i.e. pages.img)?\n');
  }
  process.exit(error instanceof CriuError ? error.exitCode : 1);
}

/** Run a verb; any error it throws is reported and becomes the exit status. */
function guard(verb: () => void): void {
  try {
    verb();
  } catch (error) {
    fail(error);
  }
}

/** Run an asynchronous verb; any error it throws is reported and becomes the exit status. */
function guardAsync(verb: () => Promise<void>): void {
  verb().catch(fail);
}

interface ReadArgs {
  input: string | undefined;
  member: string | undefined;
}

/** Whether the input is a checkpoint stream: --member given, or a file starting with a tar header. */
function isStream(args: ReadArgs): boolean {
  return args.member !== undefined || (args.input !== undefined && isStreamFile(args.input));
}

function needMember(args: ReadArgs): string {
  if (args.member !== undefined) return args.member;
  throw new CriuError(`${args.input ?? 'stdin'} is a checkpoint stream: say which image with -m/--member NAME`, {
    code: 'EUSAGE', hint: `list its images with: criu-crit info ${args.input ?? '-'}`,
  });
}

/** decode and show: an image file, or a member of a stream. */
function decodeAny(args: ReadArgs & { out?: string; pretty: boolean; nopl?: boolean }): void {
  if (!isStream(args)) return guard(() => decode({ in: args.input, out: args.out, pretty: args.pretty, nopl: args.nopl }));
  guardAsync(async () => {
    const json = await decodeStreamMember({ in: args.input, member: needMember(args), pretty: args.pretty, nopl: args.nopl });
    writeJson(json, args.pretty ? 4 : undefined, args.out);
  });
}

/** info: an image file, a member of a stream, or (no member) the stream's list of images. */
function infoAny(args: ReadArgs): void {
  const input = args.input === '-' ? undefined : args.input;
  if (input !== undefined && !isStream(args)) return guard(() => info({ in: input }));
  guardAsync(async () => {
    const json = args.member === undefined ? await streamMembers(input) : await infoStreamMember(input, args.member);
    writeJson(json, 4, undefined);
  });
}

function main(argv: string[]): void {
  void yargs(argv)
    .scriptName('criu-crit')
    .usage('$0 COMMAND\n\nCRiu Image Tool: convert CRIU images to JSON and back.\n' +
      'Checkpoint streams (criu-dump --stream) work too: `info STREAM` lists their images, ' +
      '`show STREAM -m core-42.img` / `decode -i STREAM -m NAME` decode one (stdin: `decode -m NAME`).')
    .command('decode', 'convert criu image from binary type to json', (y) =>
      y.option('i', inOption).option('o', outOption).option('m', memberOption).option('pretty', {
        type: 'boolean', default: false, description: 'Multiline with indents and some numerical fields in field-specific format',
      }), (args) => decodeAny({ input: args.i, member: args.m, out: args.o, pretty: args.pretty }))
    .command('encode', 'convert criu image from json type to binary', (y) =>
      y.option('i', inOption).option('o', outOption), (args) => guard(() => encode({ in: args.i, out: args.o })))
    .command('show <in>', 'convert criu image from binary to human-readable json', (y) =>
      y.positional('in', { type: 'string', demandOption: true, description: 'image file, or checkpoint stream with -m' })
        .option('m', memberOption)
        .option('nopl', { type: 'boolean', default: false, description: 'do not show entry payload (if exists)' }),
    (args) => decodeAny({ input: args.in, member: args.m, pretty: true, nopl: args.nopl }))
    .command('info <in>', 'show info about image; on a checkpoint stream (- for stdin), list its images', (y) =>
      y.positional('in', { type: 'string', demandOption: true, description: 'image file or checkpoint stream' }).option('m', memberOption),
    (args) => infoAny({ input: args.in, member: args.m }))
    .demandCommand(1, 'give a command: decode, encode, show or info')
    .strict()
    .help('h')
    .alias('h', 'help')
    .version(false)
    .fail((message, error) => fail(error ?? new CriuError(message, { code: 'EUSAGE' })))
    .parseSync();
}

main(hideBin(process.argv));
