// --help text, written from the option tables: one line per option with
// its short form and argument, wrapped descriptions, groups in order.
import type { OptionSpec, OptionTable } from './option-spec.js';

export interface HelpSection {
  title: string;
  table: OptionTable;
}

function optionColumn(name: string, spec: OptionSpec<unknown>): string {
  const short = spec.short === undefined ? '    ' : `-${spec.short}, `;
  const arg = spec.argName ?? 'ARG';
  if (spec.kind === 'flag') return `${short}--${name}`;
  if (spec.kind === 'optional-value') return `${short}--${name}[=${arg}]`;
  return `${short}--${name} ${arg}`;
}

function defaultNote(spec: OptionSpec<unknown>): string {
  const { initial } = spec;
  if (typeof initial === 'number' || (typeof initial === 'string' && initial !== '')) return ` [default: ${initial}]`;
  return '';
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function sectionLines(section: HelpSection, column: number): string[] {
  const lines = [`${section.title}:`];
  for (const [name, spec] of Object.entries(section.table)) {
    const left = `  ${optionColumn(name, spec)}`;
    const text = wrap(`${spec.describe}${defaultNote(spec)}`, Math.max(30, 100 - column));
    const first = left.length + 2 <= column ? `${left.padEnd(column)}${text[0] ?? ''}` : `${left}\n${' '.repeat(column)}${text[0] ?? ''}`;
    lines.push(first, ...text.slice(1).map((t) => `${' '.repeat(column)}${t}`));
  }
  return lines;
}

/** The whole --help text. */
export function helpText(usage: string, summary: string, sections: readonly HelpSection[]): string {
  const column = 36;
  const parts = [`Usage: ${usage}`, '', summary, ''];
  for (const section of sections) {
    if (Object.keys(section.table).length === 0) continue;
    parts.push(...sectionLines(section, column), '');
  }
  parts.push(
    'Flags can be negated: --no-FLAG. Options are also read from /etc/criu/default.conf,',
    '$HOME/.criu/default.conf, $CRIU_CONFIG_FILE and --config FILE, in that order; the command line wins.',
    'See criu(8).',
  );
  return `${parts.join('\n')}\n`;
}
