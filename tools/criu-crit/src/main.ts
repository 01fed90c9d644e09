#!/usr/bin/env node
// criu-crit: crit's verbs (decode, encode, show, info) over @criu-ts/images.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CriuError, ImageError } from '@criu-ts/base';
import { decode, encode, info } from './verbs.js';

const inOption = { alias: 'in', type: 'string', description: 'input file (stdin by default)' } as const;
const outOption = { alias: 'out', type: 'string', description: 'output file (stdout by default)' } as const;

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

function main(argv: string[]): void {
  void yargs(argv)
    .scriptName('criu-crit')
    .usage('$0 COMMAND\n\nCRiu Image Tool: convert CRIU images to JSON and back')
    .command('decode', 'convert criu image from binary type to json', (y) =>
      y.option('i', inOption).option('o', outOption).option('pretty', {
        type: 'boolean', default: false, description: 'Multiline with indents and some numerical fields in field-specific format',
      }), (args) => guard(() => decode({ in: args.i, out: args.o, pretty: args.pretty })))
    .command('encode', 'convert criu image from json type to binary', (y) =>
      y.option('i', inOption).option('o', outOption), (args) => guard(() => encode({ in: args.i, out: args.o })))
    .command('show <in>', 'convert criu image from binary to human-readable json', (y) =>
      y.positional('in', { type: 'string', demandOption: true, description: 'image file' })
        .option('nopl', { type: 'boolean', default: false, description: 'do not show entry payload (if exists)' }),
    (args) => guard(() => decode({ in: args.in, pretty: true, nopl: args.nopl })))
    .command('info <in>', 'show info about image', (y) =>
      y.positional('in', { type: 'string', demandOption: true, description: 'image file' }), (args) => guard(() => info({ in: args.in })))
    .demandCommand(1, 'give a command: decode, encode, show or info')
    .strict()
    .help('h')
    .alias('h', 'help')
    .version(false)
    .fail((message, error) => fail(error ?? new CriuError(message, { code: 'EUSAGE' })))
    .parseSync();
}

main(hideBin(process.argv));
