/**
 * Issue 22 point 3: the simulator is faithful to the live scheduler. A 20-job trace on the demo
 * cluster (cli/demo.ts demoNodes(4): three HGX H100 nodes under leaf-0, one GB200 tray in its
 * NVLink domain) runs through a real scheduler with real agents (each rank a real `sleep`) and
 * through `gantry simulate` (policy gantry: the same spec, topology.preferred = the finest level,
 * and the same time limits), and the start order and every rank's node and GPUs are equal.
 *
 * The trace leaves nothing to timing: 16 jobs fill all 28 GPUs at once; job-1 (8 GPUs) ends first
 * and long before the others; the last 4 jobs (8 GPUs in all) wait for it and then start in order
 * on its GPUs. Everything is submitted well before job-1 ends.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { demoNodes } from '../../cli/demo.js';
import { nodeInputs } from '../../scheduler/jobs/cluster-view.js';
import { schedulerCall, schedulerClient } from '../../shared/cli/client.js';
import type { SimReport } from '../../scheduler/simulate/index.js';
import { gantryCli, jobView, listNodes, startAgent, startScheduler, tempDir, waitFor } from '../harness/cluster.js';

const LEVELS = ['nvlink', 'leaf', 'spine'];
// [gpus, seconds]: 28 GPUs of the first 16 jobs, then 4 jobs of 4 + 2 + 1 + 1 GPUs.
const JOBS: Array<[number, number]> = [
  [8, 6], [4, 16], [2, 16], [1, 16], [1, 16], [2, 16], [1, 16], [1, 16], [1, 16], [1, 16], [1, 16], [1, 16], [1, 16], [1, 16], [1, 16], [1, 16],
  [4, 4], [2, 4], [1, 4], [1, 4],
];

t.test('the same trace: the same start order and placements, live and simulated', { timeout: 120_000 }, async (t) => {
  t.equal(JOBS.slice(0, 16).reduce((a, [g]) => a + g, 0), 28, 'the first 16 fill the cluster');
  const dir = tempDir(t, 'gantry-faithful-');
  const sched = await startScheduler(t);
  const nodes = demoNodes(4);
  await Promise.all(
    nodes.map((n) =>
      startAgent(t, n.name, sched.address, {
        capture: n.capture,
        topo: n.topo,
        topology: n.topology,
        ...(n.clusterUuid ? { env: { GANTRY_SIM_CLUSTER_UUID: n.clusterUuid, GANTRY_SIM_CLIQUE_ID: String(n.cliqueId ?? 0) } } : {}),
      }),
    ),
  );
  const records = await waitFor('4 nodes ready', async () => {
    const list = await listNodes(sched.address);
    return list.length === 4 && list.every((n) => n.connectivity === 'ready') && list;
  });
  // The cluster as the scheduler's cycle builds it (cluster-view nodeInputs), as a gantry plan cluster file.
  const { inputs } = nodeInputs(LEVELS, records);
  const clusterFile = path.join(dir, 'cluster.json');
  writeFileSync(
    clusterFile,
    JSON.stringify({
      levels: LEVELS,
      nodes: inputs.map((n) => ({ name: n.name, gpus: n.gpus, domains: n.domains ?? {}, gpuGroups: (n.linkGroups ?? []).map((g) => ({ kind: g.kind, gpus: g.gpus })) })),
    }),
  );
  const traceFile = path.join(dir, 'trace.csv');
  writeFileSync(traceFile, `submit_s,gpus,duration_s\n${JOBS.map(([g, d], i) => `${(i * 0.05).toFixed(2)},${g},${d}`).join('\n')}\n`);

  // Live: the specs gantry simulate makes for policy gantry at locality 0 (time limit = run time + 1 s).
  const client = schedulerClient(sched.address);
  t.teardown(() => client.close());
  for (const [gpus, seconds] of JOBS) {
    const spec = { kind: 'Training', name: 'job', ranks: 1, gpusPerRank: gpus, topology: { preferred: 'nvlink' }, timeLimit: seconds + 1, command: ['sleep', String(seconds)] };
    await schedulerCall(client, 'SubmitJob', { spec: JSON.stringify(spec), owner: '' });
  }
  const ids = JOBS.map((_, i) => `job-${i + 1}`);
  const views = await waitFor('every job done', async () => {
    const all = await Promise.all(ids.map((id) => jobView(sched.address, id)));
    return all.every((v) => v.state === 'succeeded') && all;
  }, 60_000, 250);
  const job1End = Date.parse(views[0]!.finished!);
  for (const v of views.slice(16)) t.ok(Date.parse(v.started!) >= job1End, `${v.id} started after job-1 ended`);
  for (const v of views.slice(1, 16)) t.ok(Date.parse(v.started!) < job1End, `${v.id} started before job-1 ended`);

  const sim = await gantryCli(['simulate', '--cluster', clusterFile, '--trace', traceFile, '--policy', 'gantry', '--load', 'recorded', '--locality', '0', '--starts', '--json']);
  t.equal(sim.code, 0, sim.stderr);
  const run = (JSON.parse(sim.stdout) as SimReport).runs[0]!;
  t.same(run.starts!.map((s) => s.job), ids, 'start order: the first 16 at once in order, then the last 4 in order');
  t.same(
    run.starts!.filter((s) => s.tS > 0.8).map((s) => s.job),
    ids.slice(16),
    'the last 4 start when job-1 ends',
  );
  const live = Object.fromEntries(views.map((v) => [v.id, v.ranks.map((r) => ({ node: r.node, gpus: r.gpus }))]));
  const simulated = Object.fromEntries(run.starts!.map((s) => [s.job, s.ranks]));
  t.same(simulated, live, 'every rank on the same node and GPUs');
});
