// Turns criu(8)-style arguments into one canonical form before yargs sees
// them: a flag becomes `--LONG=true|false` (so `--no-X` is `--X=false`),
// any other option `--LONG=:RAW` (the ':' keeps yargs from dropping an
// empty RAW or stripping its quotes); short clusters are split, getopt
// rules decide what takes the next word. So yargs never guesses, and config
// files and the command line reach it in the same shape.
import { UsageError } from '@criu-ts/base';
import { criuLongOptions, criuShortOptions } from './criu-option-names.js';
import type { OptionSpec, OptionTable } from './option-spec.js';

export interface OptionIndex {
  readonly table: OptionTable;
  readonly shorts: ReadonlyMap<string, string>;
}

export function indexOptions(table: OptionTable): OptionIndex {
  const shorts = new Map<string, string>();
  for (const [name, spec] of Object.entries(table)) if (spec.short !== undefined) shorts.set(spec.short, name);
  return { table, shorts };
}

/** yields the following word, consuming it only if `accept` (when given) approves it */
export type NextWord = (accept?: (word: string) => boolean) => string | undefined;

interface Found {
  name: string;
  spec: OptionSpec<unknown>;
  negated: boolean;
}

function lookup(index: OptionIndex, name: string): Found | undefined {
  const spec = index.table[name];
  if (spec !== undefined) return { name, spec, negated: false };
  const plain = name.startsWith('no-') ? name.slice(3) : undefined;
  const negatable = plain === undefined ? undefined : index.table[plain];
  if (plain !== undefined && negatable?.kind === 'flag') return { name: plain, spec: negatable, negated: true };
  return undefined;
}

/** true if criu(8) knows `--name` (for some command), though this tool does not */
export function isForeignOption(index: OptionIndex, name: string): boolean {
  if (lookup(index, name) !== undefined) return false;
  return criuLongOptions.has(name) || (name.startsWith('no-') && criuLongOptions.get(name.slice(3)) === 'none');
}

function unknownOption(index: OptionIndex, written: string, name: string): UsageError {
  if (isForeignOption(index, name)) return new UsageError(`option ${written} is not used by this command`);
  return new UsageError(`unknown option ${written}`);
}

/** Check `raw` against the option's parser and return the canonical token. */
export function canonicalToken(found: Found, raw: string): string {
  try {
    found.spec.reduce(found.spec.initial, raw);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    throw new UsageError(`invalid argument for --${found.name}: ${error.message}`, { cause: error });
  }
  return `--${found.name}=${RAW_MARK}${raw}`;
}

/** prefix of a non-flag option's raw text in canonical tokens */
export const RAW_MARK = ':';

/**
 * One long option as `name` with an optional `=value`; `next` yields the
 * following word when the option requires an argument (config lines pass
 * their argument here).
 */
export function canonicalLong(index: OptionIndex, body: string, next: NextWord): string {
  const eq = body.indexOf('=');
  const name = eq < 0 ? body : body.slice(0, eq);
  const value = eq < 0 ? undefined : body.slice(eq + 1);
  const found = lookup(index, name);
  if (found === undefined) throw unknownOption(index, `--${name}`, name);
  const { spec } = found;
  if (spec.kind === 'flag') {
    if (value !== undefined) throw new UsageError(`option --${name} does not take an argument`);
    return `--${found.name}=${found.negated ? 'false' : 'true'}`;
  }
  if (spec.kind === 'optional-value') return canonicalToken(found, value ?? optionalNext(found, next) ?? spec.bare ?? '');
  const raw = value ?? next();
  if (raw === undefined) throw new UsageError(`option --${name} requires an argument`);
  return canonicalToken(found, raw);
}

/** `--verbosity 3` sets the level (a bare --verbosity raises it): the only optional argument taken from the next word */
function optionalNext(found: Found, next: NextWord): string | undefined {
  return found.name === 'verbosity' ? next((word) => /^\d+$/.test(word)) : undefined;
}

function verbosityRaw(rest: string): string {
  if (rest === '') return '+1';
  if (/^v+$/.test(rest)) return `+${rest.length + 1}`;
  // as criu's atoi(optarg): leading digits, else 0 (zdtm runs `criu check -verbosity=0`)
  return /^\d+/.exec(rest)?.[0] ?? '0';
}

/** A short-option cluster without its dash, e.g. 'Rj', 't1234', 'vvv', 'v4'. */
function canonicalShort(index: OptionIndex, cluster: string, next: NextWord): string[] {
  const tokens: string[] = [];
  for (let i = 0; i < cluster.length; i++) {
    const letter = cluster.charAt(i);
    const name = index.shorts.get(letter);
    const spec = name === undefined ? undefined : index.table[name];
    if (name === undefined || spec === undefined) {
      const foreign = criuShortOptions.has(letter);
      throw new UsageError(foreign ? `option -${letter} is not used by this command` : `unknown option -${letter}`);
    }
    const found = { name, spec, negated: false };
    const rest = cluster.slice(i + 1);
    if (spec.kind === 'flag') {
      tokens.push(`--${name}=true`);
      continue;
    }
    if (name === 'verbosity') tokens.push(canonicalToken(found, verbosityRaw(rest)));
    else if (spec.kind === 'optional-value') tokens.push(canonicalToken(found, rest === '' ? (spec.bare ?? '') : rest));
    else {
      const raw = rest === '' ? next() : rest;
      if (raw === undefined) throw new UsageError(`option -${letter} requires an argument`);
      tokens.push(canonicalToken(found, raw));
    }
    break;
  }
  return tokens;
}

/** Command-line words → canonical tokens; positionals stay where they are, '--' ends options. */
export function canonicalArgs(index: OptionIndex, argv: readonly string[]): string[] {
  const tokens: string[] = [];
  let i = 0;
  const next: NextWord = (accept) => {
    const word = argv[i + 1];
    if (word === undefined || (accept !== undefined && !accept(word))) return undefined;
    i++;
    return word;
  };
  for (; i < argv.length; i++) {
    const word = argv[i] ?? '';
    if (word === '--') {
      tokens.push(...argv.slice(i));
      break;
    }
    if (word.startsWith('--')) tokens.push(canonicalLong(index, word.slice(2), next));
    else if (word.startsWith('-') && word.length > 1) tokens.push(...canonicalShort(index, word.slice(1), next));
    else tokens.push(word);
  }
  return tokens;
}

/** Whether the raw command line asks for help or the version (checked before config files are read, as criu does). */
export function wantsHelpOrVersion(argv: readonly string[]): 'help' | 'version' | undefined {
  for (const word of argv) {
    if (word === '--') break;
    if (word === '-h' || word === '--help') return 'help';
    if (word === '-V' || word === '--version') return 'version';
  }
  return undefined;
}
