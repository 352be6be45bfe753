/**
 * SubmitJob's idempotency keys: the index alone (per submitter, a submit in flight, a failed one),
 * the bounds on a request id, and through the job manager on LMDB: a resubmit gets the same job,
 * another submitter a new one, and a restarted manager (as a new leader loads the replicated
 * records) still knows the key, also for a job that finished before the restart.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClusterModel } from '../../../scheduler/cluster/index.js';
import { MemoryEventBus } from '../../../scheduler/events/index.js';
import { JobManager, checkRequestId } from '../../../scheduler/jobs/index.js';
import { RequestIds, madeBy } from '../../../scheduler/jobs/request-ids.js';
import { DEFAULT_QUEUE } from '../../../scheduler/queue/index.js';
import { LmdbStore, type StateStore } from '../../../scheduler/store/index.js';
import { emptyInventory, type JobRecord } from '../../../shared/domain/index.js';
import { parseJobSpec } from '../../../shared/jobspec/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { gpuInfo } from '../../builders/inventory.js';
import { jobYaml } from '../../builders/job.js';

t.test('request ids: 1-128 printable ASCII, or none; else INVALID_ARGUMENT naming request_id', async (t) => {
  t.equal(checkRequestId(''), '');
  t.equal(checkRequestId('3f1c2a9e-5d7b-4c1e-9a0f-1b2c3d4e5f60'), '3f1c2a9e-5d7b-4c1e-9a0f-1b2c3d4e5f60');
  t.equal(checkRequestId('x'.repeat(128)), 'x'.repeat(128));
  for (const bad of ['x'.repeat(129), 'a b', 'tab\there', 'nul\u0000', 'é']) {
    t.throws(() => checkRequestId(bad), { code: 'INVALID_ARGUMENT', field: 'request_id' }, JSON.stringify(bad.slice(0, 12)));
  }
});

const job = (id: string, requestId?: string, submittedBy?: string, owner = 'u'): Pick<JobRecord, 'id' | 'requestId' | 'submittedBy' | 'owner'> => ({ id, requestId, submittedBy, owner });

t.test('the index: keys per submitter; records without a request id are not indexed', async (t) => {
  const ix = new RequestIds();
  ix.note(job('a-1', 'r1', 'alice'));
  ix.note(job('b-2', 'r1', 'bob'));
  ix.note(job('c-3'));
  ix.note(job('d-4', 'r2', undefined, 'carol'));
  t.equal(ix.find('alice', 'r1'), 'a-1');
  t.equal(ix.find('bob', 'r1'), 'b-2', "the same key of another submitter is that submitter's own");
  t.equal(ix.find('carol', 'r2'), 'd-4', 'a record from before identities is keyed by its owner');
  t.equal(ix.find('alice', 'r2'), undefined);
  t.equal(ix.size, 3);
});

t.test('the index: a second submit with a key in flight waits and gets the first one\'s job; after a failure the next makes it', async (t) => {
  const ix = new RequestIds();
  let made = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const make = async (id: string): Promise<string> => {
    made++;
    await gate;
    ix.note(job(id, 'k', 'alice'));
    return id;
  };
  const first = ix.once('alice', 'k', () => make('j-1'), (id) => `existing ${id}`);
  const second = ix.once('alice', 'k', () => make('j-2'), (id) => `existing ${id}`);
  const other = ix.once('bob', 'k', async () => 'bob-job', (id) => `existing ${id}`);
  t.equal(await other, 'bob-job', 'another submitter is not held up');
  release();
  t.equal(await first, 'j-1');
  t.equal(await second, 'existing j-1', 'the retry in flight got the same job');
  t.equal(made, 1, 'one job made');

  const failing = ix.once('alice', 'f', async () => Promise.reject(new Error('store down')), (id) => id);
  const retry = ix.once('alice', 'f', async () => 'f-9', (id) => `existing ${id}`);
  await t.rejects(failing, /store down/);
  t.equal(await retry, 'f-9', 'the retry after a failed submit makes the job');
});

t.test('a key reused for a spec of another name is refused ALREADY_EXISTS', async (t) => {
  const rec = { id: 'train-4', spec: parseJobSpec(jobYaml({ name: 'train' })) } as JobRecord;
  t.equal(madeBy(rec, 'train', 'k'), rec);
  t.throws(() => madeBy(rec, 'other', 'k'), { code: 'ALREADY_EXISTS', message: /job train-4/ });
});

function manager(store: StateStore): JobManager {
  const cluster = new ClusterModel(60_000);
  cluster.register({ name: 'n1', address: 'n1', agentVersion: '1', inventory: { ...emptyInventory('n1'), gpus: Array.from({ length: 8 }, (_, i) => gpuInfo(i)) }, labels: {}, verdicts: [], allowedUsers: [], allowRoot: false }, 0);
  const jm = new JobManager(
    { levels: ['leaf', 'spine'], masterPortRange: { min: 29500, max: 29999 }, requeueInitialMs: 1000, requeueMaxMs: 10_000, cycleIntervalMs: 60_000, queues: { default: DEFAULT_QUEUE }, fairShareHalfLifeMs: 3_600_000, stopSlackMs: 1000 },
    { store, cluster, events: new MemoryEventBus(), clock: { nowMs: () => 1_000 }, log: createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false }), send: () => true },
  );
  jm.load();
  return jm;
}

const as = (name: string) => () => ({ owner: name, submittedBy: name, runAs: '' });

t.test('through the job manager on LMDB: a resubmit gets its job, across a restart, for a finished job too', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-reqid-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const spec = jobYaml({ name: 'train' });
  let store = LmdbStore.open(path.join(dir, "db"));
  let jm = manager(store);
  const a = await jm.submit(spec, as('alice'), 'req-1');
  const again = await jm.submit(spec, as('alice'), 'req-1');
  t.equal(again.id, a.id, 'the same submitter and key: the same job');
  const bob = await jm.submit(spec, as('bob'), 'req-1');
  t.not(bob.id, a.id, 'another submitter with the same key: a job of its own');
  const none1 = await jm.submit(spec, as('alice'));
  const none2 = await jm.submit(spec, as('alice'));
  t.not(none1.id, none2.id, 'without a key every submit is a new job');
  const done = await jm.submit(spec, as('alice'), 'req-done');
  await jm.cancel(done.id, 'finished before the restart');
  const concurrent = await Promise.all([jm.submit(spec, as('carol'), 'c'), jm.submit(spec, as('carol'), 'c'), jm.submit(spec, as('carol'), 'c')]);
  t.equal(new Set(concurrent.map((j) => j.id)).size, 1, 'three concurrent submits with one key: one job');
  t.equal(jm.get(a.id).requestId, 'req-1', 'the key is on the record');
  const count = jm.list().length;
  await jm.stop();
  await store.close();

  // A restart (or a new leader on the replicated records): the index is rebuilt from the store.
  store = LmdbStore.open(path.join(dir, "db"));
  jm = manager(store);
  jm.start();
  t.teardown(async () => {
    await jm.stop();
    await store.close();
  });
  t.equal((await jm.submit(spec, as('alice'), 'req-1')).id, a.id, 'after the restart the key still names its job');
  const fin = await jm.submit(spec, as('alice'), 'req-done');
  t.equal(fin.id, done.id, 'a finished job (loaded in the background) too');
  t.equal(fin.state, 'cancelled', 'returned as it is now');
  t.equal((await jm.submit(spec, as('carol'), 'c')).id, concurrent[0]!.id);
  t.equal(jm.list().length, count, 'no job was made by the resubmits');
});
