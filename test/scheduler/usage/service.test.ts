/** The usage service's shell over a real store (the in-memory twin): node history seeded at start, retention, reports. */
import t from 'tap';
import { MemoryStore } from '../../../scheduler/store/index.js';
import { DAY_MS, UsageService } from '../../../scheduler/usage/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { storedNode } from '../../builders/records.js';
import type { RankUsageEntry } from '../../../shared/domain/index.js';

const log = createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false });
const rank = (jobId: string, startMs: number, endMs: number): RankUsageEntry => ({
  kind: 'rank', jobId, epoch: 1, rank: 0, user: 'alice', queue: 'default', node: 'n1', gpus: [0, 1], submittedMs: startMs - 1000, placedMs: startMs - 500, startMs, endMs, exitCode: 0, signal: null,
});

t.test('seeds the node history at start, prunes what retention lets go, reports from the store', async (t) => {
  let now = 100 * DAY_MS;
  const store = new MemoryStore();
  await store.commit({ usage: [rank('old-1', 1 * DAY_MS, 2 * DAY_MS), rank('new-2', 95 * DAY_MS, 96 * DAY_MS), rank('open-3', 5 * DAY_MS, 0)] });
  const u = new UsageService({ retentionDays: 30, pruneIntervalMs: 3_600_000 }, { store, clock: { nowMs: () => now }, log });
  await u.start([storedNode('n1'), storedNode('n2', { schedulability: 'cordoned' })]);
  t.same(store.listUsage('node').map((e) => e.kind === 'node' && [e.node, e.state, e.atMs]), [['n1', 'up', now], ['n2', 'drained', now]], 'each node gets an entry: none was stored');
  t.equal(await u.prune(), 1, 'one rank entry ended before the cutoff (70 days ago); the open one stays');
  t.same(store.listUsage('rank').map((e) => e.kind === 'rank' && e.jobId), ['new-2', 'open-3']);
  const rows = u.report('user', { sinceMs: 90 * DAY_MS, untilMs: now }, undefined);
  t.equal(rows[0]!.gpuMs, 2 * DAY_MS + 2 * 10 * DAY_MS, 'new-2 for a day and open-3 for the window’s 10 days, 2 GPUs each');
  now += 1000;
  const again = new UsageService({ retentionDays: 30 }, { store, clock: { nowMs: () => now }, log });
  await again.start([storedNode('n1'), storedNode('n2', { schedulability: 'cordoned' })]);
  t.equal(store.listUsage('node').length, 2, 'a restart with the same node states writes nothing new');
  const c = again.cluster({ sinceMs: now - 1000, untilMs: now });
  t.same([c.totalGpuMs, c.idleGpuMs, c.downOrDrainedGpuMs, c.allocatedGpuMs], [2000, 0, 1000, 1000], 'n1: its GPU busy with open-3 (2 GPUs, 1 GPU node: capped); n2 drained');
  await u.stop();
  await again.stop();
});
