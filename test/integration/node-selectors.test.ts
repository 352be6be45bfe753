/**
 * Node selection end to end on real parts: the scheduler and three agents as child processes, each
 * agent started with its own `labels` (`--set labels.pool=...`); jobs with a nodeSelector and minimum
 * driver/CUDA versions start only on matching nodes, wait with reasons naming the label, and a job no
 * registered node could ever take is refused at submit with the reason.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { schedulerClient, unaryCall } from '../../shared/cli/client.js';
import type { PbJobOut } from '../../shared/proto/index.js';
import { jobViewFromPb, type JobView } from '../../shared/wire/index.js';
import { gantryCli as cli, listNodes, startAgent, startScheduler, tempDir, waitFor } from '../harness/cluster.js';



t.test('node selectors on a three-node cluster with labelled agents', async (t) => {
  const sched = await startScheduler(t, { extraArgs: ['--set', 'jobs.cycleIntervalMs=200', '--set', 'jobs.requeueInitialMs=200'] });
  const env = { GANTRY_SCHEDULER_ADDRESS: sched.address };
  const labels: Record<string, Record<string, string>> = {
    'gpu-01': { pool: 'training', zone: 'a' },
    'gpu-02': { pool: 'training', zone: 'b' },
    // An agent cannot pass for another node through the built-in label.
    'gpu-03': { pool: 'inference', zone: 'a', 'gantry.io/node': 'gpu-01' },
  };
  for (const [name, l] of Object.entries(labels)) {
    await startAgent(t, name, sched.address, {
      topology: { leaf: 'leaf-0', spine: 'spine-0' },
      // `--set labels.pool=training` sets one label; a key with dots needs the whole map as YAML.
      extraArgs: name === 'gpu-03' ? ['--set', `labels=${JSON.stringify(l)}`] : Object.entries(l).flatMap(([k, v]) => ['--set', `labels.${k}=${v}`]),
    });
  }
  const nodes = await waitFor('three ready nodes', async () => {
    const all = await listNodes(sched.address);
    return all.filter((n) => n.connectivity === 'ready').length === 3 ? all : undefined;
  }, 30_000);
  t.same(nodes.find((n) => n.name === 'gpu-02')?.labels, { pool: 'training', zone: 'b' }, 'the agent\'s labels are on its node record');
  t.equal(nodes.find((n) => n.name === 'gpu-03')?.labels['gantry.io/node'], 'gpu-01', 'stored as the agent sent it (placement ignores it)');
  const listed = JSON.parse((await cli(['nodes', '--json'], env)).stdout) as Array<{ name: string; labels: Record<string, string> }>;
  t.same(listed.find((n) => n.name === 'gpu-01')?.labels, { pool: 'training', zone: 'a' }, 'gantry nodes --json shows the labels');
  // The simulated GPUs report driver 580.105.08 and CUDA 13.0.
  t.equal(nodes[0]?.inventory.firmware.driverVersion, '580.105.08');

  const dir = tempDir(t, 'gantry-selectors-');
  const specFile = (name: string, body: string): string => {
    const f = path.join(dir, `${name}.yaml`);
    writeFileSync(f, `kind: Training\nname: ${name}\n${body}command: ["bash", "-c", "exec sleep 600"]\npreemptGraceSeconds: 1\n`);
    return f;
  };
  const get = async (id: string): Promise<JobView> => {
    const c = schedulerClient(sched.address);
    try {
      return jobViewFromPb(await unaryCall<object, PbJobOut>(c, c.GetJob as never, { id }));
    } finally {
      c.close();
    }
  };
  const submit = async (name: string, body: string): Promise<string> => {
    const r = await cli(['submit', specFile(name, body)], env);
    t.equal(r.code, 0, `submit ${name}: ${r.stderr}`);
    return r.stdout.trim().split(' ').at(-1)!;
  };
  const inState = (id: string, state: string, ms = 30_000): Promise<JobView> =>
    waitFor(`${id} ${state}`, async () => {
      const j = await get(id);
      return j.state === state ? j : undefined;
    }, ms);

  // A gang for the training pool, with versions the nodes meet (580.105 > 580.95: numeric, not text).
  const train = await submit('train', 'ranks: 2\ngpusPerRank: 8\nnodeSelector: {pool: training}\naccelerator: {minDriver: "580.95", minCuda: "13.0"}\n');
  const running = await inState(train, 'running');
  t.same(running.ranks.map((r) => r.node).sort(), ['gpu-01', 'gpu-02'], 'only the training pool\'s nodes');

  // Zone b is gpu-02, busy: the job waits, and why names the label of the nodes it cannot use.
  const zoneB = await submit('zone-b', 'gpusPerRank: 4\nnodeSelector: {zone: [b]}\n');
  const why = await waitFor('zone-b explained', async () => {
    const r = await cli(['job', zoneB, '--json'], env);
    const j = JSON.parse(r.stdout) as { state: string; whyPending: { text: string; reasons: Array<{ level: string; reason: string; count: number }> } | null };
    return j.whyPending && j.whyPending.reasons.length ? j : undefined;
  });
  t.equal(why.state, 'pending');
  t.same(
    why.whyPending!.reasons.filter((r) => r.level === 'node' && !r.reason.startsWith('none holds')),
    [
      { level: 'node', reason: 'label zone is a, not one of b', count: 2 },
      { level: 'node', reason: 'fewer than 4 free healthy GPUs', count: 1 },
    ],
  );
  const text = await cli(['job', zoneB], env);
  t.match(text.stdout, /why pending:\n.*\n\s+2 nodes: label zone is a, not one of b\n/, '`gantry job` shows the counted reason');


  // The built-in label pins a job to a node; gpu-03's own gantry.io/node label does not count,
  // so a job pinned to the busy gpu-01 waits although gpu-03 is free.
  const onGpu01 = await submit('on-gpu-01', 'gpusPerRank: 8\nnodeSelector: {gantry.io/node: gpu-01}\n');
  const why01 = await waitFor('on-gpu-01 explained', async () => {
    const r = await cli(['job', onGpu01, '--json'], env);
    const j = JSON.parse(r.stdout) as { state: string; whyPending: { reasons: Array<{ level: string; reason: string; count: number }> } | null };
    return j.whyPending && j.whyPending.reasons.length ? j : undefined;
  });
  t.equal(why01.state, 'pending', 'not placed on gpu-03');
  t.same(why01.whyPending!.reasons.filter((r) => r.level === 'node' && !r.reason.startsWith('none holds')), [
    { level: 'node', reason: 'label gantry.io/node is not gpu-01', count: 2 },
    { level: 'node', reason: 'fewer than 8 free healthy GPUs', count: 1 },
  ]);
  const pinned = await submit('pinned', 'gpusPerRank: 8\nnodeSelector: {gantry.io/node: gpu-03}\n');
  t.same((await inState(pinned, 'running')).ranks.map((r) => r.node), ['gpu-03']);

  // A selector or version no registered node meets could never fit: refused at submit, naming it.
  const none = await cli(['submit', specFile('no-pool', 'nodeSelector: {gpu-gen: blackwell}\n')], env);
  t.not(none.code, 0, 'refused');
  t.match(none.stderr, /could not fit even if every registered node were free: .*3 nodes: label gpu-gen missing \(wants blackwell\)/s);
  const old = await cli(['submit', specFile('too-new', 'accelerator: {minDriver: "580.105.10"}\n')], env);
  t.not(old.code, 0, 'refused');
  t.match(old.stderr, /3 nodes: driver 580\.105\.08 below 580\.105\.10/);
  const bad = await cli(['submit', specFile('bad-sel', 'nodeSelector: {zone: []}\n')], env);
  t.equal(bad.code, 2, 'a bad selector is bad input');
  t.match(bad.stderr, /nodeSelector\.zone: /);

  // Once the training gang ends, the waiting job starts on the one node its selector allows.
  await cli(['cancel', train], env);
  t.same((await inState(zoneB, 'running')).ranks.map((r) => r.node), ['gpu-02'], 'zone b: gpu-02');
  t.same((await inState(onGpu01, 'running')).ranks.map((r) => r.node), ['gpu-01'], 'pinned: gpu-01');
  for (const id of [zoneB, pinned, onGpu01]) await cli(['cancel', id], env);
  await waitFor('every job stopped', async () => {
    for (const id of [train, zoneB, pinned, onGpu01]) if (!['cancelled', 'succeeded', 'failed'].includes((await get(id)).state)) return false;
    return true;
  }, 30_000);
});
