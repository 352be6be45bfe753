/**
 * Agents follow the HA leader (docs/high-availability.md): two schedulers with ha.enabled (real
 * child processes) on three clustered nats-servers, lease TTL 3 s, and two real agents given BOTH
 * scheduler addresses. A two-rank gang (6 of a node's 8 GPUs a rank, so one rank a node; each a `sleep` that wrote its pid) runs;
 * the leader is killed with SIGKILL. The agents re-register with the new leader without stopping
 * their ranks: the same pids are alive, the job stays running on the same epoch at the new leader
 * (adopted, not requeued), each agent remembers the new leader's higher term in its state dir, and
 * a job submitted to the new leader starts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { schedulerCall, schedulerClient } from '../../shared/cli/client.js';
import { freePort } from '../../shared/procs/index.js';
import { startNatsCluster } from '../harness/nats-cluster.js';
import { INSECURE_CLI_ENV, gantryCli as cli, jobView, listNodes, pidAlive, startAgent, startScheduler, tempDir, waitFor, type Scheduler } from '../harness/cluster.js';

const TTL_MS = 3000;

const readTerm = (stateDir: string): number => {
  try {
    return (JSON.parse(readFileSync(path.join(stateDir, 'scheduler-term.json'), 'utf8')) as { term: number }).term;
  } catch {
    return 0;
  }
};

async function answers(address: string): Promise<boolean> {
  const c = schedulerClient(address);
  try {
    await schedulerCall(c, 'ListJobs', {}, 3000);
    return true;
  } catch {
    return false;
  } finally {
    c.close();
  }
}

t.test('agents given both addresses follow the new leader; their ranks keep running and are adopted', async (t) => {
  const cluster = await startNatsCluster(t, 3);
  const natsUrl = cluster.urls.join(',');
  const ports = [await freePort(), await freePort()];
  const start = (i: number): Promise<Scheduler> =>
    startScheduler(t, {
      natsUrl,
      grpcPort: ports[i],
      dataDir: tempDir(t, `gantry-ha-agents-${i}-`),
      readyLog: 'scheduler standby',
      extraArgs: ['--set', 'ha.enabled=true', '--set', `ha.leaseTtlMs=${TTL_MS}`, '--set', 'ha.replicas=3', '--set', 'ha.followIntervalMs=200', '--set', 'telemetry.enabled=false', '--set', 'jobs.cycleIntervalMs=200'],
    });
  const scheds = [await start(0), await start(1)];
  const both = scheds.map((s) => s.address).join(',');
  const first = await waitFor('a leader', async () => {
    for (let i = 0; i < 2; i++) if (await answers(scheds[i]!.address)) return i;
    return undefined;
  }, 20_000);
  const other = 1 - first;

  // Both agents get both addresses, the standby's first: they are sent on to the leader.
  const list = [scheds[other]!.address, scheds[first]!.address].join(',');
  const reconnect = ['--set', 'reconnect.initialDelayMs=100', '--set', 'reconnect.maxDelayMs=1000'];
  const agents = [
    await startAgent(t, 'ha-n1', list, { topology: { leaf: 'leaf-0' }, extraArgs: reconnect }),
    await startAgent(t, 'ha-n2', list, { topology: { leaf: 'leaf-0' }, extraArgs: reconnect }),
  ];
  await waitFor('both nodes ready at the leader', async () => (await listNodes(scheds[first]!.address)).filter((n) => n.connectivity === 'ready').length === 2, 20_000);
  for (const a of agents) t.match(a.child.output(), /dialling the leader the scheduler named/, `${a.name} was sent on by the standby to the leader`);
  const firstTerms = await waitFor("each agent stored the leader's term", () => {
    const l = agents.map((a) => readTerm(a.stateDir));
    return l.every((x) => x > 0) ? l : undefined;
  });
  t.pass(`each agent stored the leader's term (${firstTerms.join(', ')})`);

  const dir = tempDir(t, 'gantry-ha-agents-job-');
  const pids = path.join(dir, 'pids');
  const gang = path.join(dir, 'gang.yaml');
  writeFileSync(gang, `kind: Training\nname: gang\nranks: 2\ngpusPerRank: 6\npreemptGraceSeconds: 1\ncommand: ["/bin/sh", "-c", "echo $$ >> ${pids}; exec sleep 600"]\n`);
  const env = { ...INSECURE_CLI_ENV, GANTRY_SCHEDULER_ADDRESS: both };
  const sub = await cli(['submit', gang], env);
  t.equal(sub.code, 0, sub.stderr);
  const id = sub.stdout.trim().split(' ')[1]!;
  const before = await waitFor('the gang runs', async () => {
    const j = await jobView(scheds[first]!.address, id);
    return j.state === 'running' ? j : undefined;
  }, 20_000);
  t.same([...new Set(before.ranks.map((r) => r.node))].sort(), ['ha-n1', 'ha-n2'], 'one rank on each node');
  const rankPids = await waitFor('both ranks wrote their pids', () => {
    try {
      const l = readFileSync(pids, 'utf8').trim().split('\n').filter(Boolean).map(Number);
      return l.length === 2 ? l : undefined;
    } catch {
      return undefined;
    }
  });

  const registrations = agents.map((a) => a.child.output().split('\n').filter((l) => l.includes('"msg":"registered with the scheduler"')).length);
  const killedAt = Date.now();
  scheds[first]!.child.proc.kill('SIGKILL');
  await waitFor('the standby leads', () => answers(scheds[other]!.address), 30_000, 100);
  await waitFor('both agents registered with the new leader', () =>
    agents.every((a, i) => a.child.output().split('\n').filter((l) => l.includes('"msg":"registered with the scheduler"') && l.includes(scheds[other]!.address)).length > 0 && a.child.output().split('\n').filter((l) => l.includes('"msg":"registered with the scheduler"')).length > registrations[i]!),
    30_000);
  t.comment(`kill -9 of the leader -> both agents registered with the new leader: ${Date.now() - killedAt} ms (lease TTL ${TTL_MS} ms)`);
  await waitFor('both nodes ready at the new leader', async () => (await listNodes(scheds[other]!.address)).filter((n) => n.connectivity === 'ready' && n.lastSeenMs > Date.now() - 2000).length === 2, 20_000);
  // A few report intervals for the new leader to act on anything it might get wrong.
  await new Promise((r) => setTimeout(r, 1500));
  const after = await jobView(scheds[other]!.address, id);
  t.equal(after.state, 'running', 'the gang is running at the new leader');
  t.equal(after.epoch, before.epoch, 'same epoch: adopted, not requeued');
  t.ok(rankPids.every(pidAlive), `the same rank processes (${rankPids.join(', ')})`);
  t.equal(readFileSync(pids, 'utf8').trim().split('\n').length, 2, 'no rank started again');
  const terms = agents.map((a) => readTerm(a.stateDir));
  t.ok(terms.every((x, i) => x > firstTerms[i]!), `each agent stored the new leader's higher term (${firstTerms.join(', ')} -> ${terms.join(', ')})`);
  t.ok(agents.every((a) => !a.child.output().includes('refused a')), 'no message refused as stale');

  // A new job at the new leader starts on the GPUs the gang left free.
  const next = path.join(dir, 'next.yaml');
  writeFileSync(next, `kind: Training\nname: next\nranks: 1\ngpusPerRank: 2\npreemptGraceSeconds: 1\ncommand: ["sleep", "600"]\n`);
  const sub2 = await cli(['submit', next], env);
  t.equal(sub2.code, 0, sub2.stderr);
  const id2 = sub2.stdout.trim().split(' ')[1]!;
  await waitFor('the new job runs', async () => (await jobView(scheds[other]!.address, id2)).state === 'running', 20_000);
  t.pass('a job submitted to the new leader starts');
  for (const j of [id, id2]) await cli(["cancel", j], env);
});
