/** The latency aggregator and peer choice, on trees built by the real topology code. */
import t from 'tap';
import { newCounts, record, toSparse } from '../../../shared/histogram/index.js';
import type { LatencyWindow } from '../../../shared/telemetry/index.js';
import { choosePeers, layoutFromTree, LatencyAggregator, type AggregatorOptions } from '../../../scheduler/telemetry/index.js';
import { cluster, hgxNode } from '../../builders/cluster.js';

/** 2 spines × 2 leaves × 3 nodes, levels [nvlink, leaf, spine] (HGX: each node its own NVLink domain). */
function tree() {
  const nodes = [];
  for (const s of [1, 2]) for (const l of [1, 2]) for (const i of [1, 2, 3]) nodes.push(hgxNode(`n${s}${l}${i}`, { leaf: `leaf-${s}${l}`, spine: `spine-${s}` }));
  return cluster(['nvlink', 'leaf', 'spine'], nodes).tree;
}

const OPTS: AggregatorOptions = { slidingWindowMs: 1000, slots: 4, degradeFactor: 3, degradeAfterMs: 500, clearAfterMs: 500, minSamples: 20, p99FloorUs: 100 };

function win(node: string, peers: Record<string, number>, n = 20, lost = 0): LatencyWindow {
  return {
    v: 1,
    node,
    startMs: 0,
    windowMs: 100,
    peers: Object.entries(peers).map(([peer, us]) => {
      const c = newCounts();
      for (let i = 0; i < n; i++) record(c, us);
      return { peer, sent: n + lost, lost, buckets: toSparse(c), p50Us: us, p99Us: us, maxUs: us };
    }),
  };
}

t.test('layout collapses single-child domains; peers at each step up the tree', async (t) => {
  const layout = layoutFromTree(tree());
  t.same(layout.get('n121')?.map((r) => `${r.level}:${r.name}`), ['spine:spine-1', 'leaf:leaf-12', 'node:n121'], 'own NVLink domain collapsed into the node');
  const peers = choosePeers(layout, { peersPerLevel: [2, 1, 1] });
  const p = peers.get('n111') ?? [];
  t.equal(p.length, 4);
  t.same(p.slice(0, 2).sort(), ['n112', 'n113'], 'same leaf');
  t.match(p[2], /^n12/, 'another leaf of the same spine');
  t.match(p[3], /^n2/, 'another spine');
  // Every node is probed by someone at every step (spread, not all onto the first node).
  const probed = new Map<string, number>();
  for (const list of peers.values()) for (const x of list) probed.set(x, (probed.get(x) ?? 0) + 1);
  t.equal(probed.size, 12);
  t.ok(Math.max(...probed.values()) <= 5, `even spread ${JSON.stringify([...probed])}`);
  t.same(choosePeers(layout, { peersPerLevel: [5] }).get('n111')?.sort(), ['n112', 'n113'], 'never more than there are');
});

t.test('a slow echo marks its node degraded (not its peers), then it clears', async (t) => {
  const agg = new LatencyAggregator(OPTS);
  agg.setLayout(layoutFromTree(tree()));
  // n113's echo is slow: everything probing it sees 20 ms; the rest 50 µs.
  const feed = (now: number, slow: boolean): void => {
    const us = slow ? 20_000 : 50;
    agg.ingest(win('n111', { n112: 50, n113: us, n121: 60 }), now);
    agg.ingest(win('n112', { n111: 50, n113: us, n122: 60 }), now);
    agg.ingest(win('n113', { n111: 50, n112: 50, n123: 60 }), now);
    agg.ingest(win('n121', { n122: 50, n123: 50, n111: 60 }), now);
    agg.ingest(win('n122', { n121: 50, n123: 50 }), now);
    agg.ingest(win('n123', { n121: 50, n122: 50 }), now);
  };
  let changes = [];
  for (let now = 0; now <= 400; now += 100) {
    feed(now, true);
    changes.push(...agg.evaluate(now));
  }
  t.same(changes, [], 'not before degradeAfterMs');
  for (let now = 500; now <= 700; now += 100) {
    feed(now, true);
    changes.push(...agg.evaluate(now));
  }
  t.same(changes.map((c) => [c.level, c.name, c.degraded]), [['node', 'n113', true]]);
  t.ok(changes[0]!.p99Us >= 20_000 && changes[0]!.siblingsP99Us <= 100);
  t.same(agg.degraded(), [{ level: 'node', name: 'n113' }]);
  const st = agg.domains();
  t.equal(st.find((d) => d.name === 'leaf-11')?.degraded, false, 'its leaf is not (one leaf pair, no sibling stands out)');
  changes = [];
  // Recovered: the slow samples must age out of the sliding window (1 s), then clearAfterMs.
  for (let now = 800; now <= 3000; now += 100) {
    feed(now, false);
    changes.push(...agg.evaluate(now));
  }
  t.same(changes.map((c) => [c.name, c.degraded]), [['n113', false]]);
  t.same(agg.degraded(), []);
});

t.test('lost probes count as slow; too few samples or no siblings decide nothing', async (t) => {
  const agg = new LatencyAggregator({ ...OPTS, degradeAfterMs: 0 });
  agg.setLayout(layoutFromTree(tree()));
  for (let now = 0; now < 300; now += 100) {
    agg.ingest(win('n111', { n112: 50, n113: 50 }, 20), now);
    agg.ingest(win('n112', { n113: 50 }, 20), now);
    agg.ingest(win('n113', { n111: 50 }, 0, 20), now); // every probe from n113 lost... to n111
    agg.ingest(win('n112', { n111: 50 }, 0, 20), now);
  }
  t.same(agg.evaluate(300).map((c) => c.name), ['n111'], 'n111 answers nobody');
  const few = new LatencyAggregator({ ...OPTS, degradeAfterMs: 0, minSamples: 1000 });
  few.setLayout(layoutFromTree(tree()));
  few.ingest(win('n111', { n112: 50, n113: 20_000 }), 0);
  few.ingest(win('n112', { n113: 20_000 }), 0);
  t.same(few.evaluate(0), []);
  t.equal(few.ingest(win('stranger', { n111: 50 }), 0), 0, 'unknown nodes are skipped');
  t.equal(few.refused, 1);
});

t.test('a layout change re-attributes: a leaf that was alone in its spine gets a sibling', async (t) => {
  const agg = new LatencyAggregator({ ...OPTS, degradeAfterMs: 0 });
  const one = cluster(['nvlink', 'leaf', 'spine'], [hgxNode('x1', { leaf: 'l1', spine: 's' }), hgxNode('x2', { leaf: 'l1', spine: 's' })]).tree;
  agg.setLayout(layoutFromTree(one));
  agg.ingest(win('x1', { x2: 50 }), 0);
  agg.evaluate(0);
  t.same(agg.domains().map((d) => [d.name, d.parent.split('\u0000')[1] ?? '']), [['x1', 'l1'], ['x2', 'l1']]);
  const two = cluster(['nvlink', 'leaf', 'spine'], [hgxNode('x1', { leaf: 'l1', spine: 's' }), hgxNode('x2', { leaf: 'l1', spine: 's' }), hgxNode('y1', { leaf: 'l2', spine: 's' })]).tree;
  agg.setLayout(layoutFromTree(two));
  agg.ingest(win('x1', { x2: 50, y1: 50 }), 100);
  agg.evaluate(100);
  t.same(agg.domains().map((d) => `${d.level}:${d.name}<${d.parent.split('\u0000')[1] ?? ''}`), ['leaf:l1<s', 'node:x1<l1', 'node:x2<l1', 'node:y1<s'], 'leaf pair under the spine (l2 holds only y1, so y1 stands for it)');
  agg.setLayout(layoutFromTree(one));
  t.same(agg.domains().map((d) => d.name), ['l1', 'x1', 'x2'], 'domains the tree lost are forgotten');
});

t.test('counts saturate rather than wrap; slots that leave the sliding window stop counting', async (t) => {
  const agg = new LatencyAggregator({ ...OPTS, minSamples: 1 });
  agg.setLayout(layoutFromTree(tree()));
  const w = win('n111', { n112: 50 });
  // A hostile (or absurd) count above 2^32 in one bucket, twice, then ordinary samples in the same slot.
  w.peers[0]!.buckets = [3, 2 ** 32 + 5];
  agg.ingest(w, 0);
  agg.ingest(w, 5);
  agg.ingest(win('n111', { n112: 50 }, 10), 10);
  agg.evaluate(10);
  const n111 = agg.domains().find((d) => d.name === 'n111');
  t.equal(n111?.samples, 2 ** 32 - 1 + 10, 'the bucket held at the largest count, not wrapped (to 10) by the second add');
  // Another slot a quarter window later, then past the window: only what is inside it counts.
  agg.ingest(win('n111', { n112: 50 }, 7), 300);
  agg.evaluate(300);
  t.equal(agg.domains().find((d) => d.name === 'n111')?.samples, 2 ** 32 - 1 + 17, 'two slots merged');
  agg.evaluate(1100);
  t.equal(agg.domains().find((d) => d.name === 'n111')?.samples, 7, 'the first slot left the window');
  agg.evaluate(1400);
  t.equal(agg.domains().find((d) => d.name === 'n111')?.samples ?? 0, 0, 'and then the second');
  // An emptied slot is reused from zero.
  agg.ingest(win('n111', { n112: 50 }, 4), 1400);
  agg.evaluate(1400);
  t.equal(agg.domains().find((d) => d.name === 'n111')?.samples, 4, 'a reused slot starts empty');
});
