/**
 * Two schedulers with ha.enabled (real child processes) on three clustered nats-servers, lease TTL
 * 3 s: one leads, the other is a standby that refuses calls naming the leader; the leader killed
 * with SIGKILL is replaced, and the jobs it had accepted are all at the new leader; a leader
 * paused with SIGSTOP past its lease and resumed steps down to a standby, its old state untouched.
 * The leader snapshots and compacts the stream every 10 entries, so the schedulers restarted and
 * taking over start from a snapshot and the stream's tail.
 * One agent registers with the first leader (ha-agents.test.ts has agents that follow a failover).
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { schedulerCall, schedulerClient } from '../../shared/cli/client.js';
import { jobYaml } from '../builders/job.js';
import { startNatsCluster } from '../harness/nats-cluster.js';
import { freePort } from '../../shared/procs/index.js';
import { listNodes, startAgent, startScheduler, tempDir, waitFor, type Scheduler } from '../harness/cluster.js';

const TTL_MS = 3000;

const spec = (name: string): string => jobYaml({ name });

async function submit(address: string, name: string): Promise<{ ok: true; id: string } | { ok: false; code: number; details: string }> {
  const c = schedulerClient(address);
  try {
    const job = await schedulerCall(c, 'SubmitJob', { spec: spec(name), owner: '' }, 3000);
    return { ok: true, id: String(job.id) };
  } catch (e) {
    const err = e as grpc.ServiceError;
    return { ok: false, code: err.code, details: err.details ?? err.message };
  } finally {
    c.close();
  }
}

async function jobIds(address: string): Promise<string[]> {
  const c = schedulerClient(address);
  try {
    return (await schedulerCall(c, 'ListJobs', {}, 5000)).jobs.map((j) => String(j.id)).sort();
  } finally {
    c.close();
  }
}

t.test('leader, standby, a killed leader, a paused leader', async (t) => {
  const cluster = await startNatsCluster(t, 3);
  const natsUrl = cluster.urls.join(',');
  const ports = [await freePort(), await freePort()];
  const dirs = [tempDir(t, 'gantry-ha-a-'), tempDir(t, 'gantry-ha-b-')];
  const start = (i: number): Promise<Scheduler> =>
    startScheduler(t, {
      natsUrl,
      grpcPort: ports[i],
      dataDir: dirs[i],
      readyLog: 'scheduler standby',
      extraArgs: ['--set', 'ha.enabled=true', '--set', `ha.leaseTtlMs=${TTL_MS}`, '--set', 'ha.replicas=3', '--set', 'ha.followIntervalMs=200', '--set', 'ha.snapshotEveryEntries=10', '--set', 'telemetry.enabled=false'],
    });
  const scheds = [await start(0), await start(1)];
  const leaderIndex = async (): Promise<number | undefined> => {
    for (let i = 0; i < scheds.length; i++) if (await jobIds(scheds[i]!.address).then(() => true, () => false)) return i;
    return undefined;
  };
  const first = await waitFor('a leader', leaderIndex, 20_000);
  const other = 1 - first;
  // One agent, registered with the first leader: its node record is replicated, so the next
  // leader admits jobs that fit it (this agent is given one address: it does not follow).
  await startAgent(t, 'n1', scheds[first]!.address);
  await waitFor('n1 registered', async () => (await listNodes(scheds[first]!.address)).length === 1, 20_000);
  const accepted: string[] = [];
  for (let k = 0; k < 5; k++) {
    const r = await submit(scheds[first]!.address, `job-${k}`);
    if (r.ok) accepted.push(r.id);
  }
  t.equal(accepted.length, 5, 'the leader accepts submits');
  const refused = await submit(scheds[other]!.address, 'refused');
  t.equal(refused.ok ? -1 : refused.code, grpc.status.UNAVAILABLE, 'the standby refuses UNAVAILABLE');
  t.match(refused.ok ? '' : refused.details, `the leader is 127.0.0.1:${ports[first]}`, 'naming the leader');
  const before = await jobIds(scheds[first]!.address);
  const snap = await scheds[first]!.child.waitForLog('state snapshot saved; the stream is compacted up to it', 15_000);
  t.ok(Number(snap.seq) >= 10, `the leader snapshotted the state and compacted the stream (at entry ${String(snap.seq)})`);

  // kill -9 the leader: the standby takes over after the lease runs out.
  const killedAt = Date.now();
  scheds[first]!.child.proc.kill('SIGKILL');
  await waitFor('the standby leads', async () => (await submit(scheds[other]!.address, 'after-kill')).ok, 30_000, 100);
  const failoverMs = Date.now() - killedAt;
  t.comment(`kill -9 of the leader -> first SubmitJob accepted by the new leader: ${failoverMs} ms (lease TTL ${TTL_MS} ms)`);
  const after = await jobIds(scheds[other]!.address);
  t.ok(before.every((id) => after.includes(id)), `every job the old leader had accepted is at the new leader (${before.length})`);

  // The killed one comes back as a standby.
  scheds[first] = await start(first);
  const back = await submit(scheds[first]!.address, 'refused-again');
  t.equal(back.ok ? -1 : back.code, grpc.status.UNAVAILABLE, 'the restarted scheduler is a standby');

  // SIGSTOP the leader past its lease; the standby takes over; SIGCONT: the old leader steps down.
  const paused = scheds[other]!;
  const pausedJobs = await jobIds(paused.address);
  process.kill(paused.child.proc.pid!, 'SIGSTOP');
  await waitFor('the standby leads while the leader is paused', async () => (await submit(scheds[first]!.address, 'during-pause')).ok, 30_000, 100);
  process.kill(paused.child.proc.pid!, 'SIGCONT');
  await paused.child.waitForLog(/^stepping down/, 15_000);
  await waitFor('the paused leader is a standby again', async () => {
    const r = await submit(paused.address, 'from-paused');
    return !r.ok && r.code === grpc.status.UNAVAILABLE;
  }, 20_000);
  t.pass('the resumed leader stepped down and refuses calls as a standby');
  const now = await jobIds(scheds[first]!.address);
  t.ok(pausedJobs.every((id) => now.includes(id)), 'nothing it had is lost');
  t.notOk(now.some((id) => id.startsWith('from-paused')), 'and nothing it was asked after waking was accepted');
});
