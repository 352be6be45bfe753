/**
 * Node incidents reach a real scheduler without harm (issue 20; what the scheduler does with them is
 * its own side): the scheduler and an agent as child processes, a real job, the agent's epilog
 * failing and the stand-in nvidia-smi serving the H100 exporter capture's loaded compute apps, so
 * after the job the agent sends an epilog and a gpu-clean NodeIncident. The job succeeds; the
 * scheduler keeps the agent's stream (one registration, no invalid agent message) and the node ready.
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
});
