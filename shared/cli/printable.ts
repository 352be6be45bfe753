/**
 * User-provided strings (job names, owners, messages, node names, labels, ...) as the CLI prints
 * them in text forms: control characters (C0 such as NUL, newline and ESC, DEL, C1) and Unicode
 * bidirectional and line-breaking controls are written as escapes (`\n`, `\x1b`, `\u202e`), so
 * that a value can neither forge lines nor move the cursor or recolour the terminal. JSON forms
 * need none (JSON escapes them itself). Pure.
 */

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

// C0, DEL and C1 controls; LINE/PARAGRAPH SEPARATOR; bidi embeddings, overrides and isolates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function printable(value: string): string {
  return value.replace(UNSAFE, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
