/**
 * Text to a plain value: YAML (a superset of JSON, so JSON files parse too), with a
 * size limit, duplicate keys refused and alias expansion capped. Errors are
 * InvalidArgumentError naming the document and the line.
 */
import { isMap, isScalar, isSeq, isPair, parseDocument as parseYamlDocument, YAMLParseError, type Node as YamlNode } from 'yaml';
import { InvalidArgumentError } from '../errors/index.js';
import { jsonDepth, yamlShape } from './depth.js';

/** The largest spec or cluster document accepted by default (1 MiB). */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** The deepest nesting accepted by default: a job spec nests 4 levels at most. */
export const MAX_DOCUMENT_DEPTH = 64;
/** YAML aliases (`*name`) accepted by default: a "billion laughs" document is refused. */
export const MAX_DOCUMENT_ALIASES = 100;
/**
 * Nodes a YAML document may hold by default (yamlShape: scalars, collections and entries): a job
 * spec at its largest (4,096 arguments, 1,024 variables, 32 selectors of 64 values) holds about 15,500.
 */
export const MAX_DOCUMENT_NODES = 20_000;

export interface DocumentOptions {
  /** Refuse documents over this many bytes of UTF-8 (default 1 MiB). */
  maxBytes?: number;
  /** What the document is, for error messages (default `document`). */
  what?: string;
  /** Refuse documents nested deeper than this, before parsing them (default 64). */
  maxDepth?: number;
  /** Refuse YAML documents with more alias expansions than this (default 100). */
  maxAliasCount?: number;
  /** Refuse YAML documents holding more nodes than this (yamlShape), before parsing them (default 20,000). */
  maxNodes?: number;
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

/**
 * Whether a JSON object text names a key twice in one object (YAML refuses that; JSON.parse would
 * keep the last). A scan of strings and nesting only: the text is known to be valid JSON.
 */
function hasDuplicateKeys(text: string): boolean {
  const keys: Array<Set<string> | null> = [];
  let lastString = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i + 1;
      let escaped = false;
      for (i = start; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i++;
        } else if (d === 0x22) break;
      }
      lastString = escaped ? (JSON.parse(text.slice(start - 1, i + 1)) as string) : text.slice(start, i);
    } else if (c === 0x3a /* : */) {
      const set = keys[keys.length - 1];
      if (set) {
        if (set.has(lastString)) return true;
        set.add(lastString);
      }
    } else if (c === 0x7b /* { */) keys.push(new Set());
    else if (c === 0x5b /* [ */) keys.push(null);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) keys.pop();
  }
  return false;
}

/**
 * A JSON object document (what the CLI and API clients send) parsed natively: the YAML parser
 * took most of a SubmitJob's CPU. Anything else (YAML, invalid JSON, a duplicate key) returns
 * undefined and takes the YAML path, which accepts JSON too and words the errors.
 */
function parseJsonObject(text: string, maxDepth: number, what: string): unknown {
  const t = text.trimStart();
  if (t.charCodeAt(0) !== 0x7b /* { */) return undefined;
  tooDeep(jsonDepth(t, maxDepth), maxDepth, what);
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch {
    return undefined;
  }
  return hasDuplicateKeys(t) ? undefined : value;
}

function tooDeep(depth: number, maxDepth: number, what: string): void {
  if (depth > maxDepth) throw new InvalidArgumentError('', `${what} nests deeper than ${maxDepth} levels; it is refused before parsing`);
}

/** Line and column (1-based) of an offset, for an error message. */
function linePos(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/**
 * The first key repeated in one mapping, with a Set per mapping: the YAML library's own check
 * (uniqueKeys) compares every pair, which took 40 s for 60,000 keys. Keys compare as the library
 * compares scalars (same value, same type); other keys never equal. Depth is bounded by the pre-scan.
 */
function duplicateKey(node: unknown): YamlNode | undefined {
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (isScalar(pair.key)) {
        const id = `${typeof pair.key.value}:${String(pair.key.value)}`;
        if (seen.has(id)) return pair.key;
        seen.add(id);
      }
      const inner = duplicateKey(pair.value);
      if (inner) return inner;
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      const inner = duplicateKey(isPair(item) ? item.value : item);
      if (inner) return inner;
    }
  }
  return undefined;
}

export function parseDocument(text: string, options: DocumentOptions = {}): unknown {
  const maxBytes = options.maxBytes ?? MAX_DOCUMENT_BYTES;
  const what = options.what ?? 'document';
  const size = utf8Length(text);
  if (size > maxBytes) throw new InvalidArgumentError('', `${what} is ${size} bytes; the limit is ${maxBytes}`);
  if (text.trim().length === 0) throw new InvalidArgumentError('', `${what} is empty`);
  const maxDepth = options.maxDepth ?? MAX_DOCUMENT_DEPTH;
  const json = parseJsonObject(text, maxDepth, what);
  if (json !== undefined) return json;
  const maxNodes = options.maxNodes ?? MAX_DOCUMENT_NODES;
  const shape = yamlShape(text, { maxDepth, maxNodes });
  tooDeep(shape.depth, maxDepth, what);
  if (shape.nodes > maxNodes) throw new InvalidArgumentError('', `${what} holds more than ${maxNodes} YAML nodes (values, collections and entries); it is refused before parsing`);
  try {
    const doc = parseYamlDocument(text, { uniqueKeys: false, prettyErrors: true, strict: true });
    if (doc.errors[0]) throw doc.errors[0];
    const dup = duplicateKey(doc.contents);
    if (dup) {
      const at = linePos(text, dup.range?.[0] ?? 0);
      throw new InvalidArgumentError('', `${what} is not valid YAML or JSON at line ${at.line}, column ${at.col}: Map keys must be unique`);
    }
    return doc.toJS({ maxAliasCount: options.maxAliasCount ?? MAX_DOCUMENT_ALIASES });
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    if (e instanceof YAMLParseError) {
      const line = e.linePos?.[0];
      const where = line ? ` at line ${line.line}, column ${line.col}` : '';
      const first = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
      throw new InvalidArgumentError('', `${what} is not valid YAML or JSON${where}: ${first}`, { cause: e });
    }
    throw new InvalidArgumentError('', `${what} cannot be parsed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
