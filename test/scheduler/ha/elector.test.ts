/**
 * Electors over a real R3 KV bucket on three clustered nats-servers (TTL 1.5 s):
 * - of two electors exactly one leads, and keeps leading while it renews;
 * - the leader stopped without resigning (as a kill -9 leaves it): the other leads after the lease
 *   runs out, in a higher term;
 * - a leader cut off from the servers (its requests never answered, as a partition leaves it)
 *   stops leading at its renew deadline, BEFORE the other can take the lease: never two leaders.
 * The in-memory twin gives the same, with no servers, in the last case.
 */
import t from 'tap';
import { connect } from 'nats';
import { createLogger } from '../../../shared/log/index.js';
import { Elector, KvLeaseStore, leaseOptions, MemoryLeaseStore, type LeaseStore } from '../../../scheduler/ha/index.js';
import { startNatsCluster } from '../../harness/nats-cluster.js';
import { waitFor } from '../../harness/cluster.js';

const log = createLogger({ name: 'elector-test', level: 'silent', format: 'json', isTty: false });
const TTL_MS = 1500;
const options = leaseOptions(TTL_MS);

interface Watched {
  elector: Elector;
  leads: Array<{ term: number; atMs: number }>;
  downs: Array<{ term: number; cause: string; atMs: number }>;
}

function watched(store: LeaseStore, holder: string): Watched {
  const elector = new Elector({ store, options, holder, log });
  const w: Watched = { elector, leads: [], downs: [] };
  elector.onChange({
    lead: (term) => w.leads.push({ term, atMs: performance.now() }),
    stepDown: (term, cause) => w.downs.push({ term, cause, atMs: performance.now() }),
  });
  return w;
}

/** A store whose requests stop being answered once `cut` is set (a partition from the servers). */
function cuttable(inner: LeaseStore): LeaseStore & { cut: boolean } {
  const s = {
    cut: false,
    create: (v: string) => (s.cut ? new Promise<never>(() => {}) : inner.create(v)),
    update: (v: string, r: number) => (s.cut ? new Promise<never>(() => {}) : inner.update(v, r)),
    peek: () => inner.peek(),
    close: () => inner.close(),
  };
  return s;
}

t.test('real KV: one leader; a stopped leader is replaced; a cut-off leader steps down before the other leads', async (t) => {
  const cluster = await startNatsCluster(t, 3);
  const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  t.teardown(() => nc.close());
  const open = (): Promise<KvLeaseStore> => KvLeaseStore.open(nc, { bucket: 'gantry_test_elect', key: 'leader', ttlMs: TTL_MS, replicas: 3, timeoutMs: 1000 });
  const a = watched(cuttable(await open()), 'a');
  const b = watched(cuttable(await open()), 'b');
  a.elector.start();
  b.elector.start();
  t.teardown(() => {
    a.elector.stop(false);
    b.elector.stop(false);
  });
  await waitFor('a leader', () => a.elector.isLeader() || b.elector.isLeader(), 10_000);
  // Three TTLs: the leader renews, the other never leads.
  await new Promise((r) => setTimeout(r, 3 * TTL_MS));
  t.equal(Number(a.elector.isLeader()) + Number(b.elector.isLeader()), 1, 'exactly one leads');
  t.equal(a.leads.length + b.leads.length, 1, 'and no leadership changed over three TTLs');
  t.equal(a.downs.length + b.downs.length, 0);
  const [first, second] = a.elector.isLeader() ? [a, b] : [b, a];
  const term1 = first.leads[0]!.term;

  // Stopped without resigning (kill -9): the other leads once the lease runs out.
  const stoppedAt = performance.now();
  first.elector.stop(false);
  await waitFor('the other leads', () => second.elector.isLeader(), 15_000);
  const term2 = second.leads[0]!.term;
  t.ok(term2 > term1, `a higher term (${term1} -> ${term2})`);
  t.comment(`the other led ${(second.leads[0]!.atMs - stoppedAt).toFixed(0)} ms after the leader stopped (TTL ${TTL_MS} ms)`);

  // Cut off from the servers: it must stop leading before a third elector can take the lease.
  const c = watched(await open(), 'c');
  c.elector.start();
  t.teardown(() => c.elector.stop(false));
  const secondStore = (second.elector as unknown as { deps: { store: { cut: boolean } } }).deps.store;
  secondStore.cut = true;
  await waitFor('c leads', () => c.elector.isLeader(), 15_000);
  const down = second.downs[0];
  t.ok(down, 'the cut-off leader stepped down');
  t.equal(down?.cause, 'renew-deadline', 'at its renew deadline');
  t.ok(down && down.atMs < c.leads[0]!.atMs, `before the next leader began (${((c.leads[0]!.atMs - (down?.atMs ?? 0))).toFixed(0)} ms before)`);
  t.notOk(second.elector.isLeader(), 'and does not lead now');
  t.ok(c.leads[0]!.term > term2, 'the next leader has a higher term again');
});

t.test('in-memory twin: a cut-off leader steps down at its deadline', async (t) => {
  const store = new MemoryLeaseStore(TTL_MS, { nowMs: () => performance.now() });
  const a = watched(cuttable(store), 'a');
  a.elector.start();
  t.teardown(() => a.elector.stop(false));
  await waitFor('a leads', () => a.elector.isLeader(), 5000);
  (a.elector as unknown as { deps: { store: { cut: boolean } } }).deps.store.cut = true;
  await waitFor('a steps down', () => a.downs.length > 0, 5000);
  t.equal(a.downs[0]!.cause, 'renew-deadline');
  const b = watched(store, 'b');
  b.elector.start();
  t.teardown(() => b.elector.stop(false));
  await waitFor('b leads', () => b.elector.isLeader(), 5000);
  t.ok(b.leads[0]!.atMs > a.downs[0]!.atMs, 'the next leader only after');
});
