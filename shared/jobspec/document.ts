/**
 * Text to a plain value: YAML (a superset of JSON, so JSON files parse too), with a
 * size limit, duplicate keys refused and alias expansion capped. Errors are
 * InvalidArgumentError naming the document and the line.
 */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { InvalidArgumentError } from '../errors/index.js';

/** The largest spec or cluster document accepted by default (1 MiB). */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

export interface DocumentOptions {
  /** Refuse documents over this many bytes of UTF-8 (default 1 MiB). */
  maxBytes?: number;
  /** What the document is, for error messages (default `document`). */
  what?: string;
}

/** Bytes of the UTF-8 encoding of a string, without encoding it. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export function parseDocument(text: string, options: DocumentOptions = {}): unknown {
  const maxBytes = options.maxBytes ?? MAX_DOCUMENT_BYTES;
  const what = options.what ?? 'document';
  const size = utf8Length(text);
  if (size > maxBytes) throw new InvalidArgumentError('', `${what} is ${size} bytes; the limit is ${maxBytes}`);
  if (text.trim().length === 0) throw new InvalidArgumentError('', `${what} is empty`);
  try {
    return parseYaml(text, { uniqueKeys: true, maxAliasCount: 100, prettyErrors: true, strict: true });
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const line = e.linePos?.[0];
      const where = line ? ` at line ${line.line}, column ${line.col}` : '';
      const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
      throw new InvalidArgumentError('', `${what} is not valid YAML or JSON${where}: ${first}`, { cause: e });
    }
    throw new InvalidArgumentError('', `${what} cannot be parsed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
