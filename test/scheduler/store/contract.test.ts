/**
 * One contract, three implementations: the LMDB store, its in-memory twin and the replicated store
 * (scheduler/ha, over an in-memory state stream) must behave alike.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LmdbStore, MemoryStore, type StateStore } from '../../../scheduler/store/index.js';
import { MemorySnapshotStore, MemoryTermLog, ReplicatedStore } from '../../../scheduler/ha/index.js';
import { open } from 'lmdb';
import { usageKey, type JobRecord, type NodeUsageEntry, type RankUsageEntry } from '../../../shared/domain/index.js';
import { jobEvent as ev, storedJob as job, storedNode as node } from '../../builders/records.js';


/**
 * The replicated store (scheduler/ha) over an in-memory state stream, per dir: "reopening" it is a
 * new scheduler with an empty local store that leads the next term, so what it reads back it got
 * by replaying the stream.
 */
const streams = new Map<string, { log: MemoryTermLog; term: number }>();
async function replicated(dir: string): Promise<StateStore> {
  let s = streams.get(dir);
  if (!s) streams.set(dir, (s = { log: new MemoryTermLog(), term: 0 }));
  const store = new ReplicatedStore({ log: s.log, local: new MemoryStore(), snapshots: new MemorySnapshotStore() });
  await store.lead(++s.term, `test-${s.term}`);
  return store;
}

const impls: Array<[string, (dir: string) => StateStore | Promise<StateStore>, boolean]> = [
  ['memory', () => new MemoryStore(), false],
  ['lmdb', (dir) => LmdbStore.open(dir), true],
  ['replicated', replicated, true],
];

for (const [name, make, durable] of impls) {
  t.test(`${name} store contract`, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-store-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    let store = await make(dir);
    t.same(store.listNodes(), [], 'starts empty');
    t.equal(store.getNode('x'), undefined, 'unknown node is undefined');
    // b: a record from before agents registered their allow-lists (none stored, none read back).
    await store.putNodes([node('b'), node('a', { allowedUsers: ['alice', 'root'], allowRoot: true })]);
    t.same(store.listNodes().map((n) => n.name), ['a', 'b'], 'lists in name order');
    t.same(store.getNode('a'), node('a', { allowedUsers: ['alice', 'root'], allowRoot: true }), 'round-trips a whole record, its allow-list too');
    t.notOk('allowedUsers' in store.getNode('b')! || 'allowRoot' in store.getNode('b')!, 'an old record has none (read as none, false)');
    await store.putNodes([node('a', { connectivity: 'lost', schedulability: 'cordoned', schedulabilityReason: 'ops', allowedUsers: ['alice'], allowRoot: false })]);
    t.equal(store.getNode('a')!.connectivity, 'lost', 'a put replaces the record');
    t.equal(store.getNode('a')!.schedulabilityReason, 'ops');
    const got = store.getNode('a')!;
    got.name = 'mutated';
    t.equal(store.getNode('a')!.name, 'a', 'callers cannot mutate stored records');
    t.equal(await store.deleteNode('b'), true, 'delete reports that it deleted');
    t.equal(await store.deleteNode('b'), false, 'and that there was nothing to delete');
    if (durable) {
      await store.close();
      store = await make(dir);
      t.same(store.listNodes().map((n) => n.name), ['a'], 'survives close and reopen');
      t.equal(store.getNode('a')!.schedulability, 'cordoned');
      t.match(store.getNode('a'), { allowedUsers: ['alice'], allowRoot: false }, 'its allow-list too');
    }
    await store.close();
  });
}


for (const [name, make, durable] of impls) {
  t.test(`${name} store contract: jobs, and the unfinished ones alone`, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-store-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    let store = await make(dir);
    t.same(store.listJobs(), [], 'starts empty');
    t.same(store.listUnfinishedJobs(), []);
    t.same(store.listJobIds(), []);
    await store.commit({ jobs: [job('c-3', 'running'), job('a-1', 'pending'), job('b-2', 'succeeded'), job('d-4', 'requeued')] });
    t.same(store.listJobIds(), ['a-1', 'b-2', 'c-3', 'd-4'], 'every id, in order');
    t.same(store.listUnfinishedJobs().map((j) => j.id), ['a-1', 'c-3', 'd-4'], 'unfinished jobs, in id order');
    t.same(store.listUnfinishedJobs()[0], job('a-1', 'pending'), 'whole records');
    await store.commit({ jobs: [job('c-3', 'failed'), job('b-2', 'succeeded'), job('e-5', 'cancelled')] });
    t.same(store.listUnfinishedJobs().map((j) => j.id), ['a-1', 'd-4'], 'a job that finishes leaves the unfinished ones');
    t.same(store.listJobs().map((j) => [j.id, j.state]), [['a-1', 'pending'], ['b-2', 'succeeded'], ['c-3', 'failed'], ['d-4', 'requeued'], ['e-5', 'cancelled']]);
    t.equal(store.jobCount(), 5, 'counts the jobs');
    t.same(store.listJobsPage(undefined, 2).map((j) => j.id), ['a-1', 'b-2'], 'a first page');
    t.same(store.listJobsPage('b-2', 2).map((j) => j.id), ['c-3', 'd-4'], 'the page after an id');
    t.same(store.listJobsPage('bb', 2).map((j) => j.id), ['c-3', 'd-4'], 'after an id that is not stored');
    t.same(store.listJobsPage('d-4', 2).map((j) => j.id), ['e-5'], 'a short last page');
    t.same(store.listJobsPage('e-5', 2), [], 'nothing after the last');
    t.same(store.listJobsPage('a-1', 1)[0], job('b-2', 'succeeded'), 'whole records');
    t.equal(store.highestJobNumber(), 5, 'the highest job number');
    await store.commit({ jobs: [job('z-3', 'pending')] });
    t.equal(store.highestJobNumber(), 5, 'a lower number does not lower it');
    await store.commit({ jobs: [job('a-12', 'pending')] });
    t.equal(store.highestJobNumber(), 12, 'a higher one raises it');
    if (durable) {
      await store.close();
      store = await make(dir);
      t.same(store.listUnfinishedJobs().map((j) => j.id), ['a-1', 'a-12', 'd-4', 'z-3'], 'survives close and reopen');
      t.equal(store.highestJobNumber(), 12, 'and the highest job number');
      t.equal(store.jobCount(), 7);
    }
    await store.close();
  });
}

t.test('lmdb: a store written before the unfinished-jobs index gets it built at open', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let store = LmdbStore.open(dir);
  await store.commit({ jobs: [job('a-1', 'pending'), job('b-2', 'succeeded'), job('c-3', 'running')] });
  await store.close();
  // What an older build leaves: the jobs, no index, no meta flag.
  const raw = open({ path: dir, compression: false });
  await raw.openDB({ name: 'jobs-unfinished' }).clearAsync();
  await raw.openDB({ name: 'meta' }).remove('unfinishedIndex');
  await raw.close();
  store = LmdbStore.open(dir);
  t.same(store.listUnfinishedJobs().map((j) => j.id), ['a-1', 'c-3'], 'rebuilt from the jobs');
  await store.close();
});

t.test('lmdb: a schema-1 store (msgpack job records) is converted to JSON records at open, whole', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // What a schema-1 build leaves: msgpack records in `jobs`, schema 1, the unfinished index.
  const withRanks: JobRecord = {
    ...job('c-3', 'running'),
    ranks: [{ rank: 0, unit: 0, node: 'n-1', gpus: [0, 1], gpuUuids: ['GPU-a', 'GPU-b'], topologyAddress: 'leaf-1.n-1', state: 'running', exitCode: null, signal: null }],
    masterPort: 29500,
    lastCheckpointMs: 7,
  };
  const raw = open({ path: dir, compression: false });
  await raw.openDB({ name: 'meta' }).put('schemaVersion', 1);
  await raw.openDB({ name: 'meta' }).put('unfinishedIndex', 1);
  const old = raw.openDB({ name: 'jobs' });
  for (const j of [job('a-1', 'pending'), job('b-2', 'succeeded'), withRanks]) await old.put(j.id, { v: 1, job: j });
  for (const id of ['a-1', 'c-3']) await raw.openDB({ name: 'jobs-unfinished' }).put(id, 1);
  await raw.close();
  let store = LmdbStore.open(dir);
  t.same(store.listJobIds(), ['a-1', 'b-2', 'c-3'], 'every job converted');
  t.equal(store.highestJobNumber(), 3, 'the highest job number found from the ids');
  t.same(store.getJob('c-3'), withRanks, 'a whole record, ranks included');
  t.same(store.listUnfinishedJobs().map((j) => j.id), ['a-1', 'c-3']);
  await store.commit({ jobs: [job('d-4', 'pending')] });
  await store.close();
  const after = open({ path: dir, compression: false });
  t.equal(after.openDB({ name: 'meta' }).get('schemaVersion'), 2, 'the store says schema 2 now');
  t.equal(after.openDB({ name: 'jobs' }).getCount(), 0, 'the msgpack records are gone');
  await after.close();
  store = LmdbStore.open(dir);
  t.same(store.listJobIds(), ['a-1', 'b-2', 'c-3', 'd-4'], 'reopened: converted once, new records kept');
  await store.close();
  // A newer build's store is refused rather than misread.
  const newer = open({ path: dir, compression: false });
  await newer.openDB({ name: 'meta' }).put('schemaVersion', 3);
  await newer.close();
  try {
    LmdbStore.open(dir);
    t.fail('opened a newer schema');
  } catch (e) {
    t.match((e as Error).message, /schema 3, newer than this build's 2/);
  }
});


for (const [name, make, durable] of impls) {
  t.test(`${name} store contract: the outbox keeps events in commit order until acknowledged`, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-store-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    let store = await make(dir);
    t.equal(store.outboxSize(), 0);
    t.same(store.outboxPeek(10), []);
    await store.commit({ jobs: [job('a-1', 'pending')], events: [ev(1), ev(2)] });
    await Promise.all([store.commit({ events: [ev(3)] }), store.commit({ nodes: [node('n')], events: [ev(4), ev(5)] })]);
    t.equal(store.outboxSize(), 5);
    const all = store.outboxPeek(10);
    t.same(all.map((e) => e.event.id), ['e-1', 'e-2', 'e-3', 'e-4', 'e-5'], 'commit order, across concurrent commits');
    t.ok(all.every((e, i) => i === 0 || e.seq > all[i - 1]!.seq), 'increasing sequence numbers');
    t.same(all[0]!.event, ev(1), 'whole events');
    t.same(store.outboxPeek(2).map((e) => e.event.id), ['e-1', 'e-2'], 'a limit');
    await store.outboxAck(all[1]!.seq);
    t.same(store.outboxPeek(10).map((e) => e.event.id), ['e-3', 'e-4', 'e-5'], 'acknowledged events leave');
    t.equal(store.outboxSize(), 3);
    if (durable) {
      await store.close();
      store = await make(dir);
      t.same(store.outboxPeek(10).map((e) => e.event.id), ['e-3', 'e-4', 'e-5'], 'the outbox survives close and reopen');
      t.equal(store.outboxSize(), 3, 'and its size');
      await store.commit({ events: [ev(6)] });
      t.same(store.outboxPeek(10).map((e) => e.event.id), ['e-3', 'e-4', 'e-5', 'e-6'], 'new events after the old ones');
    }
    await store.outboxAck(Number.MAX_SAFE_INTEGER);
    t.equal(store.outboxSize(), 0, 'all acknowledged');
    await store.close();
  });
}

const rankUse = (jobId: string, rank: number, endMs: number): RankUsageEntry => ({
  kind: 'rank', jobId, epoch: 1, rank, user: 'alice', queue: 'default', node: 'n1', gpus: [rank], submittedMs: 1, placedMs: 2, startMs: 3, endMs, exitCode: endMs ? 0 : null, signal: null,
});
const nodeUse = (node: string, atMs: number): NodeUsageEntry => ({ kind: 'node', node, atMs, state: 'up', gpus: 8 });

for (const [name, make, durable] of impls) {
  t.test(`${name} store contract: usage entries (issue 23) by key, written and deleted with a commit`, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-store-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    let store = await make(dir);
    t.same(store.listUsage(), [], 'none at first');
    await store.commit({ jobs: [job('a-1', 'running')], usage: [rankUse('a-1', 1, 0), rankUse('a-1', 0, 0), nodeUse('n1', 5)] });
    await store.commit({ usage: [rankUse('a-1', 0, 100), nodeUse('n1', 50)] });
    t.equal(store.usageCount(), 4, 'a rewrite of a key replaces its entry: none doubled');
    t.same(store.listUsage('rank'), [rankUse('a-1', 0, 100), rankUse('a-1', 1, 0)], 'rank entries in key order, the latest write of each');
    t.same(store.listUsage('node'), [nodeUse('n1', 5), nodeUse('n1', 50)], 'node entries alone, in time order');
    t.equal(store.listUsage().length, 4, 'both kinds without a kind');
    if (durable) {
      await store.close();
      store = await make(dir);
      t.same(store.listUsage('rank'), [rankUse('a-1', 0, 100), rankUse('a-1', 1, 0)], 'usage survives close and reopen');
    }
    await store.commit({ usageDeletes: [usageKey(rankUse('a-1', 0, 100)), usageKey(nodeUse('n1', 5)), 'r/no-such-key'] });
    t.same(store.listUsage(), [nodeUse('n1', 50), rankUse('a-1', 1, 0)], 'deleted by key (an unknown key is no error)');
    t.equal(store.usageCount(), 2);
    await store.close();
  });
}

t.test('replicated store: usage entries and their deletions travel in the snapshot (a scheduler joining after compaction)', async (t) => {
  const log = new MemoryTermLog();
  const snapshots = new MemorySnapshotStore();
  const a = new ReplicatedStore({ log, local: new MemoryStore(), snapshots });
  await a.lead(1, 'a');
  await a.commit({ usage: [rankUse('a-1', 0, 100), rankUse('a-1', 1, 0), nodeUse('n1', 5)] });
  await a.commit({ usageDeletes: [usageKey(rankUse('a-1', 0, 100))] });
  const snap = await a.snapshot();
  t.same(snap.usage, [nodeUse('n1', 5), rankUse('a-1', 1, 0)], 'the snapshot holds the usage entries');
  await a.commit({ usage: [rankUse('a-1', 1, 200)] });
  // A scheduler whose local store still has an entry pruned since: the snapshot's set replaces it.
  const stale = new MemoryStore();
  await stale.commit({ usage: [rankUse('a-1', 0, 100)] });
  const b = new ReplicatedStore({ log, local: stale, snapshots });
  a.follow();
  await b.lead(2, 'b');
  t.same(b.listUsage(), [nodeUse('n1', 5), rankUse('a-1', 1, 200)], 'restored from the snapshot, then the tail applied; the pruned entry gone');
  await b.close();
});
