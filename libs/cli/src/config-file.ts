// Config files as criu(8) "CONFIGURATION FILES" describes them: one option
// per line without the leading '--', its argument after whitespace,
// optionally in double quotes (where \" is a quote and every other
// backslash is literal); '#' starts a comment; commands are not allowed.
import { UsageError } from '@criu-ts/base';
import { canonicalLong, isForeignOption, type OptionIndex } from './canonical-args.js';
import { criuCommands } from './criu-option-names.js';

export interface ConfigLine {
  file: string;
  /** 1-based */
  line: number;
  words: string[];
}

/** A double-quoted word starting at `start` (the opening quote): its text and the index after the closing quote. */
function quotedWord(text: string, start: number): { word: string; end: number } {
  let word = '';
  for (let i = start + 1; i < text.length; i++) {
    const ch = text.charAt(i);
    if (ch === '"') return { word, end: i + 1 };
    if (ch === '\\' && text.charAt(i + 1) === '"') {
      word += '"';
      i++;
    } else word += ch;
  }
  throw new Error('unterminated double quote');
}

/** The words of one line, comments dropped. Throws an Error saying what is wrong. */
export function splitConfigLine(text: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text.charAt(i))) i++;
    if (i >= text.length || text.charAt(i) === '#') break;
    if (text.charAt(i) === '"') {
      const { word, end } = quotedWord(text, i);
      if (end < text.length && !/\s/.test(text.charAt(end))) throw new Error('text right after a closing quote');
      words.push(word);
      i = end;
      continue;
    }
    const start = i;
    while (i < text.length && !/\s/.test(text.charAt(i))) i++;
    words.push(text.slice(start, i));
  }
  return words;
}

/** Parse a config file's text; errors name the file and line. */
export function parseConfigText(text: string, file: string): ConfigLine[] {
  const lines: ConfigLine[] = [];
  text.split('\n').forEach((content, n) => {
    let words: string[];
    try {
      words = splitConfigLine(content);
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      throw new UsageError(`${file}:${n + 1}: ${error.message}`);
    }
    if (words.length > 0) lines.push({ file, line: n + 1, words });
  });
  return lines;
}

/** What one config line contributes: canonical tokens, or a note explaining why it was skipped. */
export type ConfigEffect = { tokens: string[] } | { note: string };

const ignoredInFiles = new Set(['config', 'no-default-config']);
const refusedInFiles = new Set(['help', 'version']);

function effectOf(index: OptionIndex, words: readonly string[]): ConfigEffect {
  const [name = '', value, extra] = words;
  if (criuCommands.includes(name)) throw new Error(`'${name}' is a command; commands are not allowed in a config file`);
  if (name.startsWith('-')) throw new Error(`write '${name.replace(/^-+/, '')}', without the leading dashes`);
  if (extra !== undefined) throw new Error(`too many words: an option takes at most one argument (quote it if it has spaces)`);
  const bare = name.split('=')[0] ?? name;
  if (value !== undefined && bare !== name) throw new Error(`'${name}' already has an argument`);
  if (refusedInFiles.has(bare)) throw new Error(`'${bare}' is not allowed in a config file`);
  if (ignoredInFiles.has(bare)) return { note: `'${bare}' has no effect in a config file` };
  if (isForeignOption(index, bare)) return { note: `'${bare}' is not used by this command, skipped` };
  const body = value === undefined ? name : `${name}=${value}`;
  return { tokens: [canonicalLong(index, body, () => undefined)] };
}

/** Canonical tokens for each line, in order; a bad line is a UsageError naming file:line. */
export function configTokens(index: OptionIndex, lines: readonly ConfigLine[]): { tokens: string[]; notes: string[] } {
  const tokens: string[] = [];
  const notes: string[] = [];
  for (const line of lines) {
    let effect: ConfigEffect;
    try {
      effect = effectOf(index, line.words);
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      throw new UsageError(`${line.file}:${line.line}: ${error.message}`, { cause: error });
    }
    if ('note' in effect) notes.push(`${line.file}:${line.line}: ${effect.note}`);
    else tokens.push(...effect.tokens);
  }
  return { tokens, notes };
}
