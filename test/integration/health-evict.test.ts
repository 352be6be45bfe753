/**
 * Health to action (issue 20): a fail verdict (action evict) on a node with a running gang stops
 * the gang within health.evictWithinMs and requeues it without a retry (cause node-unhealthy), the
 * node is cordoned, and the gang runs again on the healthy nodes. A real scheduler and three real
 * agents; each agent's stand-in nvidia-smi re-reads its capture file at every call, and one file is
 * switched from a real healthy GB200 capture to the real one with injected uncorrectable ECC errors.
 */
import { copyFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import type { WatchEventsResponse__Output } from '../../shared/proto/index.js';
import { eventFromPb } from '../../shared/wire/index.js';
import { schedulerClient } from '../../shared/cli/client.js';
import type { GantryEvent, JobEvent } from '../../shared/events/index.js';
import { FIXTURES, httpGet, jobView, listNodes, specSubmitter, startAgent, startScheduler, tempDir, waitFor, type Agent } from '../harness/cluster.js';

const HEALTHY = path.join(FIXTURES, 'k8s-test-infra', 'qx-gb200-healthy.xml');
const ECC = path.join(FIXTURES, 'k8s-test-infra', 'qx-gb200-ecc-injected.xml');

function useCapture(target: string, source: string): void {
  copyFileSync(source, `${target}.new`);
  renameSync(`${target}.new`, target);
}

t.test('a fail verdict evicts the running gang (no retry used), cordons the node, and the gang runs elsewhere', async (t) => {
  // The job's grace is 120 s; the eviction's deadline of 2 s caps it.
  const sched = await startScheduler(t, { extraArgs: ['--set', 'health.evictWithinMs=2000'] });
  const dir = tempDir(t, 'gantry-health-evict-');
  const captures = new Map<string, string>();
  const agents: Agent[] = [];
  for (const name of ['ev-a', 'ev-b', 'ev-c']) {
    const capture = path.join(dir, `${name}.xml`);
    useCapture(capture, HEALTHY);
    captures.set(name, capture);
    agents.push(
      await startAgent(t, name, sched.address, {
        capture,
        extraArgs: ['--set', 'collectIntervalMs=300', '--set', 'collectors.nvidia.fullProbeEveryCycles=1', '--set', 'collectors.nvidia.timeoutMs=10000'],
        env: { GANTRY_SIM_NVIDIA_TOPO: '', NODE_OPTIONS: '' },
      }),
    );
  }
  await waitFor('three healthy nodes', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready' && n.health === 'ok').length === 3, 30_000);
  const gpus = (await listNodes(sched.address))[0]!.inventory.gpus.length;

  const client = schedulerClient(sched.address);
  const events: GantryEvent[] = [];
  const call = client.WatchEvents({ kind: 'job' }) as grpc.ClientReadableStream<WatchEventsResponse__Output>;
  call.on('data', (m: WatchEventsResponse__Output) => events.push(eventFromPb(m)));
  call.on('error', () => undefined);
  t.teardown(() => {
    call.cancel();
    client.close();
  });

  // A gang of two whole-node ranks that ignore SIGTERM: they end only at the grace's SIGKILL.
  const submit = specSubmitter(t, dir, { GANTRY_SCHEDULER_ADDRESS: sched.address });
  const id = await submit('gang', `kind: Training\nname: gang\nranks: 2\ngpusPerRank: ${gpus}\nmaxRetries: 0\npreemptGraceSeconds: 120\ncommand: [sh, -c, 'trap "" TERM; sleep 600']\n`);
  const first = await waitFor('the gang running', async () => {
    const j = await jobView(sched.address, id);
    return j.state === 'running' ? j : undefined;
  }, 30_000);
  const victim = first.ranks[1]!.node;
  t.equal(first.epoch, 1);

  // The victim's GPU goes bad.
  useCapture(captures.get(victim)!, ECC);
  const cordoned = await waitFor('the node cordoned by health', async () => (await listNodes(sched.address)).find((n) => n.name === victim && n.health === 'fail' && n.schedulability === 'cordoned'), 30_000);
  t.match(cordoned.schedulabilityReason, /^health: .*gpu \d/, `the reason names the checks: ${cordoned.schedulabilityReason}`);

  const requeued = (await waitFor('the requeued event', () => events.find((e) => e.kind === 'job' && e.job === id && e.type === 'requeued'), 30_000)) as JobEvent;
  t.match(requeued.cause, { kind: 'node-unhealthy', node: victim });
  t.match(requeued.message, new RegExp(`^node ${victim} failed its health checks \\(.+\\); requeued \\(no retry used\\)$`));
  t.equal(requeued.attempt, 0, 'no retry used');

  // Placed again only once the stopped rank on the healthy node released its GPUs: at the capped
  // grace's SIGKILL (2 s), long before the job's own 120 s (this wait gives up at 60 s).
  const again = await waitFor('the gang running again, elsewhere', async () => {
    const j = await jobView(sched.address, id);
    return j.state === 'running' && j.epoch === 2 ? j : undefined;
  }, 60_000);
  t.notOk(
    again.ranks.some((r) => r.node === victim),
    `not on ${victim}`,
  );
  t.equal(again.attempt, 0, 'still no retry used (maxRetries 0 and it runs)');
  const evictions = (await httpGet(`http://127.0.0.1:${sched.metricsPort}/metrics`)).split('\n').find((l) => l.startsWith('gantry_scheduler_health_evictions_total '));
  t.equal(evictions, 'gantry_scheduler_health_evictions_total 1', 'one gang evicted');
  for (const a of agents) t.equal(a.child.proc.exitCode, null, `agent ${a.name} is up`);
});
