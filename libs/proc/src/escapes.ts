// The kernel's two escape styles in /proc text.

const OCTAL_ESCAPE = /\\([0-7]{3})/g;

/**
 * mountinfo (and /proc/mounts) mangle space, tab, newline and backslash as
 * three-digit octal escapes: "/mnt/my\040disk" is "/mnt/my disk".
 */
export function decodeOctalEscapes(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(OCTAL_ESCAPE, (_, digits: string) => String.fromCharCode(parseInt(digits, 8)));
}

const C_ESCAPES: Readonly<Record<string, string>> = {
  n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\x07', e: '\x1b', '\\': '\\', '"': '"',
};

const C_ESCAPE = /\\(?:([0-7]{3})|(.))/g;

/**
 * status "Name:" is printed with seq_escape_str(ESCAPE_SPACE | ESCAPE_SPECIAL):
 * a newline shows as "\n", a backslash as "\\".
 */
export function decodeCEscapes(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(C_ESCAPE, (whole, octal: string | undefined, letter: string | undefined) => {
    if (octal !== undefined) return String.fromCharCode(parseInt(octal, 8));
    return (letter !== undefined ? C_ESCAPES[letter] : undefined) ?? whole;
  });
}
