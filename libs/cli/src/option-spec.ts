// Option descriptors: each option of a tool is one declarative record
// (how it is written, what its argument looks like, its value when absent)
// with a `reduce` that folds one occurrence into the value. Occurrences
// come in order (config files first, then the command line), so "last one
// wins" and "repeatable" are both just reductions.
//
// A table is a plain object keyed by the long name criu(8) uses; its
// typed values are `OptionValues<typeof table>`, keyed by the camelCase name.

/**
 * flag: no argument, negatable as --no-NAME; value: a required argument;
 * optional-value: an argument only in the `--name=ARG` form (getopt's
 * optional_argument), `bare` standing in when it is absent; list: a required
 * argument, repeatable, collected in order.
 */
export type OptionKind = 'flag' | 'value' | 'optional-value' | 'list';

export interface OptionSpec<T> {
  readonly kind: OptionKind;
  /** one-letter alias, e.g. 't' for --tree */
  readonly short?: string;
  readonly describe: string;
  /** the argument's name in --help, e.g. 'PID' */
  readonly argName?: string;
  /** for optional-value: the raw text used when no argument is given */
  readonly bare?: string;
  /** the value when the option is absent */
  readonly initial: T;
  /** fold one occurrence's raw text into the value; throws an Error whose message says what is wrong */
  reduce(previous: T, raw: string): T;
}

export type OptionTable = Readonly<Record<string, OptionSpec<unknown>>>;

/** 'tcp-established' → 'tcpEstablished' */
export type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

export type OptionValues<T extends OptionTable> = {
  -readonly [K in keyof T & string as CamelCase<K>]: T[K] extends OptionSpec<infer V> ? V : never;
};

export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

interface Common {
  short?: string;
  argName?: string;
}

/** A boolean switch, false unless given; `--no-NAME` sets it back to false. */
export function flag(describe: string, options: Common & { initial?: boolean } = {}): OptionSpec<boolean> {
  return {
    kind: 'flag',
    describe,
    ...options,
    initial: options.initial ?? false,
    reduce: (_previous, raw) => raw !== 'false',
  };
}

/** A text argument (a path, an address, a name); the last occurrence wins. */
export function text<D extends string | undefined = undefined>(describe: string, options: Common & { default?: D } = {}): OptionSpec<string | D> {
  return {
    kind: 'value',
    describe,
    short: options.short,
    argName: options.argName ?? 'ARG',
    initial: options.default as D,
    reduce: (_previous, raw) => raw,
  };
}

export function parseInteger(raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) throw new Error(`'${raw}' is not a number`);
  const value = Number(raw);
  if (value < min || value > max) throw new Error(`${value} is out of range ${min}..${max}`);
  return value;
}

/** A decimal integer within [min, max]; the last occurrence wins. */
export function int<D extends number | undefined = undefined>(
  describe: string,
  options: Common & { default?: D; min?: number; max?: number } = {},
): OptionSpec<number | D> {
  const min = options.min ?? 0;
  const max = options.max ?? 0x7fffffff;
  return {
    kind: 'value',
    describe,
    short: options.short,
    argName: options.argName ?? 'N',
    initial: options.default as D,
    reduce: (_previous, raw) => parseInteger(raw, min, max),
  };
}

const sizeUnits: Readonly<Record<string, number>> = { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 };

/** "1M" → 1048576: bytes with an optional K, M or G suffix (powers of 1024), as criu(8) --ghost-limit. */
export function parseSize(raw: string): number {
  const match = /^(\d+)([KMG]?)$/.exec(raw);
  if (match === null) throw new Error(`'${raw}' is not a size (a number with an optional K, M or G suffix)`);
  return Number(match[1]) * (sizeUnits[match[2] ?? ''] ?? 1);
}

/** A byte count with an optional K/M/G suffix; the last occurrence wins. */
export function size(describe: string, options: Common & { default: number }): OptionSpec<number> {
  return {
    kind: 'value',
    describe,
    short: options.short,
    argName: options.argName ?? 'SIZE',
    initial: options.default,
    reduce: (_previous, raw) => parseSize(raw),
  };
}

/**
 * One word out of a fixed set. With `bare`, the argument is optional
 * (`--name` alone means `--name=BARE`), as criu's --manage-cgroups [mode].
 */
export function choice<const C extends string, D extends C | undefined = undefined>(
  choices: readonly C[],
  describe: string,
  options: Common & { bare?: C; default?: D } = {},
): OptionSpec<C | D> {
  return {
    kind: options.bare === undefined ? 'value' : 'optional-value',
    describe: `${describe} (${choices.join(', ')})`,
    short: options.short,
    argName: options.argName ?? 'MODE',
    bare: options.bare,
    initial: options.default as D,
    reduce: (_previous, raw) => {
      const found = choices.find((c) => c === raw);
      if (found === undefined) throw new Error(`'${raw}' is not one of ${choices.join(', ')}`);
      return found;
    },
  };
}

/** A repeatable argument: every occurrence is kept, in order. */
export function list(describe: string, options: Common & { check?: (raw: string) => void } = {}): OptionSpec<string[]> {
  return {
    kind: 'list',
    describe: `${describe} (repeatable)`,
    short: options.short,
    argName: options.argName ?? 'ARG',
    initial: [],
    reduce: (previous, raw) => {
      options.check?.(raw);
      return [...previous, raw];
    },
  };
}

/** A repeatable integer (e.g. --close FD). */
export function intList(describe: string, options: Common & { min?: number; max?: number } = {}): OptionSpec<number[]> {
  return {
    kind: 'list',
    describe: `${describe} (repeatable)`,
    short: options.short,
    argName: options.argName ?? 'N',
    initial: [],
    reduce: (previous, raw) => [...previous, parseInteger(raw, options.min ?? 0, options.max ?? 0x7fffffff)],
  };
}

/** The initial values of a table, keyed by camelCase name. */
export function initialValues<T extends OptionTable>(table: T): OptionValues<T> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) values[camelCase(name)] = spec.initial;
  return values as OptionValues<T>;
}
