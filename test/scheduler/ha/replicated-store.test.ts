/**
 * The replicated store on three clustered nats-servers, each scheduler with its own LMDB in a temp
 * dir (the state stream R3, the snapshot in an R3 object store):
 * - a follower that catches up holds exactly the leader's nodes, jobs and outbox;
 * - a new leader's term record fences the old one: the deposed leader's next write throws
 *   NotLeaderError, changes nothing in its store, and reports itself deposed; as a follower it then
 *   gets the new leader's writes;
 * - after a snapshot the stream is compacted, and a scheduler joining with an empty store starts
 *   from the snapshot plus the tail; a scheduler restarted from its old LMDB (behind the compacted
 *   stream) is brought to the same state, a node deleted meanwhile gone;
 * - a leader's commit resolves only after the append is acknowledged (the entry is in the stream
 *   when the write resolves).
 */
import t from 'tap';
import { connect, type NatsConnection } from 'nats';
import { JetStreamTermLog, ObjectSnapshotStore, ReplicatedStore } from '../../../scheduler/ha/index.js';
import { LmdbStore, type StateStore } from '../../../scheduler/store/index.js';
import { NotLeaderError } from '../../../shared/errors/index.js';
import { jobEvent, storedJob as jobRecord, storedNode as nodeRecord } from '../../builders/records.js';
import { startNatsCluster } from '../../harness/nats-cluster.js';
import { tempDir } from '../../harness/cluster.js';

const STREAM = { stream: 'GANTRY_TEST_REPL', subject: 'gantry.test.repl', replicas: 3, timeoutMs: 5000 };

async function scheduler(nc: NatsConnection, dir: string, onDeposed?: (term: number) => void): Promise<ReplicatedStore> {
  return new ReplicatedStore({
    log: await JetStreamTermLog.open(nc, STREAM),
    local: LmdbStore.open(dir),
    snapshots: await ObjectSnapshotStore.open(nc, { bucket: 'gantry_test_snap', replicas: 3, timeoutMs: 5000 }),
    onDeposed,
  });
}

/** What a store holds, for comparing two. */
function state(s: StateStore): unknown {
  return { nodes: s.listNodes(), jobs: s.listJobs(), outbox: s.outboxPeek(1000).map((e) => e.event.id), highest: s.highestJobNumber() };
}

t.test('replicated store: follow, fence, snapshot and join', async (t) => {
  const cluster = await startNatsCluster(t, 3);
  const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  t.teardown(() => nc.close());
  const dirA = tempDir(t, 'gantry-repl-a-');
  const deposed: number[] = [];
  const a = await scheduler(nc, dirA, (term) => deposed.push(term));
  const b = await scheduler(nc, tempDir(t, 'gantry-repl-b-'));

  await a.lead(1, 'a');
  await a.commit({ nodes: [nodeRecord('n1'), nodeRecord('n2')], jobs: [jobRecord('train-1', 'pending')], events: [jobEvent(1)] });
  const log = await JetStreamTermLog.open(nc, STREAM);
  t.equal(await log.lastSeq(), a.appliedLogSeq(), 'a commit resolves once its entry is in the stream');
  await a.commit({ jobs: [jobRecord('train-1', 'running'), jobRecord('train-2', 'pending')], events: [jobEvent(2), jobEvent(3)] });
  await a.outboxAck(a.outboxPeek(1)[0]!.seq); // e-1 published
  await a.commit({ jobs: [jobRecord('train-3', 'pending')] }); // carries the acknowledgement
  t.equal(await a.deleteNode('n2'), true);

  t.equal(await b.catchUp(), 5, 'the follower applies the five entries (term, three commits, a delete)');
  t.same(state(b), state(a), 'and holds what the leader holds');
  t.same(b.outboxPeek(10).map((e) => e.event.id), ['e-2', 'e-3'], 'its outbox trimmed to what the leader had published');
  await t.rejects(b.commit({ jobs: [jobRecord('x-9', 'pending')] }), NotLeaderError, 'a follower writes nothing');

  // b leads term 2: its term record fences a.
  await b.lead(2, 'b');
  const before = { state: state(a), seq: a.appliedLogSeq() };
  await t.rejects(a.commit({ jobs: [jobRecord('stale-9', 'pending')] }), NotLeaderError, "the deposed leader's write is refused");
  t.same({ state: state(a), seq: a.appliedLogSeq() }, before, 'and changed nothing in its store');
  t.same(deposed, [1], 'it reported itself deposed from term 1');
  t.equal(a.term(), undefined, 'and no longer writes');
  await b.commit({ jobs: [jobRecord('train-4', 'pending')], events: [jobEvent(4)] });
  await a.catchUp();
  t.same(state(a), state(b), 'as a follower it gets the new leader\'s writes');
  t.notOk(a.getJob('stale-9'), 'and never the refused one');

  // Snapshot and compaction.
  await b.commit({ nodes: [nodeRecord('n3')] });
  const snap = await b.snapshot();
  t.equal(await log.firstSeq(), snap.seq + 1, `the stream is compacted up to the snapshot (${snap.seq})`);
  await b.commit({ jobs: [jobRecord('train-5', 'pending')] });
  await b.deleteNode('n1');
  const c = await scheduler(nc, tempDir(t, 'gantry-repl-c-'));
  await c.catchUp();
  t.same(state(c), state(b), 'a scheduler joining with an empty store: the snapshot plus the tail');
  await a.close();
  const a2 = await scheduler(nc, dirA);
  t.equal(a2.appliedLogSeq(), before.seq + 2, 'a restarted from its LMDB resumes where it was');
  await a2.catchUp();
  t.same(state(a2), state(b), 'and, behind the compacted stream, is brought to the same state');
  t.notOk(a2.getNode('n1'), 'the node deleted meanwhile gone');
  for (const s of [a2, b, c]) await s.close();
});
