#!/usr/bin/env node
// criu(8) umbrella: `criu COMMAND [options]` runs the tool criu-COMMAND
// with the same arguments, stdio inherited, and exits as it exits. Kept
// thin on purpose: no yargs, no config files, no logging here.
import { readFileSync } from 'node:fs';
import { findCommand, usageText } from './commands.js';
import { runCommandTool } from './run-child.js';

function fail(message: string): void {
  process.stderr.write(`criu: ${message}\n\n${usageText()}`);
  process.exitCode = 1;
}

/** The command word and the other arguments (options given before the command are moved after it). */
function splitCommand(argv: readonly string[]): { name: string; rest: string[] } | undefined {
  const first = argv[0];
  if (first === undefined) return undefined;
  let at = 0;
  if (first.startsWith('-')) {
    const end = argv.indexOf('--');
    at = argv.findIndex((word, i) => (end < 0 || i < end) && findCommand(word) !== undefined);
    if (at < 0) at = argv.findIndex((word) => !word.startsWith('-'));
    if (at < 0) return undefined;
  }
  return { name: argv[at] ?? '', rest: [...argv.slice(0, at), ...argv.slice(at + 1)] };
}

function main(argv: readonly string[]): void {
  const first = argv[0];
  if (first === '-h' || first === '--help') {
    process.stdout.write(usageText());
    return;
  }
  if (first === '-V' || first === '--version') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string; criuVersion: string };
    // as criu(8) prints it: the CRIU version whose CLI and images we implement, then what we are
    process.stdout.write(`Version: ${pkg.criuVersion}\nGitID: criu-ts-${pkg.version}\n`);
    return;
  }
  const split = splitCommand(argv);
  if (split === undefined) return fail('command is required');
  const command = findCommand(split.name);
  if (command === undefined) return fail(`unknown command: ${split.name}`);
  if (command.tool === undefined) {
    for (const line of command.deprecated ?? []) process.stderr.write(`Error (criu): ${line}\n`);
    process.exitCode = 1;
    return;
  }
  runCommandTool(command.tool, [...(command.prefix ?? []), ...split.rest], process.env);
}

main(process.argv.slice(2));
