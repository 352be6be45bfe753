/**
 * Pure parser for the Prometheus text exposition format (version 0.0.4, and the OpenMetrics
 * subset a Prometheus client library writes): comments and HELP/TYPE lines, samples with labels
 * (escaped `\\`, `\"` and `\n` in values), values including NaN and ±Inf, optional timestamps.
 * No I/O: the scraper hands it the body.
 */
import { ParseError } from '../../shared/errors/index.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A histogram summed across every label set but `le`. */
export interface Histogram {
  /** Finite upper bounds, ascending. */
  le: number[];
  /** Cumulative counts per bound, then the +Inf bucket (le.length + 1 elements). */
  buckets: number[];
  count: number;
  sum: number;
}

const SOURCE = 'Prometheus exposition';
const NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL = /[a-zA-Z_][a-zA-Z0-9_]*/y;

export function parseValue(s: string): number {
  switch (s) {
    case '+Inf':
    case 'Inf':
    case '+inf':
    case 'inf':
      return Infinity;
    case '-Inf':
    case '-inf':
      return -Infinity;
    case 'NaN':
    case 'nan':
      return NaN;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return NaN;
  return Number(s);
}

function fail(lineNo: number, detail: string): never {
  throw new ParseError(SOURCE, `line ${lineNo}: ${detail}`);
}

function parseLine(line: string, lineNo: number): Sample {
  NAME.lastIndex = 0;
  const m = NAME.exec(line);
  if (!m) fail(lineNo, `expected a metric name in ${JSON.stringify(line.slice(0, 80))}`);
  const name = m[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  const skipWs = (): void => {
    while (line[i] === ' ' || line[i] === '\t') i++;
  };
  skipWs();
  if (line[i] === '{') {
    i++;
    for (;;) {
      skipWs();
      if (line[i] === '}') {
        i++;
        break;
      }
      LABEL.lastIndex = i;
      const l = LABEL.exec(line);
      if (!l) fail(lineNo, `expected a label name at column ${i + 1}`);
      i += l[0].length;
      skipWs();
      if (line[i] !== '=') fail(lineNo, `expected '=' after label ${l[0]}`);
      i++;
      skipWs();
      if (line[i] !== '"') fail(lineNo, `expected '"' to open the value of label ${l[0]}`);
      i++;
      let v = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) fail(lineNo, `unterminated value of label ${l[0]}`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i + 1];
          if (e === 'n') v += '\n';
          else if (e === '\\' || e === '"') v += e;
          else fail(lineNo, `invalid escape \\${e ?? ''} in label ${l[0]}`);
          i += 2;
          continue;
        }
        v += c;
        i++;
      }
      i++; // closing quote
      if (l[0] in labels) fail(lineNo, `label ${l[0]} repeated`);
      labels[l[0]] = v;
      skipWs();
      if (line[i] === ',') {
        i++;
        continue;
      }
      if (line[i] === '}') {
        i++;
        break;
      }
      fail(lineNo, `expected ',' or '}' after label ${l[0]}`);
    }
  }
  const rest = line.slice(i).trim().split(/[ \t]+/);
  if (rest.length < 1 || rest[0] === '') fail(lineNo, `sample ${name} has no value`);
  if (rest.length > 2) fail(lineNo, `unexpected text after the value of ${name}`);
  const value = parseValue(rest[0]!);
  if (Number.isNaN(value) && rest[0] !== 'NaN' && rest[0] !== 'nan') fail(lineNo, `invalid value ${JSON.stringify(rest[0])} for ${name}`);
  if (rest.length === 2 && !/^-?\d+(\.\d+)?$/.test(rest[1]!)) fail(lineNo, `invalid timestamp ${JSON.stringify(rest[1])} for ${name}`);
  return { name, labels, value };
}

/** Every sample in the exposition, in order. Throws ParseError naming the line on malformed input. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '');
    const t = line.trimStart();
    if (t === '' || t.startsWith('#')) continue;
    out.push(parseLine(t, n + 1));
  }
  return out;
}

/**
 * The histogram `metric` (its `_bucket`, `_sum` and `_count` series) summed across label sets
 * except `le`, as `sum by (le)` would; undefined when the exposition has no such buckets.
 */
export function histogramOf(samples: readonly Sample[], metric: string): Histogram | undefined {
  const byLe = new Map<number, number>();
  let count: number | undefined;
  let sum = 0;
  let seen = false;
  for (const s of samples) {
    if (s.name === `${metric}_bucket`) {
      const raw = s.labels.le;
      if (raw === undefined) throw new ParseError(SOURCE, `${metric}_bucket without an le label`);
      const le = parseValue(raw);
      if (Number.isNaN(le)) throw new ParseError(SOURCE, `${metric}_bucket has an invalid le ${JSON.stringify(raw)}`);
      byLe.set(le, (byLe.get(le) ?? 0) + s.value);
      seen = true;
    } else if (s.name === `${metric}_count`) {
      count = (count ?? 0) + s.value;
    } else if (s.name === `${metric}_sum`) {
      sum += s.value;
    }
  }
  if (!seen) return undefined;
  const inf = byLe.get(Infinity);
  if (inf === undefined) throw new ParseError(SOURCE, `${metric} has no le="+Inf" bucket`);
  const le = [...byLe.keys()].filter((x) => x !== Infinity).sort((a, b) => a - b);
  return { le, buckets: [...le.map((x) => byLe.get(x)!), inf], count: count ?? inf, sum };
}

/** The change from `prev` to `cur`; a drop of any counter (or new bounds) means the server restarted: the delta is `cur`. */
export function histogramDelta(prev: Histogram | undefined, cur: Histogram): Histogram & { reset: boolean } {
  const sameBounds = !!prev && prev.le.length === cur.le.length && prev.le.every((x, i) => x === cur.le[i]);
  const reset = !prev || !sameBounds || cur.count < prev.count || cur.buckets.some((b, i) => b < prev.buckets[i]!);
  if (reset) return { ...cur, le: [...cur.le], buckets: [...cur.buckets], reset: !!prev };
  return {
    le: [...cur.le],
    buckets: cur.buckets.map((b, i) => b - prev.buckets[i]!),
    count: cur.count - prev.count,
    sum: Math.max(0, cur.sum - prev.sum),
    reset: false,
  };
}
