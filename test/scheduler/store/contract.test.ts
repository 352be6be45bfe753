/** One contract, two implementations: the LMDB store and its in-memory twin must behave alike. */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LmdbStore, MemoryStore, type StateStore } from '../../../scheduler/store/index.js';
import { open } from 'lmdb';
import { emptyInventory, type JobRecord, type JobState, type NodeRecord } from '../../../shared/domain/index.js';
import { parseJobSpec } from '../../../shared/jobspec/index.js';
import { jobYaml } from '../../builders/job.js';

function node(name: string, over: Partial<NodeRecord> = {}): NodeRecord {
  const inventory = emptyInventory(name);
  inventory.gpus.push({
    index: 0, uuid: `GPU-${name}`, name: 'NVIDIA H100 80GB HBM3', vendor: 'nvidia', memoryMiB: 81559, pciBusId: '00000000:18:00.0',
    serial: 's', vbiosVersion: 'v', inforomVersion: 'i', gspFirmwareVersion: 'g', numaNode: 0, nvlinkDomain: '', linkRow: ['X'], migEnabled: false,
  });
  return {
    name, address: name, connectivity: 'ready', schedulability: 'schedulable', schedulabilityReason: '', health: 'ok', verdicts: [],
    inventory, labels: { a: 'b' }, agentVersion: '0.1.0', registeredMs: 1000, lastSeenMs: 2000, reportsReceived: 3, ...over,
  };
}

const impls: Array<[string, (dir: string) => StateStore, boolean]> = [
  ['memory', () => new MemoryStore(), false],
  ['lmdb', (dir) => LmdbStore.open(dir), true],
];

for (const [name, make, durable] of impls) {
  t.test(`${name} store contract`, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-store-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    let store = make(dir);
    t.same(store.listNodes(), [], 'starts empty');
    t.equal(store.getNode('x'), undefined, 'unknown node is undefined');
    await store.putNodes([node('b'), node('a')]);
    t.same(store.listNodes().map((n) => n.name), ['a', 'b'], 'lists in name order');
    t.same(store.getNode('a'), node('a'), 'round-trips a whole record');
    await store.putNodes([node('a', { connectivity: 'lost', schedulability: 'cordoned', schedulabilityReason: 'ops' })]);
    t.equal(store.getNode('a')!.connectivity, 'lost', 'a put replaces the record');
    t.equal(store.getNode('a')!.schedulabilityReason, 'ops');
    const got = store.getNode('a')!;
    got.name = 'mutated';
    t.equal(store.getNode('a')!.name, 'a', 'callers cannot mutate stored records');
    t.equal(await store.deleteNode('b'), true, 'delete reports that it deleted');
    t.equal(await store.deleteNode('b'), false, 'and that there was nothing to delete');
    if (durable) {
      await store.close();
      store = make(dir);
      t.same(store.listNodes().map((n) => n.name), ['a'], 'survives close and reopen');
      t.equal(store.getNode('a')!.schedulability, 'cordoned');
    }
    await store.close();
  });
}

const spec = parseJobSpec(jobYaml());
function job(id: string, state: JobState): JobRecord {
  return {
    id, spec, owner: 'u', state, message: '', attempt: 0, epoch: 0, submittedMs: 1, updatedMs: 1, startedMs: 0, finishedMs: 0, requeueAtMs: 0, ranks: [], masterPort: 0,
  };
}

for (const [name, make, durable] of impls) {
  t.test(`${name} store contract: jobs, and the unfinished ones alone`, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-store-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    let store = make(dir);
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
    if (durable) {
      await store.close();
      store = make(dir);
      t.same(store.listUnfinishedJobs().map((j) => j.id), ['a-1', 'd-4'], 'survives close and reopen');
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
