/**
 * The replicated store's group commit, on the in-memory twins (the JetStream log has the same
 * contract: term-log.test.ts): commits made while an append is in flight share the next append,
 * a follower replays them to the same state, and a write that is not a commit (a node delete) closes
 * the open group, so a node put after a delete stays put.
 */
import t from 'tap';
import { MemorySnapshotStore, MemoryTermLog, ReplicatedStore, decodeChange } from '../../../scheduler/ha/index.js';
import { MemoryStore } from '../../../scheduler/store/index.js';
import { storedJob as jobRecord, storedNode as nodeRecord } from '../../builders/records.js';

const store = (log: MemoryTermLog): ReplicatedStore => new ReplicatedStore({ log, local: new MemoryStore(), snapshots: new MemorySnapshotStore() });

t.test('concurrent commits share appends; a follower gets the same state', async (t) => {
  const log = new MemoryTermLog();
  const leader = store(log);
  await leader.lead(1, 'a');
  const before = await log.lastSeq();
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < 20; i++) writes.push(leader.commit({ jobs: [jobRecord(`train-${i}`, 'pending')] }));
  writes.push(leader.commit({ jobs: [jobRecord('train-0', 'running')] }));
  await Promise.all(writes);
  const appends = (await log.lastSeq()) - before;
  t.ok(appends < 21, `21 commits took ${appends} appends`);
  t.equal(leader.getJob('train-0')?.state, 'running', 'the later of two commits of one job wins');
  const batches = (await log.read(before, 100)).map((e) => decodeChange(e.data, e.seq)).filter((c) => c.op === 'batch');
  t.ok(batches.length > 0, 'at least one batch entry');
  const follower = store(log);
  await follower.catchUp();
  t.same(follower.listJobs(), leader.listJobs(), 'the follower replays the batches to the same jobs');
});

t.test('a node delete closes the open group: put, delete, put keeps the node', async (t) => {
  const log = new MemoryTermLog();
  const leader = store(log);
  await leader.lead(1, 'a');
  const first = leader.commit({ jobs: [jobRecord('train-1', 'pending')] }); // in flight: the group after it is open
  const put = leader.putNodes([nodeRecord('n1')]);
  const del = leader.deleteNode('n1');
  const again = leader.putNodes([{ ...nodeRecord('n1'), address: '10.0.0.9' }]);
  await Promise.all([first, put, del, again]);
  t.equal(leader.getNode('n1')?.address, '10.0.0.9', 'the node put after the delete is there');
  const follower = store(log);
  await follower.catchUp();
  t.same(follower.listNodes(), leader.listNodes(), 'and on the follower');
});
