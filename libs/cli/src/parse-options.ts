// From canonical tokens (config files' first, then the command line's) to
// typed values. yargs collects each option's occurrences in order; each
// descriptor's `reduce` folds them, so the last one wins or they
// accumulate, as the option says.
// yargs-parser is yargs' own parser without yargs' help machinery (whose
// Unicode tables cost tens of ms at every start); unknown options are
// refused before this, in canonical-args.ts.
import parse from 'yargs-parser';
import { UsageError } from '@criu-ts/base';
import { RAW_MARK } from './canonical-args.js';
import { camelCase, type OptionTable, type OptionValues } from './option-spec.js';

export interface ParsedOptions<T extends OptionTable> {
  values: OptionValues<T>;
  /** words that are not options, in order */
  positionals: string[];
}

function parseTokens(table: OptionTable, tokens: readonly string[]): Record<string, unknown> {
  const names = Object.entries(table);
  const strings = names.filter(([, spec]) => spec.kind !== 'flag').map(([name]) => name);
  const result = parse.detailed([...tokens], {
    boolean: names.filter(([, spec]) => spec.kind === 'flag').map(([name]) => name),
    string: strings,
    array: strings,
    configuration: {
      'boolean-negation': false,
      'camel-case-expansion': false,
      'dot-notation': false,
      'duplicate-arguments-array': true,
      'flatten-duplicate-arrays': true,
      'greedy-arrays': false,
      'parse-numbers': false,
      'parse-positional-numbers': false,
      'strip-aliased': true,
    },
  });
  if (result.error !== null) throw new UsageError(result.error.message, { cause: result.error });
  return result.argv as Record<string, unknown>;
}

function occurrences(raw: unknown): string[] {
  if (raw === undefined) return [];
  if (Array.isArray(raw)) return raw.map(String);
  return [String(raw)];
}

function unmark(raw: string): string {
  return raw.startsWith(RAW_MARK) ? raw.slice(RAW_MARK.length) : raw;
}

/** Typed values and positionals from canonical tokens (see canonical-args.ts). */
export function parseCanonical<T extends OptionTable>(table: T, tokens: readonly string[]): ParsedOptions<T> {
  const argv = parseTokens(table, tokens);
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    let value = spec.initial;
    for (const raw of occurrences(argv[name])) value = spec.reduce(value, spec.kind === 'flag' ? raw : unmark(raw));
    values[camelCase(name)] = value;
  }
  return { values: values as OptionValues<T>, positionals: occurrences(argv._) };
}

/** The last raw value of `--name` among canonical tokens, before any '--'. */
export function lastRaw(tokens: readonly string[], name: string): string | undefined {
  let found: string | undefined;
  const prefix = `--${name}=`;
  for (const token of tokens) {
    if (token === '--') break;
    if (token.startsWith(prefix)) found = unmark(token.slice(prefix.length));
  }
  return found;
}
