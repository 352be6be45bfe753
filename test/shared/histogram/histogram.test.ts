import t from 'tap';
import { addSparse, BUCKET_UPPER_US, bucketIndex, HISTOGRAM_BUCKETS, mergeInto, newCounts, quantileUs, record, toSparse, total } from '../../../shared/histogram/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { decodeLatencyWindow, encodeLatencyWindow } from '../../../shared/telemetry/index.js';

t.test('bucket edges: a value lands in the bucket whose bounds hold it', async (t) => {
  t.equal(bucketIndex(0), 0);
  t.equal(bucketIndex(10), 0);
  t.equal(bucketIndex(10.0001), 1);
  for (let i = 1; i < HISTOGRAM_BUCKETS - 1; i++) {
    const up = BUCKET_UPPER_US[i] as number;
    t.equal(bucketIndex(up), i, `upper bound of ${i}`);
    t.equal(bucketIndex(up * 1.0001), i + 1, `just above ${i}`);
  }
  t.equal(bucketIndex(1e9), HISTOGRAM_BUCKETS - 1);
});

t.test('quantiles read as bucket upper bounds, capped by the max; merge adds', async (t) => {
  const a = newCounts();
  for (let i = 0; i < 98; i++) record(a, 100);
  record(a, 5000);
  record(a, 5000);
  t.equal(total(a), 100);
  t.ok(quantileUs(a, 0.5) >= 100 && quantileUs(a, 0.5) < 125);
  t.ok(quantileUs(a, 0.99) >= 5000 && quantileUs(a, 0.99) < 6250);
  t.equal(quantileUs(a, 0.99, 5000), 5000, 'capped');
  t.equal(quantileUs(newCounts(), 0.99), 0, 'empty');
  const b = newCounts();
  addSparse(b, toSparse(a), 'b');
  mergeInto(b, a);
  t.equal(total(b), 200);
  t.same(toSparse(b), toSparse(a).map((x, i) => (i % 2 ? x * 2 : x)));
});

t.test('malformed sparse histograms are refused, naming the field', async (t) => {
  for (const bad of [[1], [HISTOGRAM_BUCKETS, 1], [-1, 1], [1, -2], [1.5, 1], 'x']) {
    try {
      addSparse(newCounts(), bad, 'peers[0].buckets');
      t.fail(`accepted ${JSON.stringify(bad)}`);
    } catch (e) {
      t.ok(e instanceof InvalidArgumentError);
      t.match((e as Error).message, /peers\[0\]\.buckets/);
    }
  }
});

t.test('latency window round trip and refusals', async (t) => {
  const w = { v: 1 as const, node: 'n.1', startMs: 1000, windowMs: 500, peers: [{ peer: 'n2', sent: 3, lost: 1, buckets: [4, 2], p50Us: 30, p99Us: 30, maxUs: 29 }] };
  t.same(decodeLatencyWindow(encodeLatencyWindow(w)), w);
  const bads: Array<[string, RegExp]> = [
    ['nope', /nor JSON/],
    ['{"v":2}', /version/],
    ['{"v":1,"node":""}', /node/],
    ['{"v":1,"node":"a","startMs":1,"windowMs":-1,"peers":[]}', /windowMs/],
    ['{"v":1,"node":"a","startMs":1,"windowMs":1,"peers":[{"peer":"b","sent":1,"lost":0}]}', /peers\[0\]\.buckets/],
  ];
  for (const [text, re] of bads) {
    try {
      decodeLatencyWindow(text);
      t.fail(`accepted ${text}`);
    } catch (e) {
      t.match((e as Error).message, re);
    }
  }
});
