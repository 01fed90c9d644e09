// JSON text as Python's json module writes it (crit's output byte for byte:
// ensure_ascii, ", "/": " separators, or indent 4 with "," ), and a parser that
// keeps integers beyond 2^53 exact as bigint.

/** A JSON value whose big integers are bigint. */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

function escapeChar(ch: string): string {
  const named: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
  return named[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Python's json string encoding with ensure_ascii. */
export function pythonString(text: string): string {
  return `"${text.replace(/[\\"]|[^ -~]/g, escapeChar)}"`;
}

function scalar(value: JsonValue): string | undefined {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isInteger(value) ? value.toFixed(0) : String(value);
  if (typeof value === 'string') return pythonString(value);
  return undefined;
}

function dump(value: JsonValue, indent: number | undefined, depth: number): string {
  const simple = scalar(value);
  if (simple !== undefined) return simple;
  const items: [string | undefined, JsonValue][] = Array.isArray(value)
    ? value.map((item) => [undefined, item])
    : Object.entries(value as Record<string, JsonValue>);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (items.length === 0) return open + close;
  const parts = items.map(([key, item]) => (key === undefined ? '' : `${pythonString(key)}: `) + dump(item, indent, depth + 1));
  if (indent === undefined) return open + parts.join(', ') + close;
  const pad = ' '.repeat(indent * (depth + 1));
  return `${open}\n${pad}${parts.join(`,\n${pad}`)}\n${' '.repeat(indent * depth)}${close}`;
}

/** json.dumps(value) or json.dumps(value, indent=N). */
export function pythonJson(value: JsonValue, indent?: number): string {
  return dump(value, indent, 0);
}

/** JSON.parse, except that integers outside ±2^53 become bigint. */
export function parseJson(text: string): JsonValue {
  const big = new Map<string, bigint>();
  const nonce = Math.random().toString(36).slice(2);
  const safe = BigInt(Number.MAX_SAFE_INTEGER);
  // Mark long integer literals (outside strings) so JSON.parse keeps their digits.
  const marked = text.replace(/"(?:[^"\\]|\\.)*"|-?\d{16,}(?![.eE\d])/g, (token) => {
    if (token.startsWith('"')) return token;
    const value = BigInt(token);
    if (value >= -safe && value <= safe) return token;
    const key = `\u0000bigint:${nonce}:${big.size}`;
    big.set(key, value);
    return JSON.stringify(key);
  });
  if (big.size === 0) return JSON.parse(text) as JsonValue;
  return JSON.parse(marked, (_key, value: unknown) => (typeof value === 'string' && big.has(value) ? big.get(value) : value)) as JsonValue;
}
