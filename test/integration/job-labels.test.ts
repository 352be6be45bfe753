/**
 * metrics.jobLabels end to end: a real scheduler, a real agent (8 simulated H100s served by the
 * stand-in nvidia-smi from the real capture) and a real job of two ranks. While it runs, the
 * per-GPU series of the GPUs each rank holds carry its job_id, rank and owner, the others carry
 * them empty, and every GPU has one series per metric; once it ended, none is left with its labels.
 * The agent probes once only (collectIntervalMs 10 min), so the labels can only follow the ranks
 * through the runner's updates, not a later probe.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { httpGet, jobView, listNodes, specSubmitter, startAgent, startScheduler, tempDir, waitFor } from '../harness/cluster.js';
import { parseProm, type PromSample } from '../agent/sim.js';

/** The per-GPU families: ours and, with dcgmCompat, dcgm-exporter's (health and XID series are per check/bus, not labelled). */
const perGpu = (s: PromSample): boolean => s.labels.gpu !== undefined && (s.name.startsWith('gantry_agent_gpu_') || s.name.startsWith('DCGM_FI_'));

t.test('job labels on the GPU series of a running job, gone after it', async (t) => {
  const sched = await startScheduler(t, { extraArgs: ['--set', 'jobs.cycleIntervalMs=200'] });
  const agent = await startAgent(t, 'jl-01', sched.address, {
    extraArgs: ['--set', 'metrics.jobLabels=true', '--set', 'metrics.dcgmCompat=true', '--set', 'collectIntervalMs=600000'],
  });
  await waitFor('the node ready', async () => (await listNodes(sched.address)).some((n) => n.connectivity === 'ready'));
  const metricsText = () => httpGet(`http://127.0.0.1:${agent.metricsPort}/metrics`);
  const scrape = async () => parseProm(await metricsText()).samples.filter(perGpu);

  const before = await scrape();
  t.ok(before.length > 0, 'per-GPU series before any job');
  t.ok(before.every((s) => (s.labels.job_id ?? '') === '' && (s.labels.rank ?? '') === '' && (s.labels.owner ?? '') === ''), 'none labelled with a job');

  const dir = tempDir(t, 'gantry-job-labels-');
  const done = path.join(dir, 'done');
  const submit = specSubmitter(t, dir, { GANTRY_SCHEDULER_ADDRESS: sched.address });
  const id = await submit('labelled', `kind: Training\nname: labelled\nranks: 2\ngpusPerRank: 3\ncommand: ["bash", "-c", "while [ ! -e ${done} ]; do sleep 0.1; done"]\n`);
  const running = await waitFor('the job running', async () => {
    const j = await jobView(sched.address, id);
    return j.state === 'running' ? j : undefined;
  }, 20_000);
  const held = new Map<string, string>(); // gpu -> rank
  for (const r of running.ranks) for (const g of r.gpus) held.set(String(g), String(r.rank));
  t.equal(held.size, 6, 'two ranks of three GPUs on the one node');

  // The scheduler saw the ranks run, so the agent's runner did, and relabelled then: no wait here.
  const during = await scrape();
  const owner = os.userInfo().username; // no runAs: the ranks run as the agent's own user
  const families = [...new Set(during.map((s) => s.name))];
  t.ok(families.includes('gantry_agent_gpu_temperature_celsius') && families.includes('DCGM_FI_DEV_GPU_TEMP'), 'ours and the dcgm-exporter families');
  let wrong = 0;
  for (const s of during) {
    const rank = held.get(s.labels.gpu!);
    const want = rank === undefined ? { job_id: '', rank: '', owner: '' } : { job_id: id, rank, owner };
    const got = { job_id: s.labels.job_id ?? '', rank: s.labels.rank ?? '', owner: s.labels.owner ?? '' };
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      if (++wrong <= 5) t.fail(`${s.name}{gpu="${s.labels.gpu}"}: job labels`, { got, want });
    }
  }
  t.equal(wrong, 0, `every per-GPU series (${during.length}) labelled with the rank holding its GPU, or empty`);
  for (const name of families) {
    const gpus = during.filter((s) => s.name === name).map((s) => s.labels.gpu!);
    t.equal(new Set(gpus).size, gpus.length, `${name}: one series per GPU`);
  }
  t.same(
    [...new Set(during.filter((s) => s.labels.job_id === id).map((s) => `${s.labels.gpu}:${s.labels.rank}`))].sort(),
    [...held].map(([g, r]) => `${g}:${r}`).sort(),
    'the six held GPUs, each with its own rank',
  );
  if (existsSync('/usr/bin/promtool')) {
    // Ours stay promtool-clean with the labels (dcgm-exporter's own names are not: test/agent/metrics.test.ts).
    const ours = (await metricsText()).split('\n').filter((l) => !/^(# (HELP|TYPE) )?DCGM_/.test(l)).join('\n');
    const r = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: ours, encoding: 'utf8' });
    t.equal(r.status, 0, 'promtool check metrics: the gantry_agent_* part with job labels is clean', { output: `${r.stdout}${r.stderr}` });
  }

  writeFileSync(done, '');
  await waitFor('the job succeeded', async () => (await jobView(sched.address, id)).state === 'succeeded', 20_000);
  const after = await scrape();
  t.same(after.filter((s) => (s.labels.job_id ?? '') !== ''), [], 'no series left with its labels');
  t.equal(after.length, before.length, 'as many per-GPU series as before the job (none stale, none lost)');
});
