/**
 * The CLI against two HA schedulers (real child processes, ha.enabled, lease TTL 3 s) on three
 * clustered nats-servers (issue 21, points 3 and 4):
 * - given both addresses with the standby's first, `gantry submit` is refused by the standby,
 *   follows it to the leader it names and submits there;
 * - a submit with a fixed request id, the leader killed with SIGKILL, the same submit again (the
 *   dead leader's address first: refused connections, then the standby naming the dead leader,
 *   then asked again until the standby leads) gets the same job id, and exactly one job of that
 *   name exists at the new leader.
 * One agent registers with the first leader, so the jobs fit (its node record is replicated).
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { schedulerCall, schedulerClient } from '../../shared/cli/client.js';
import { jobYaml } from '../builders/job.js';
import { startNatsCluster } from '../harness/nats-cluster.js';
import { freePort } from '../../shared/procs/index.js';
import { gantryCli, listNodes, startAgent, startScheduler, tempDir, waitFor, type Scheduler } from '../harness/cluster.js';

const TTL_MS = 3000;

async function jobs(address: string): Promise<Array<{ id: string; name: string }>> {
  const c = schedulerClient(address);
  try {
    return (await schedulerCall(c, 'ListJobs', {}, 5000)).jobs.map((j) => ({ id: String(j.id), name: String(j.name) }));
  } finally {
    c.close();
  }
}

t.test('the CLI follows the leader, and a submit retried across a failover makes one job', async (t) => {
  const cluster = await startNatsCluster(t, 3);
  const ports = [await freePort(), await freePort()];
  const start = (i: number): Promise<Scheduler> =>
    startScheduler(t, {
      natsUrl: cluster.urls.join(','),
      grpcPort: ports[i],
      dataDir: tempDir(t, `gantry-ha-client-${i}-`),
      readyLog: 'scheduler standby',
      extraArgs: ['--set', 'ha.enabled=true', '--set', `ha.leaseTtlMs=${TTL_MS}`, '--set', 'ha.replicas=3', '--set', 'ha.followIntervalMs=200', '--set', 'telemetry.enabled=false'],
    });
  const scheds = await Promise.all([start(0), start(1)]);
  const leaderIndex = async (): Promise<number | undefined> => {
    for (let i = 0; i < scheds.length; i++) if (await jobs(scheds[i]!.address).then(() => true, () => false)) return i;
    return undefined;
  };
  const first = await waitFor('a leader', leaderIndex, 20_000);
  const leader = scheds[first]!.address;
  const standby = scheds[1 - first]!.address;
  await startAgent(t, 'n1', leader);
  await waitFor('n1 registered', async () => (await listNodes(leader)).length === 1, 20_000);

  const dir = tempDir(t, 'gantry-ha-client-specs-');
  const file = (name: string): string => {
    const f = path.join(dir, `${name}.yaml`);
    writeFileSync(f, jobYaml({ name }));
    return f;
  };

  // The standby's address first: refused, followed to the leader.
  const followed = await gantryCli(['submit', file('followed'), '--verbose'], { GANTRY_SCHEDULER_ADDRESS: `${standby},${leader}` });
  t.equal(followed.code, 0, `submitted through the standby's address: ${followed.stderr}`);
  t.match(followed.stdout, /^submitted followed-\d+$/m);
  t.match(followed.stderr, `${standby}: this scheduler is a standby, not the leader; the leader is ${leader}; following it to the leader ${leader}`, 'the standby named the leader and the CLI followed');
  t.match(followed.stderr, `scheduler ${leader} answered`);

  // A fixed request id: submitted once, then the leader dies, then the same submit again.
  const once = file('once');
  const submitted = await gantryCli(['submit', once, '--request-id', 'fixed-request-1'], { GANTRY_SCHEDULER_ADDRESS: `${standby},${leader}` });
  t.equal(submitted.code, 0, submitted.stderr);
  const id = submitted.stdout.trim().split(' ').at(-1)!;
  scheds[first]!.child.proc.kill('SIGKILL');
  const killedAt = Date.now();
  const retried = await gantryCli(['submit', once, '--request-id', 'fixed-request-1', '--verbose'], { GANTRY_SCHEDULER_ADDRESS: `${leader},${standby}` });
  t.equal(retried.code, 0, `the retry across the failover succeeded: ${retried.stderr}`);
  t.comment(`kill -9 of the leader -> the retried submit answered by the new leader: ${Date.now() - killedAt} ms (lease TTL ${TTL_MS} ms)`);
  t.match(retried.stderr, /no leader answered \(a failover\?\); asking again/, 'it asked again while the leader changed');
  t.equal(retried.stdout.trim(), `submitted ${id}`, 'the same request id after the failover: the same job');
  const named = (await jobs(standby)).filter((j) => j.name === 'once');
  t.same(named.map((j) => j.id), [id], 'exactly one job named once exists at the new leader');

  // The same id from a fresh invocation without --request-id is a new job (a random id each time).
  const fresh = await gantryCli(['submit', once], { GANTRY_SCHEDULER_ADDRESS: `${leader},${standby}` });
  t.equal(fresh.code, 0, fresh.stderr);
  t.not(fresh.stdout.trim(), `submitted ${id}`, 'another invocation without --request-id: another job');
});
