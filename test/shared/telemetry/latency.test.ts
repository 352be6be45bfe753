/** The latency window's wire forms: binary round trips, refusals of malformed binary, the legacy JSON form. */
import t, { type Test } from 'tap';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { HISTOGRAM_BUCKETS } from '../../../shared/histogram/index.js';
import {
  decodeLatencyWindow,
  encodeLatencyWindow,
  encodeLatencyWindowJson,
  LATENCY_BUCKET_LAYOUT,
  LATENCY_WIRE_MAGIC,
  LATENCY_WIRE_VERSION,
  latencyWireEncoding,
  NameTable,
  type LatencyPeerWindow,
  type LatencyWindow,
} from '../../../shared/telemetry/index.js';

const peer = (name: string, over: Partial<LatencyPeerWindow> = {}): LatencyPeerWindow => ({ peer: name, sent: 100, lost: 2, buckets: [3, 40, 4, 50, 30, 8], p50Us: 30, p99Us: 220, maxUs: 250, ...over });
const win = (over: Partial<LatencyWindow> = {}): LatencyWindow => ({ v: 1, node: 'hgx-r01-n001', startMs: 1_700_000_000_000, windowMs: 10_000, peers: [peer('hgx-r01-n002'), peer('hgx-r02-n001')], ...over });

const roundTrips: Array<[string, LatencyWindow]> = [
  ['a typical window', win()],
  ['no peers', win({ peers: [] })],
  ['a peer with no RTTs (all lost)', win({ peers: [peer('b', { sent: 5, lost: 5, buckets: [], p50Us: 0, p99Us: 0, maxUs: 0 })] })],
  ['the first and the open last bucket', win({ peers: [peer('b', { buckets: [0, 1, HISTOGRAM_BUCKETS - 1, 7] })] })],
  ['every bucket', win({ peers: [peer('b', { buckets: Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => [i, i * 1000]).flat() })] })],
  ['counts at the varint limit (2^53 - 1) and at byte edges', win({ windowMs: 127, peers: [peer('b', { sent: Number.MAX_SAFE_INTEGER, lost: 128, p50Us: 16_383, p99Us: 16_384, maxUs: 2 ** 32, buckets: [5, 2 ** 35] })] })],
  ['a fractional, negative and zero start', win({ startMs: -1.5 })],
  ['a zero start', win({ startMs: 0, windowMs: 0 })],
  ['non-ASCII names', win({ node: 'knoten-ü', peers: [peer('节点-2'), peer('b')] })],
  ['names longer than 127 bytes (two-byte length)', win({ node: 'n'.repeat(200), peers: [peer(`p${'é'.repeat(100)}`), peer('q'.repeat(70))] })],
  ['many peers', win({ peers: Array.from({ length: 300 }, (_, i) => peer(`peer-${i}`, { sent: i, lost: i % 3 })) })],
];

t.test('binary round trips, with and without a name table', async (t) => {
  const names = new NameTable();
  for (const [what, w] of roundTrips) {
    const bytes = encodeLatencyWindow(w);
    t.equal(bytes[0], LATENCY_WIRE_MAGIC, `${what}: magic`);
    t.equal(bytes[1], LATENCY_WIRE_VERSION, `${what}: version`);
    t.equal(bytes[2], LATENCY_BUCKET_LAYOUT, `${what}: bucket layout`);
    t.equal(latencyWireEncoding(bytes), 'binary');
    t.same(decodeLatencyWindow(bytes), w, what);
    t.same(decodeLatencyWindow(bytes, names), w, `${what} (interned)`);
    t.same(decodeLatencyWindow(bytes, names), w, `${what} (interned, again)`);
    // A copy at an offset inside a larger buffer (as NATS hands payloads over) reads the same.
    const inside = new Uint8Array(bytes.length + 7);
    inside.set(bytes, 3);
    t.same(decodeLatencyWindow(inside.subarray(3, 3 + bytes.length), names), w, `${what} (at an offset)`);
  }
});

t.test('binary is far smaller than JSON for a realistic window', async (t) => {
  const w = win({ peers: [0, 1, 2, 3].map((i) => peer(`hgx-r01-n00${i}`, { buckets: [3, 10, 4, 20, 5, 30, 6, 20, 7, 10, 8, 5, 9, 3, 30, 2] })) });
  const bin = encodeLatencyWindow(w).length;
  const json = encodeLatencyWindowJson(w).length;
  t.ok(bin * 3 < json, `binary ${bin} bytes, JSON ${json} bytes`);
});

t.test('a bounded name table starts afresh and still reads right', async (t) => {
  const names = new NameTable(4);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 10; i++) {
      const w = win({ node: `node-${i}`, peers: [peer(`node-${(i + 1) % 10}`)] });
      t.same(decodeLatencyWindow(encodeLatencyWindow(w), names), w);
    }
  }
  t.ok(names.size <= 4, `size ${names.size}`);
});

function refused(t: Test, data: Uint8Array | string, re: RegExp, what: string): void {
  try {
    decodeLatencyWindow(data, new NameTable());
    t.fail(`${what}: accepted`);
  } catch (e) {
    t.ok(e instanceof InvalidArgumentError, `${what}: InvalidArgumentError`);
    t.match((e as Error).message, re, what);
  }
}

t.test('malformed binary is refused with an error naming the field', async (t) => {
  const good = encodeLatencyWindow(win());
  const patch = (at: number, ...bytes: number[]): Uint8Array => {
    const b = Uint8Array.from(good);
    b.set(bytes, at);
    return b;
  };
  // Layout of `good`: 11 header bytes, windowMs (2 bytes: 10000), node (1 + 12), peer count (1), first peer name (1 + 12) …
  const firstPeer = 11 + 2 + 13 + 1;
  const firstBuckets = firstPeer + 13 + 1 + 1 + 1 + 2 + 2; // name, sent, lost, p50, p99 (220), max (250)
  const cases: Array<[string, Uint8Array | string, RegExp]> = [
    ['empty', new Uint8Array(0), /latency window: is empty/],
    ['magic only', Uint8Array.of(LATENCY_WIRE_MAGIC), /truncated at byte 1 \(reading format version\)/],
    ['an unknown format version', patch(1, 2), /unsupported binary format version 2 \(this reader knows 1\)/],
    ['format version 0', patch(1, 0), /unsupported binary format version 0/],
    ['an unknown bucket layout', patch(2, 9), /unknown bucket layout 9/],
    ['a header cut short', good.subarray(0, 7), /truncated at byte 7 \(reading startMs\)/],
    ['a non-finite start', patch(3, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f), /startMs: must be a finite number/],
    ['trailing bytes', Uint8Array.of(...good, 0), /1 unexpected bytes after the last peer/],
    ['an empty node name', patch(13, 0), /node: must be a non-empty string/],
    ['a bucket index past the layout', patch(firstBuckets + 1, HISTOGRAM_BUCKETS), /peers\[0\]\.buckets\[0\]: bucket index must be in 0\.\.64/],
    ['bucket indices out of order', patch(firstBuckets + 1, 4, 40, 3), /peers\[0\]\.buckets\[2\]: bucket index .* ascending \(got 3\)/],
    ['more non-empty buckets than the layout has', patch(firstBuckets, HISTOGRAM_BUCKETS + 1), /peers\[0\]\.buckets: 66 non-empty buckets/],
    ['a peer count the message cannot hold', patch(firstPeer - 1, 0x7f), /truncated .*reading peers\)/],
    ['a varint over 2^53', Uint8Array.of(...good.subarray(0, 11), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), /windowMs: varint out of range/],
    ['a varint that never ends', Uint8Array.of(...good.subarray(0, 11), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), /windowMs: varint out of range/],
    ['invalid UTF-8 in a name', Uint8Array.of(...good.subarray(0, 13), 2, 0xc3, 0x28, 1), /node: is not valid UTF-8/],
    ['neither binary nor JSON', Uint8Array.of(0x00, 1, 2), /neither binary \(first byte 0xc1\) nor JSON/],
    ['JSON of another schema version', '{"v":2}', /v: unsupported latency schema version 2/],
  ];
  for (const [what, data, re] of cases) refused(t, data, re, what);
  // Every proper prefix of a valid message is refused as truncated (never read past the end, never accepted).
  for (let n = 1; n < good.length; n++) refused(t, good.subarray(0, n), /truncated at byte \d+ \(reading [\w[\].\s]+\)/, `prefix of ${n} bytes`);
});

t.test('the encoder refuses what the format cannot carry, naming the field', async (t) => {
  const cases: Array<[string, LatencyWindow, RegExp]> = [
    ['a negative count', win({ peers: [peer('b', { sent: -1 })] }), /peers\[0\]\.sent: must be a non-negative integer/],
    ['a fractional p99', win({ peers: [peer('b'), peer('c', { p99Us: 1.5 })] }), /peers\[1\]\.p99Us: must be a non-negative integer/],
    ['an odd bucket list', win({ peers: [peer('b', { buckets: [1] })] }), /peers\[0\]\.buckets: must be a list of \[bucket, count\] pairs/],
    ['a bucket past the layout', win({ peers: [peer('b', { buckets: [65, 1] })] }), /peers\[0\]\.buckets\[0\]: bucket index/],
    ['a fractional bucket count', win({ peers: [peer('b', { buckets: [1, 0.5] })] }), /peers\[0\]\.buckets\[1\]: must be a non-negative integer/],
    ['an empty node', win({ node: '' }), /node: must be a non-empty string/],
    ['an empty peer', win({ peers: [peer('')] }), /peers\[0\]\.peer: must be a non-empty string/],
    ['a NaN start', win({ startMs: NaN }), /startMs: must be a finite number/],
    ['a count over 2^53', win({ windowMs: 2 ** 53 }), /windowMs: must be a non-negative integer/],
  ];
  for (const [what, w, re] of cases) {
    try {
      encodeLatencyWindow(w);
      t.fail(`${what}: accepted`);
    } catch (e) {
      t.ok(e instanceof InvalidArgumentError, what);
      t.match((e as Error).message, re, what);
    }
  }
});

t.test('legacy JSON windows (older agents) still decode, sniffed by the first byte', async (t) => {
  for (const [what, w] of roundTrips) {
    const json = encodeLatencyWindowJson(w);
    t.equal(latencyWireEncoding(json), 'json');
    t.same(decodeLatencyWindow(json), w, what);
  }
  t.same(decodeLatencyWindow(` \n${JSON.stringify(win())}`), win(), 'leading whitespace');
});
