/**
 * Prolog, epilog and the GPU-clean check through a real scheduler and real agents (issue 20, points
 * 1 and 2, end to end), the scheduler and agents as child processes:
 * - the agent's epilog failing and the stand-in nvidia-smi serving the H100 exporter capture's
 *   loaded compute apps: after the job the agent sends an epilog and a gpu-clean NodeIncident. The
 *   job succeeds; the scheduler keeps the agent's stream (one registration, no invalid agent
 *   message), and drains the node with the incident's reason;
 * - a prolog failing on one of two nodes: the job is requeued without using a retry, placed on the
 *   other node and succeeds there, and the first node is drained naming the prolog.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, gantryCli as cli, httpGet, INSECURE_CLI_ENV, jobView, listNodes, startAgent, startScheduler, tempDir, waitFor } from '../harness/cluster.js';

const CAPTURE = path.join(FIXTURES, 'nvidia_gpu_exporter', 'linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt');

t.test('node incidents from an agent: the scheduler keeps its stream', { skip: process.getuid?.() !== 0 && 'ranks switch to nobody: needs root' }, async (t) => {
  const sched = await startScheduler(t, { extraArgs: ['--set', 'jobs.cycleIntervalMs=200'] });
  const dir = tempDir(t, 'gantry-hooks-int-');
  const epilog = path.join(dir, 'epilog.sh');
  writeFileSync(epilog, '#!/bin/sh\necho "scratch still mounted" >&2\nexit 4\n', { mode: 0o755 });
  const agent = await startAgent(t, 'gpu-h1', sched.address, {
    extraArgs: ['--set', `hooks.epilog=${epilog}`, '--set', 'health.gpuClean.settleMs=300'],
    env: { GANTRY_SIM_COMPUTE_APPS: CAPTURE, GANTRY_SIM_COMPUTE_APPS_STATE: 'load' },
  });
  await waitFor('a ready node', async () => (await listNodes(sched.address)).some((n) => n.name === 'gpu-h1' && n.connectivity === 'ready'));
  const env = { ...INSECURE_CLI_ENV, GANTRY_SCHEDULER_ADDRESS: sched.address };
  const spec = path.join(dir, 'job.yaml');
  writeFileSync(spec, 'kind: Training\nname: hooked\nranks: 1\ngpusPerRank: 1\nrunAs: nobody\nmaxRetries: 0\ncommand: ["/bin/true"]\n');
  const r = await cli(['submit', spec], env);
  t.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim().split(' ')[1]!;
  const job = await waitFor(`${id} finished`, async () => {
    const j = await jobView(sched.address, id);
    return j.state === 'succeeded' || j.state === 'failed' ? j : undefined;
  }, 40_000);
  t.equal(job.state, 'succeeded', job.message);
  const incidents = (): Record<string, unknown>[] =>
    agent.child
      .output()
      .split('\n')
      .flatMap((l) => {
        try {
          const j = JSON.parse(l) as Record<string, unknown>;
          return j.msg === 'node incident' ? [j] : [];
        } catch {
          return [];
        }
      });
  const lines = await waitFor('two incidents', () => (incidents().length >= 2 ? incidents() : undefined), 20_000);
  t.same(lines.map((l) => l.source).sort(), ['epilog', 'gpu-clean'], 'the agent sent both incidents');
  t.ok(lines.every((l) => l.job === id), 'for the job');
  // The scheduler took them: the stream stayed up, nothing counted as invalid.
  await new Promise((res) => setTimeout(res, 1000));
  const metrics = await httpGet(`http://127.0.0.1:${sched.metricsPort}/metrics`);
  t.notMatch(metrics, /^gantry_scheduler_invalid_agent_messages_total\{[^}]*\} [1-9]/m, 'no invalid agent message');
  t.match(metrics, /^gantry_scheduler_registrations_total 1$/m, 'one registration: the stream was never closed');
  t.ok((await listNodes(sched.address)).some((n) => n.name === 'gpu-h1' && n.connectivity === 'ready'), 'the node is still ready');
  const node = await waitFor('the node drained', async () => (await listNodes(sched.address)).find((n) => n.name === 'gpu-h1' && n.schedulability === 'draining'), 10_000);
  t.match(node.schedulabilityReason, /^health: (epilog|gpu-clean): /, `drained with the incident's reason (${node.schedulabilityReason})`);
});

t.test('a failing prolog: the job goes to another node without a retry, the node is drained', { skip: process.getuid?.() !== 0 && 'ranks switch to nobody: needs root' }, async (t) => {
  const sched = await startScheduler(t, { extraArgs: ['--set', 'jobs.cycleIntervalMs=200'] });
  const dir = tempDir(t, 'gantry-prolog-int-');
  const prolog = path.join(dir, 'prolog.sh');
  writeFileSync(prolog, '#!/bin/sh\necho "no scratch for $GANTRY_JOB_ID" >&2\nexit 3\n', { mode: 0o755 });
  // gpu-p1 alone first, so the job meets its prolog (a cordoned second node would count as out for
  // the circuit breaker, which would then hold gpu-p1's drain back).
  await startAgent(t, 'gpu-p1', sched.address, { extraArgs: ['--set', `hooks.prolog=${prolog}`] });
  await waitFor('gpu-p1 ready', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 1);
  const env = { ...INSECURE_CLI_ENV, GANTRY_SCHEDULER_ADDRESS: sched.address };
  const spec = path.join(dir, 'job.yaml');
  writeFileSync(spec, 'kind: Training\nname: prologued\nranks: 1\ngpusPerRank: 1\nrunAs: nobody\nmaxRetries: 0\ncommand: ["/bin/true"]\n');
  const r = await cli(['submit', spec], env);
  t.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim().split(' ')[1]!;
  const p1 = await waitFor('gpu-p1 drained', async () => (await listNodes(sched.address)).find((n) => n.name === 'gpu-p1' && n.schedulability === 'draining'), 30_000);
  t.match(p1.schedulabilityReason, /^health: prolog: /, `drained naming the prolog (${p1.schedulabilityReason})`);
  const requeued = await jobView(sched.address, id);
  t.not(requeued.state, 'failed', `not failed: maxRetries 0 and no retry used (${requeued.state}: ${requeued.message})`);
  await startAgent(t, 'gpu-p2', sched.address);
  const job = await waitFor(`${id} finished`, async () => {
    const j = await jobView(sched.address, id);
    return j.state === 'succeeded' || j.state === 'failed' ? j : undefined;
  }, 40_000);
  t.equal(job.state, 'succeeded', `it ran on gpu-p2 (${job.message})`);
  t.equal(job.attempt, 0, 'no retry used');
});
