/**
 * The LeaseStore contract, run against the in-memory twin and a JetStream KV bucket (R3) on three
 * real clustered nats-servers: create takes an absent key only; update is a compare-and-set on the
 * revision; the key expires TTL after its last write and can then be created again at a higher
 * revision (the next term); a renewal of an expired key is a conflict.
 *
 * Then the failover of the servers themselves: the server that leads the bucket's stream is
 * killed (SIGKILL). Until the other two elect a new stream leader a renewal gets no answer (it
 * throws; the lease machine retries until its renew deadline), and then it succeeds on the same
 * key, provided the TTL outlasted the election. The test prints how long that took: on this
 * machine 4.3-6.1 s with nats-server 2.9, which is why a lease TTL under about 8 s loses the
 * lease (one spurious leader change, never two leaders) when that server dies.
 */
import t, { type Test } from 'tap';
import { connect } from 'nats';
import { KvLeaseStore, MemoryLeaseStore, type LeaseStore } from '../../../scheduler/ha/index.js';
import { startNatsCluster, type NatsCluster } from '../../harness/nats-cluster.js';

interface Subject {
  store: LeaseStore;
  /** Waits (or moves the clock) until the key has surely expired. */
  expire(): Promise<void>;
}

async function contract(t: Test, make: () => Promise<Subject>): Promise<void> {
  const s = await make();
  const a = await s.store.create('scheduler-a');
  t.ok(a.ok, 'create on an absent key');
  if (!a.ok) return;
  t.same(await s.store.create('scheduler-b'), { ok: false, reason: 'held' }, 'create on a live key: held');
  t.same(await s.store.peek(), { value: 'scheduler-a', revision: a.revision }, 'peek shows the holder');
  const r = await s.store.update('scheduler-a', a.revision);
  t.ok(r.ok && r.revision > a.revision, 'update with the last revision: a higher revision');
  t.same(await s.store.update('scheduler-b', a.revision), { ok: false, reason: 'conflict' }, 'update with a revision that moved: conflict');
  if (!r.ok) return;
  await s.expire();
  t.same(await s.store.peek(), undefined, 'the key expires TTL after its last write');
  t.same(await s.store.update('scheduler-a', r.revision), { ok: false, reason: 'conflict' }, 'a renewal of an expired key: conflict');
  const b = await s.store.create('scheduler-b');
  t.ok(b.ok && b.revision > r.revision, `after expiry, create again at a higher revision (the next term: ${b.ok ? b.revision : '-'} > ${r.revision})`);
  await s.store.close();
}

t.test('in-memory twin', async (t) => {
  let now = 0;
  await contract(t, async () => ({
    store: new MemoryLeaseStore(1000, { nowMs: () => now }),
    expire: async () => {
      now += 1000;
    },
  }));
});

t.test('JetStream KV, R3 on three clustered nats-servers', async (t) => {
  const cluster: NatsCluster = await startNatsCluster(t, 3);
  const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  t.teardown(() => nc.close());
  const ttlMs = 1500;
  await contract(t, async () => ({
    store: await KvLeaseStore.open(nc, { bucket: 'gantry_test_lease', key: 'leader', ttlMs, replicas: 3, timeoutMs: 5000 }),
    // The server removes expired messages on its own schedule: wait the TTL, then poll.
    expire: async () => {
      await new Promise((r) => setTimeout(r, ttlMs));
      for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
        const kv = await KvLeaseStore.open(nc, { bucket: 'gantry_test_lease', key: 'leader', ttlMs, replicas: 3, timeoutMs: 5000 });
        if (!(await kv.peek())) return;
      }
    },
  }));
});

t.test("JetStream KV: the bucket stream's leader killed, renewals resume on the same key", async (t) => {
  const cluster = await startNatsCluster(t, 3);
  const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  t.teardown(() => nc.close());
  const store = await KvLeaseStore.open(nc, { bucket: 'gantry_test_failover', key: 'leader', ttlMs: 15_000, replicas: 3, timeoutMs: 2000 });
  const a = await store.create('scheduler-a');
  if (!a.ok) return t.fail('create');
  const jsm = await nc.jetstreamManager();
  const leader = (await jsm.streams.info('KV_gantry_test_failover')).cluster?.leader;
  const server = cluster.servers.find((x) => x.name === leader);
  if (!server) return t.fail(`no server named ${leader}`);
  server.kill();
  const start = Date.now();
  let unanswered = 0;
  for (;;) {
    try {
      const r = await store.update('scheduler-a', a.revision);
      t.ok(r.ok, `a renewal succeeds once the other two servers elect a stream leader (${leader} killed)`);
      break;
    } catch {
      unanswered++;
      if (Date.now() - start > 14_000) return t.fail('no renewal answered within 14 s of killing the stream leader');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  t.comment(`renewal answered ${Date.now() - start} ms after killing the stream leader (${unanswered} request(s) without an answer first)`);
  t.same(await store.create('scheduler-b'), { ok: false, reason: 'held' }, 'and the key is still held');
});
