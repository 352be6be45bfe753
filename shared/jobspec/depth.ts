/**
 * Nesting depth, measured before a document is parsed, so that a deeply nested document is refused
 * in time linear in the bytes read up to the point it goes too deep, without building anything: the
 * YAML composer recurses per level (800 KB of `[` cost 2.3 s and 435 MB before it overflowed the
 * stack). Pure.
 */
import { Lexer } from 'yaml';

/**
 * The deepest nesting of a JSON text (objects and arrays), stopping as soon as it passes `limit`
 * (the value returned is then limit + 1). Exact for valid JSON; strings are skipped with their escapes.
 */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if ((c === 0x7d /* } */ || c === 0x5d) /* ] */ && depth > 0) depth--;
  }
  return max;
}

/** What yamlShape measured: the depth estimate and the nodes counted, each up to its limit + 1. */
export interface YamlShape {
  depth: number;
  nodes: number;
}

/**
 * An upper estimate of the nesting depth of a YAML text, and a count of its nodes, from the
 * YAML library's own lexer (so quotes, comments and block scalars are read exactly as the parser
 * reads them), stopping as soon as either passes its limit. Flow collections (`[`, `{`) count one
 * level each; block nesting counts one level per indentation step in force on a line, plus one per
 * `-` or `?` indicator on it (`- - - x`). It never counts less than the parser's depth; it may count
 * more (a line indented in many single steps), which only matters near the limit, far above any
 * job spec. The node count (scalars, collections, and entries: `-`, `?`, `:` and `,`) bounds the
 * parser's work, which grows with the number of nodes: 1 MB of small values or empty collections
 * costs the parser seconds.
 */
export function yamlShape(text: string, limits: { maxDepth: number; maxNodes: number }): YamlShape {
  let flow = 0;
  let max = 0;
  let nodes = 0;
  const indents: number[] = [];
  let lineStart = true;
  let pendingIndent = 0;
  let lineExtra = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '\n' || token === '\r\n') {
      lineStart = true;
      pendingIndent = 0;
      lineExtra = 0;
      continue;
    }
    if (lineStart && flow === 0) {
      if (/^[ \t]+$/.test(token)) {
        pendingIndent = token.length;
        continue;
      }
      if (token.startsWith('#')) continue;
      lineStart = false;
      while (indents.length > 0 && indents[indents.length - 1]! > pendingIndent) indents.pop();
      if (indents.length === 0 || indents[indents.length - 1]! < pendingIndent) indents.push(pendingIndent);
    }
    lineStart = false;
    const c = token.charCodeAt(0);
    // A plain or block scalar follows the lexer's SCALAR mark (0x1f); a quoted one starts with its quote.
    const node = c === 0x1f || c === 0x22 || c === 0x27 || token === '[' || token === '{' || token === ',' || token === '-' || token === '?' || token === ':';
    if (node && ++nodes > limits.maxNodes) return { depth: max, nodes };
    if (token === '[' || token === '{') flow++;
    else if ((token === ']' || token === '}') && flow > 0) flow--;
    else if (flow === 0 && (token === '-' || token === '?')) lineExtra++;
    const depth = indents.length + lineExtra + flow;
    if (depth > max) {
      max = depth;
      if (max > limits.maxDepth) return { depth: max, nodes };
    }
  }
  return { depth: max, nodes };
}
