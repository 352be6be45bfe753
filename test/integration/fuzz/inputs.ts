/**
 * The inputs of the API fuzz test, all drawn from one seeded PRNG (test/builders/prng.ts), so a
 * seed names a run exactly. A request body is built by hand (a tiny protobuf writer below), so
 * the fuzz can put on the wire what a well-behaved serializer never would: negative and 64-bit
 * values in uint32 fields, wrong wire types, unknown and repeated fields, truncations.
 */
import type { Rng } from '../../builders/prng.js';

/** The unary SchedulerService methods and their request fields (scheduler.proto): number, kind. */
export const METHODS = {
  ListNodes: [[1, 'varint']],
  GetNode: [[1, 'string']],
  SubmitJob: [[1, 'spec'], [2, 'owner']],
  GetJob: [[1, 'jobId']],
  ListJobs: [[1, 'string'], [2, 'string'], [3, 'owner']],
  CancelJob: [[1, 'jobId'], [2, 'string']],
  ReleaseJob: [[1, 'jobId']],
  ExplainJob: [[1, 'jobId']],
  CordonNode: [[1, 'node'], [2, 'string'], [3, 'varint']],
  UncordonNode: [[1, 'node'], [2, 'string'], [3, 'varint']],
  DrainNode: [[1, 'node'], [2, 'string'], [3, 'varint']],
  ReadLogs: [[1, 'jobId'], [2, 'varint'], [3, 'varint'], [4, 'varint']],
  GetTopology: [],
  WhoAmI: [],
  ApproveNode: [[1, 'node'], [2, 'string']],
  // Only names no node has: deleting a real node would end its agent's stream (the run checks no node goes lost).
  DeleteNode: [[1, 'string'], [2, 'string']],
  WatchEvents: [[1, 'jobId'], [2, 'node'], [3, 'kind']],
} as const satisfies Record<string, ReadonlyArray<readonly [number, FieldKind]>>;

type FieldKind = 'varint' | 'string' | 'spec' | 'owner' | 'jobId' | 'node' | 'kind';
export type Method = keyof typeof METHODS;
export const METHOD_NAMES = Object.keys(METHODS) as Method[];

// --- a protobuf writer ------------------------------------------------------------------------

function varint(v: bigint): Buffer {
  let x = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x > 0n) b |= 0x80;
    out.push(b);
  } while (x > 0n);
  return Buffer.from(out);
}

const tag = (no: number, wire: number): Buffer => varint(BigInt((no << 3) | wire));
const fieldVarint = (no: number, v: bigint): Buffer => Buffer.concat([tag(no, 0), varint(v)]);
const fieldBytes = (no: number, v: string | Buffer): Buffer => {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return Buffer.concat([tag(no, 2), varint(BigInt(b.length)), b]);
};

// --- values -------------------------------------------------------------------------------------

/** What the run knows of the cluster, so some mutations hit real records. */
export interface Known {
  nodes: readonly string[];
  /** Job ids the run's submits got back. */
  jobs: readonly string[];
}

const UNICODE = ['ü', 'ß', '名前', '🚀', '\u202e', 'e\u0301', '\ufeff', '\u0000', '\u001b[31m', '\r\n', '\u2028', '\ud800', '\uffff'];

function randomString(r: Rng, max: number): string {
  const n = r.int(0, max);
  let s = '';
  for (let i = 0; i < n; i++) s += r.chance(0.8) ? String.fromCharCode(r.int(0x20, 0x7e)) : r.pick(UNICODE);
  return s;
}

/** A hostile name: NUL, control characters, unicode, path-like, empty, long. */
export function hostileName(r: Rng): string {
  switch (r.int(0, 9)) {
    case 0: return '';
    case 1: return `node\u0000${r.int(0, 9)}`;
    case 2: return `evil\n\u001b[2J${randomString(r, 8)}`;
    case 3: return '../../../etc/passwd';
    case 4: return r.pick(UNICODE).repeat(r.int(1, 50));
    case 5: return 'x'.repeat(r.pick([256, 4096, 65_536, 1024 * 1024]));
    case 6: return ` ${randomString(r, 12)} `;
    case 7: return '%s%n%x{{.}}${jndi:ldap://x}';
    default: return randomString(r, 40);
  }
}

/** Values for a varint field: zero, small, negative (ten bytes on the wire), 2^31, 2^32−1, 2^53+1, 2^64−1. */
export function hostileVarint(r: Rng): bigint {
  return r.pick([0n, 1n, BigInt(r.int(0, 1000)), -1n, -(2n ** 31n), 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]);
}

function fieldValue(r: Rng, kind: FieldKind, known: Known, labels: string[]): string | bigint {
  switch (kind) {
    case 'varint':
      return hostileVarint(r);
    case 'spec': {
      const m = specMutation(r);
      labels.push(`spec ${m}`);
      return jobSpecOf(r, m);
    }
    case 'owner':
      return r.chance(0.5) ? '' : r.chance(0.3) ? 'alice' : hostileName(r);
    case 'jobId':
      return known.jobs.length > 0 && r.chance(0.4) ? r.pick(known.jobs) : r.chance(0.5) ? `j-${r.int(0, 99999)}` : hostileName(r);
    case 'node':
      return r.chance(0.5) ? r.pick(known.nodes) : hostileName(r);
    case 'kind':
      return r.pick(['', 'job', 'node', 'domain', 'audit', 'JOB', 'nodes', hostileName(r)]);
    default:
      return r.chance(0.3) ? '' : hostileName(r);
  }
}

// --- job specs ----------------------------------------------------------------------------------

/** A spec that is valid: one job of 8 GPUs per rank, so at most two run at once and the rest queue. */
export function validSpec(r: Rng, name: string): string {
  const kind = r.pick(['Training', 'Batch']);
  const size = kind === 'Training' ? `ranks: ${r.int(1, 2)}` : `shards: ${r.int(1, 2)}`;
  if (r.chance(0.5)) return `kind: ${kind}\nname: ${name}\n${size}\ngpusPerRank: 8\nrunAs: nobody\ncommand: [sleep, "3600"]\n`;
  const o: Record<string, unknown> = { kind, name, gpusPerRank: 8, runAs: 'nobody', command: ['sleep', '3600'] };
  o[kind === 'Training' ? 'ranks' : 'shards'] = r.int(1, 2);
  return JSON.stringify(o);
}

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

function billionLaughs(levels: number): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  let prev = 'a';
  for (let i = 0; i < levels; i++) {
    const k = `l${i}`;
    lines.push(`${k}: &${k} [${Array(9).fill(`*${prev}`).join(',')}]`);
    prev = k;
  }
  return `kind: Training\nname: laughs\nranks: 1\ngpusPerRank: 8\ncommand: [sleep, "1"]\n${lines.join('\n')}\n`;
}

/** Which spec mutation each draw is; `deep` are the nested-bracket specs of issue 18. */
export type SpecMutation = 'valid' | 'name' | 'number' | 'env' | 'heavyEnv' | 'deep' | 'heavyDeep' | 'bomb' | 'tags' | 'bigString' | 'garbage' | 'shape';

/** Mostly small specs; one in 50 is a heavy one (60,000 env keys, a 2 MB string, 400,000 brackets...). */
function specMutation(r: Rng): SpecMutation {
  if (r.chance(0.02)) return r.pick<SpecMutation>(['heavyEnv', 'heavyDeep', 'bigString']);
  return r.pick<SpecMutation>(['valid', 'valid', 'name', 'number', 'number', 'env', 'deep', 'bomb', 'tags', 'garbage', 'shape']);
}

export function jobSpecOf(r: Rng, m: SpecMutation): string {
  const name = `fz-${r.int(0, 999_999)}`;
  switch (m) {
    case 'valid':
      return validSpec(r, name);
    case 'name':
      return JSON.stringify({ kind: 'Training', name: hostileName(r), ranks: 1, gpusPerRank: 8, runAs: 'nobody', command: ['sleep', '3600'] });
    case 'number': {
      const field = r.pick(['ranks', 'gpusPerRank', 'priority', 'maxRetries', 'shards', 'replicas']);
      const v = r.pick(['-1', '0', '1.5', '1e308', '-1e308', '9007199254740993', '18446744073709551615', '.nan', '.inf', '0x7fffffff', '"8"', 'null', '[]', '{}']);
      return `kind: Training\nname: ${name}\nranks: 1\ngpusPerRank: 8\nrunAs: nobody\ncommand: [sleep, "3600"]\n${field === 'ranks' || field === 'gpusPerRank' ? '' : `${field}: ${v}\n`}`.replace(`${field}: ${field === 'ranks' ? 1 : 8}`, `${field}: ${v}`);
    }
    case 'env':
    case 'heavyEnv': {
      const n = m === 'env' ? r.pick([10, 100, 1000]) : 60_000;
      const env: Record<string, string> = {};
      for (let i = 0; i < n; i++) env[`K${i}${r.chance(0.01) ? '\u0000' : ''}`] = r.chance(0.5) ? 'v' : randomString(r, 20);
      return JSON.stringify({ kind: 'Training', name, ranks: 1, gpusPerRank: 8, runAs: 'nobody', command: ['sleep', '3600'], env });
    }
    case 'deep':
    case 'heavyDeep': {
      // Moderate nesting, or the ~800 KB of brackets that issue 18 found stalling the loop.
      const depth = m === 'deep' ? r.pick([10, 100, 1000, 5000]) : r.pick([100_000, 400_000]);
      return `{"kind":"Training","name":"${name}","ranks":1,"gpusPerRank":8,"command":${nested(depth, '[', ']')}}`;
    }
    case 'bomb':
      return r.chance(0.5) ? billionLaughs(r.int(3, 9)) : `x: &x ${nested(r.int(10, 200), '{a: ', '}')}\n${Array.from({ length: 100 }, (_, i) => `y${i}: *x`).join('\n')}\n`;
    case 'tags':
      return r.pick([
        `kind: !!js/function "function(){return 1}"\nname: ${name}\n`,
        `--- \nkind: Training\n---\nkind: Batch\n`,
        `kind: Training\nname: ${name}\nkind: Batch\n`,
        `kind: !!binary aGVsbG8=\nname: ${name}\n`,
        `? [a, b]\n: c\n`,
        `<<: {kind: Training, name: ${name}}\nranks: 1\n`,
        `kind: Training\nname: ${name}\ncommand: !!set {a, b}\n`,
        `%YAML 9.9\n---\nkind: Training\n`,
      ]);
    case 'bigString':
      return JSON.stringify({ kind: 'Training', name, ranks: 1, gpusPerRank: 8, runAs: 'nobody', command: ['echo', 'x'.repeat(r.pick([100_000, 900_000, 2_000_000]))] });
    case 'garbage':
      return randomString(r, 2000);
    case 'shape':
      return r.pick(['[]', '1', 'null', '""', '{}', `{"kind":"Training","name":"${name}","ranks":1,"gpusPerRank":8,"command":"sleep 1"}`, `{"kind":"Training","name":"${name}","ranks":1,"gpusPerRank":8,"command":[],"unknown":1}`]);
  }
}

// --- inputs -------------------------------------------------------------------------------------

export type Input =
  | { kind: 'raw'; method: Method; what: string; body: Buffer }
  | { kind: 'http2'; what: string; variant: number; seed: number };

/** Random bytes as the body of a random method (the bytes rarely decode as its request). */
function randomBytes(r: Rng): Buffer {
  const n = r.pick([0, 1, 2, 5, 16, 64, 256, 4096, r.int(0, 65_536)]);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = r.int(0, 255);
  return b;
}

/** A mutated valid request: each field hostile or real, sometimes a wrong wire type, an unknown or repeated field, a truncation. */
function mutatedRequest(r: Rng, method: Method, known: Known, labels: string[]): Buffer {
  const parts: Buffer[] = [];
  for (const [no, kind] of METHODS[method]) {
    if (r.chance(0.1)) continue;
    const v = fieldValue(r, kind, known, labels);
    if (r.chance(0.03)) parts.push(typeof v === 'bigint' ? fieldBytes(no, randomString(r, 10)) : fieldVarint(no, hostileVarint(r)));
    else parts.push(typeof v === 'bigint' ? fieldVarint(no, v) : fieldBytes(no, v));
    if (r.chance(0.03)) parts.push(parts[parts.length - 1]!);
  }
  if (r.chance(0.05)) parts.push(fieldBytes(r.int(16, 536_870_911), randomString(r, 30)));
  let body = Buffer.concat(parts);
  if (r.chance(0.03) && body.length > 1) body = body.subarray(0, r.int(1, body.length - 1));
  return body;
}

/**
 * `n` inputs: 40% random bytes, 52% mutated valid requests (a third of them SubmitJob), 8% HTTP/2
 * (frames and gRPC framing by hand). The 100 MB bodies are not in here: the run sends them apart.
 * `known` is fixed before the run (nodes, and jobs submitted beforehand), so a seed gives the
 * same bytes every run, whatever order the answers come back in.
 */
export function makeInputs(r: Rng, n: number, known: Known): Input[] {
  const out: Input[] = [];
  for (let i = 0; i < n; i++) {
    const p = r.next();
    if (p < 0.4) {
      const method = r.pick(METHOD_NAMES);
      out.push({ kind: 'raw', method, what: 'random bytes', body: randomBytes(r) });
    } else if (p < 0.92) {
      const method = r.chance(0.33) ? 'SubmitJob' : r.pick(METHOD_NAMES);
      const labels: string[] = [];
      const body = mutatedRequest(r, method, known, labels);
      out.push({ kind: 'raw', method, what: ['mutated request', ...labels].join(', '), body });
    } else {
      out.push({ kind: 'http2', what: 'http2', variant: r.int(0, 9), seed: r.int(0, 2 ** 31) });
    }
  }
  return out;
}
