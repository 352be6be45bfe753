/**
 * The east-west latency window an agent publishes on gantry.telemetry.latency.<node>, once per
 * window: per peer probed, the RTT histogram's bucket counts (mergeable; see shared/histogram) with
 * p50, p99 and max for reading, and probes sent and lost. Pure encode/decode, no I/O.
 *
 * On the wire a window is a compact binary message (encodeLatencyWindow; byte layout below and in the
 * README's telemetry reference). decodeLatencyWindow also reads the older JSON form, told apart by the
 * first byte: 0xC1 can never begin UTF-8 text, so never a JSON document.
 *
 * Binary layout (format version 1; integers are unsigned LEB128 varints unless said otherwise):
 *
 *   offset  size     field
 *   0       1        magic 0xC1
 *   1       1        format version (1)
 *   2       1        bucket layout (1: shared/histogram, 65 buckets, 10 µs × 1.25^i upper bounds)
 *   3       8        startMs, float64 little-endian (Unix ms)
 *   11      varint   windowMs
 *           varint   node name length in bytes, then the name (UTF-8)
 *           varint   peer count, then per peer:
 *             varint   peer name length, then the name (UTF-8)
 *             varint   sent, lost, p50Us, p99Us, maxUs (five varints, in this order)
 *             varint   non-empty bucket count k, then k × (u8 bucket index, varint count),
 *                      indices strictly ascending
 *
 * Nothing may follow the last peer. A reader refuses an unknown magic, version or bucket layout, and
 * a truncated message, with an InvalidArgumentError naming the field.
 */
import { InvalidArgumentError } from '../errors/index.js';
import { HISTOGRAM_BUCKETS } from '../histogram/index.js';

/** Version of the in-memory window (and of its legacy JSON form's `v`). */
export const LATENCY_SCHEMA_VERSION = 1 as const;
/** First byte of a binary window. */
export const LATENCY_WIRE_MAGIC = 0xc1;
/** Binary format version (byte 1). */
export const LATENCY_WIRE_VERSION = 1;
/** Bucket layout id (byte 2): 1 = shared/histogram's 65 log-spaced buckets. */
export const LATENCY_BUCKET_LAYOUT = 1;
const HEADER_BYTES = 11;

export interface LatencyPeerWindow {
  /** The peer's node name. */
  peer: string;
  /** Probes sent to it in the window. */
  sent: number;
  /** Probes with no reply within the timeout (not in the histogram). */
  lost: number;
  /** Sparse bucket counts of the RTTs: [bucket, count, ...] (shared/histogram buckets). */
  buckets: number[];
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export interface LatencyWindow {
  v: typeof LATENCY_SCHEMA_VERSION;
  /** The probing node. */
  node: string;
  /** Window start (Unix ms) and length. */
  startMs: number;
  windowMs: number;
  peers: LatencyPeerWindow[];
}

export type LatencyWireEncoding = 'binary' | 'json';

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Which encoding a message is in, by its first byte (what decodeLatencyWindow sniffs). */
export function latencyWireEncoding(data: Uint8Array): LatencyWireEncoding {
  return data.length > 0 && data[0] === LATENCY_WIRE_MAGIC ? 'binary' : 'json';
}

// ---- encoding ----

class Writer {
  buf: Uint8Array;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  /** A checked count; `field` names it only when it is refused. */
  varint(v: number, field: () => string): void {
    if (!isCount(v)) throw new InvalidArgumentError(field(), `must be a non-negative integer (got ${String(v)})`);
    this.ensure(8);
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[this.pos++] = v;
  }
  string(s: unknown, field: () => string): void {
    if (typeof s !== 'string' || s === '') throw new InvalidArgumentError(field(), 'must be a non-empty string');
    // ASCII (node names) byte by byte; anything else through the UTF-8 encoder.
    const n = s.length;
    if (n < 0x80) {
      this.ensure(1 + n);
      const buf = this.buf;
      let at = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at++] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = at;
        return;
      }
    }
    const bytes = utf8.encode(s);
    this.varint(bytes.length, field);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}

/** The binary wire form of a window (what agents publish). Throws InvalidArgumentError naming a field that cannot be encoded. */
export function encodeLatencyWindow(w: LatencyWindow): Uint8Array {
  const out = new Writer(64 + w.peers.length * 96);
  out.buf[0] = LATENCY_WIRE_MAGIC;
  out.buf[1] = LATENCY_WIRE_VERSION;
  out.buf[2] = LATENCY_BUCKET_LAYOUT;
  if (typeof w.startMs !== 'number' || !Number.isFinite(w.startMs)) throw new InvalidArgumentError('startMs', 'must be a finite number');
  new DataView(out.buf.buffer).setFloat64(3, w.startMs, true);
  out.pos = HEADER_BYTES;
  out.varint(w.windowMs, () => 'windowMs');
  out.string(w.node, () => 'node');
  out.varint(w.peers.length, () => 'peers');
  for (let i = 0; i < w.peers.length; i++) {
    const p = w.peers[i] as LatencyPeerWindow;
    out.string(p.peer, () => `peers[${i}].peer`);
    out.varint(p.sent, () => `peers[${i}].sent`);
    out.varint(p.lost, () => `peers[${i}].lost`);
    out.varint(p.p50Us, () => `peers[${i}].p50Us`);
    out.varint(p.p99Us, () => `peers[${i}].p99Us`);
    out.varint(p.maxUs, () => `peers[${i}].maxUs`);
    const b = p.buckets;
    if (!Array.isArray(b) || b.length % 2 !== 0) throw new InvalidArgumentError(`peers[${i}].buckets`, 'must be a list of [bucket, count] pairs');
    out.varint(b.length / 2, () => `peers[${i}].buckets`);
    let prev = -1;
    for (let k = 0; k < b.length; k += 2) {
      const idx = b[k] as number;
      if (!Number.isInteger(idx) || idx <= prev || idx >= HISTOGRAM_BUCKETS) {
        throw new InvalidArgumentError(`peers[${i}].buckets[${k}]`, `bucket index must be an integer in 0..${HISTOGRAM_BUCKETS - 1}, ascending`);
      }
      prev = idx;
      out.ensure(1);
      out.buf[out.pos++] = idx;
      out.varint(b[k + 1] as number, () => `peers[${i}].buckets[${k + 1}]`);
    }
  }
  return out.buf.slice(0, out.pos);
}

/** The legacy JSON form (agents before the binary format; tools). */
export function encodeLatencyWindowJson(w: LatencyWindow): Uint8Array {
  return utf8.encode(JSON.stringify(w));
}

// ---- decoding ----

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function truncated(field: string, at: number): InvalidArgumentError {
  return new InvalidArgumentError('latency window', `truncated at byte ${at} (reading ${field})`);
}

/**
 * Interns the node names a decoder reads: the same bytes give the same string object, built once.
 * Saves building a string per peer per window, and lookups keyed by these strings (the aggregator's
 * maps) find their hash already computed. A plain data structure the caller owns (the scheduler
 * keeps one per subscription); bounded: past `maxNames` it starts afresh.
 */
export class NameTable {
  private readonly byHash = new Map<number, string>();
  constructor(private readonly maxNames = 65_536) {}

  get size(): number {
    return this.byHash.size;
  }

  /** The ASCII name in buf[start, stop), or undefined when it is not ASCII (the caller decodes it). */
  intern(buf: Uint8Array, start: number, stop: number): string | undefined {
    let h = 0x811c9dc5;
    for (let i = start; i < stop; i++) {
      const b = buf[i] as number;
      if (b >= 0x80) return undefined;
      h = Math.imul(h ^ b, 0x01000193);
    }
    const known = this.byHash.get(h);
    if (known !== undefined && known.length === stop - start) {
      let same = true;
      for (let i = start, j = 0; i < stop; i++, j++) {
        if (known.charCodeAt(j) !== buf[i]) {
          same = false;
          break;
        }
      }
      if (same) return known;
    }
    const s = String.fromCharCode.apply(null, buf.subarray(start, stop) as unknown as number[]);
    if (this.byHash.size >= this.maxNames) this.byHash.clear();
    this.byHash.set(h, s); // a colliding name replaces the other: both still read right, one is rebuilt
    return s;
  }
}

/**
 * Cursor over one binary message. Fields are named only when an error is built: from a constant
 * field name, the peer being read (`peer`, -1 outside the peer list) and an optional list index,
 * so reading allocates nothing for the names.
 */
class Reader {
  pos = HEADER_BYTES;
  peer = -1;
  constructor(
    readonly buf: Uint8Array,
    readonly end: number,
    readonly names: NameTable | undefined,
  ) {}

  name(field: string, index = -1): string {
    const f = index >= 0 ? `${field}[${index}]` : field;
    return this.peer < 0 ? f : `peers[${this.peer}].${f}`;
  }

  varint(field: string, index = -1): number {
    const buf = this.buf;
    if (this.pos >= this.end) throw truncated(this.name(field, index), this.pos);
    let b = buf[this.pos++] as number;
    if (b < 0x80) return b;
    let v = b & 0x7f;
    let mul = 0x80;
    for (let i = 1; i < 8; i++) {
      if (this.pos >= this.end) throw truncated(this.name(field, index), this.pos);
      b = buf[this.pos++] as number;
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (v > Number.MAX_SAFE_INTEGER) break;
        return v;
      }
      mul *= 0x80;
    }
    throw new InvalidArgumentError(this.name(field, index), 'varint out of range (over 2^53 - 1)');
  }

  string(field: string): string {
    const len = this.varint(field);
    if (len === 0) throw new InvalidArgumentError(this.name(field), 'must be a non-empty string');
    const start = this.pos;
    const stop = start + len;
    if (stop > this.end) throw truncated(this.name(field), this.end);
    this.pos = stop;
    const buf = this.buf;
    if (this.names) {
      const s = this.names.intern(buf, start, stop);
      if (s !== undefined) return s;
    } else if (len <= 64) {
      // Node names are ASCII: build the string directly (TextDecoder costs more for a few bytes).
      let ascii = true;
      for (let i = start; i < stop; i++) {
        if ((buf[i] as number) >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return String.fromCharCode.apply(null, buf.subarray(start, stop) as unknown as number[]);
    }
    try {
      return utf8Decoder.decode(buf.subarray(start, stop));
    } catch {
      throw new InvalidArgumentError(this.name(field), 'is not valid UTF-8');
    }
  }
}

function decodeBinary(data: Uint8Array, names: NameTable | undefined): LatencyWindow {
  if (data.length < 2) throw truncated('format version', data.length);
  if (data[1] !== LATENCY_WIRE_VERSION) {
    throw new InvalidArgumentError('latency window', `unsupported binary format version ${data[1]} (this reader knows ${LATENCY_WIRE_VERSION})`);
  }
  if (data.length < HEADER_BYTES) throw truncated(data.length < 3 ? 'bucket layout' : 'startMs', data.length);
  if (data[2] !== LATENCY_BUCKET_LAYOUT) {
    throw new InvalidArgumentError('latency window', `unknown bucket layout ${data[2]} (this reader knows ${LATENCY_BUCKET_LAYOUT})`);
  }
  // The float64 through a scratch buffer rather than a DataView per message (no allocation).
  for (let j = 0; j < 8; j++) f64Bytes[LITTLE_ENDIAN ? j : 7 - j] = data[3 + j] as number;
  const startMs = f64[0] as number;
  if (!Number.isFinite(startMs)) throw new InvalidArgumentError('startMs', 'must be a finite number');
  const r = new Reader(data, data.length, names);
  const windowMs = r.varint('windowMs');
  const node = r.string('node');
  const count = r.varint('peers');
  // Each peer takes at least 8 bytes (a 1-byte name, six 1-byte varints): a bound before allocating for a hostile count.
  if (count * 8 > data.length - r.pos) throw truncated('peers', data.length);
  const peers: LatencyPeerWindow[] = [];
  for (let i = 0; i < count; i++) {
    r.peer = i;
    const peer = r.string('peer');
    const sent = r.varint('sent');
    const lost = r.varint('lost');
    const p50Us = r.varint('p50Us');
    const p99Us = r.varint('p99Us');
    const maxUs = r.varint('maxUs');
    const k = r.varint('buckets');
    if (k > HISTOGRAM_BUCKETS) throw new InvalidArgumentError(`peers[${i}].buckets`, `${k} non-empty buckets (at most ${HISTOGRAM_BUCKETS})`);
    const buckets: number[] = [];
    let prev = -1;
    for (let j = 0; j < k; j++) {
      if (r.pos >= r.end) throw truncated(`peers[${i}].buckets[${2 * j}]`, r.pos);
      const idx = data[r.pos++] as number;
      if (idx <= prev || idx >= HISTOGRAM_BUCKETS) {
        throw new InvalidArgumentError(`peers[${i}].buckets[${2 * j}]`, `bucket index must be in 0..${HISTOGRAM_BUCKETS - 1}, ascending (got ${idx})`);
      }
      prev = idx;
      buckets.push(idx, r.varint('buckets', 2 * j + 1));
    }
    peers.push({ peer, sent, lost, buckets, p50Us, p99Us, maxUs });
  }
  if (r.pos !== data.length) throw new InvalidArgumentError('latency window', `${data.length - r.pos} unexpected bytes after the last peer`);
  return { v: LATENCY_SCHEMA_VERSION, node, startMs, windowMs, peers };
}

function decodeJson(text: string): LatencyWindow {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('latency window', `is neither binary (first byte 0x${LATENCY_WIRE_MAGIC.toString(16)}) nor JSON`);
  }
  if (typeof o !== 'object' || o === null) throw new InvalidArgumentError('latency window', 'must be an object');
  const w = o as Record<string, unknown>;
  if (w.v !== LATENCY_SCHEMA_VERSION) throw new InvalidArgumentError('v', `unsupported latency schema version ${String(w.v)} (expected ${LATENCY_SCHEMA_VERSION})`);
  if (typeof w.node !== 'string' || w.node === '') throw new InvalidArgumentError('node', 'must be a non-empty string');
  if (typeof w.startMs !== 'number') throw new InvalidArgumentError('startMs', 'must be a number');
  if (!isCount(w.windowMs)) throw new InvalidArgumentError('windowMs', 'must be a non-negative integer');
  if (!Array.isArray(w.peers)) throw new InvalidArgumentError('peers', 'must be a list');
  const peers = w.peers as unknown[];
  for (let i = 0; i < peers.length; i++) {
    const r = peers[i] as Record<string, unknown> | null;
    if (typeof r !== 'object' || r === null) throw new InvalidArgumentError(`peers[${i}]`, 'must be an object');
    if (typeof r.peer !== 'string' || r.peer === '') throw new InvalidArgumentError(`peers[${i}].peer`, 'must be a non-empty string');
    if (!isCount(r.sent)) throw new InvalidArgumentError(`peers[${i}].sent`, 'must be a non-negative integer');
    if (!isCount(r.lost)) throw new InvalidArgumentError(`peers[${i}].lost`, 'must be a non-negative integer');
    if (!Array.isArray(r.buckets)) throw new InvalidArgumentError(`peers[${i}].buckets`, 'must be a list');
  }
  return o as LatencyWindow;
}

/**
 * Decodes and checks a window, binary or (legacy) JSON, told apart by the first byte. Throws
 * InvalidArgumentError naming the field. A JSON window's bucket lists are checked where they are
 * added (the aggregator, shared/histogram sparseTotal), so one pass reads them; a binary window's are checked here.
 * `names` (optional) interns the node names of binary windows.
 */
export function decodeLatencyWindow(data: Uint8Array | string, names?: NameTable): LatencyWindow {
  if (typeof data === 'string') return decodeJson(data);
  if (data.length === 0) throw new InvalidArgumentError('latency window', 'is empty');
  if (data[0] === LATENCY_WIRE_MAGIC) return decodeBinary(data, names);
  return decodeJson(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
}
