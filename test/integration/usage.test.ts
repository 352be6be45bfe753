/**
 * Usage accounting end to end on real parts (issue 23): the scheduler and two agents as child
 * processes, ranks as real processes that measure their own wall-clock time
 * (test/fixtures/ranks/wall-clock.mjs). Then, through the CLI:
 * - `gantry usage --json`: each job's GPU-hours equal the sum over its ranks of GPUs × the rank's
 *   own measured time, within the tolerance below; by user, the total;
 * - `gantry usage --cluster --json`: allocated + reserved + down-or-drained + idle = total, and
 *   allocated is the ranks' GPU time;
 * - bad flags: exit 2 naming the flag;
 * and the scheduler's /metrics after those jobs: admissions, pending and cycle histograms,
 * requeues by cause, GPU-hours per queue and user, jobs by state, GPUs per topology domain;
 * then a restart of the scheduler while a rank runs: the rank ends while no scheduler runs, its
 * agent reports the exit when it re-registers, and its entry ends at the agent's measure, once.
 *
 * Tolerance: a usage entry runs from the agent's spawn of the rank's process to the exit its
 * supervisor saw (agent/runner/supervise.ts), the rank's own time from its first statement to
 * just before its exit. The entry is never shorter (same clock, the rank's interval inside the
 * supervisor's), and longer by Node's start-up and exit: tens of ms idle, a few hundred on the
 * busy 2-core CI machine. Allowed: 0 ≤ entry − own ≤ 1.5 s per rank, times its GPUs.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gantryCli as cli, httpGet, jobView, listNodes, ROOT, startAgent, startScheduler, specSubmitter, tempDir, waitFor } from '../harness/cluster.js';
import type { UsageRowView } from '../../shared/cli/usage.js';

const WALL_CLOCK = path.join(ROOT, 'test', 'fixtures', 'ranks', 'wall-clock.mjs');
const SLACK_MS = 1500;

/** A row of `gantry usage --json`, as the CLI makes it. */
type Row = UsageRowView;

/** A series' value in a Prometheus text exposition (undefined: no such series). */
function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('usage accounting on a two-node cluster', async (t) => {
  const dataDir = tempDir(t, 'gantry-usage-sched-');
  const schedArgs = ['--set', 'jobs.cycleIntervalMs=200', '--set', 'jobs.requeueInitialMs=200', '--set', 'jobs.requeueMaxMs=400'];
  let sched = await startScheduler(t, { dataDir, extraArgs: schedArgs });
  const env = { GANTRY_SCHEDULER_ADDRESS: sched.address };
  const began = new Date(Date.now() - 1000).toISOString();
  await Promise.all(['use-01', 'use-02'].map((n) => startAgent(t, n, sched.address, { topology: { leaf: 'leaf-0', spine: 'spine-0' } })));
  await waitFor('two ready nodes', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 2);
  const dir = tempDir(t, 'gantry-usage-');
  const submit = specSubmitter(t, dir, env);
  const spec = (name: string, ranks: number, gpus: number, sleepMs: number, extra = ''): string =>
    `kind: Training\nname: ${name}\nranks: ${ranks}\ngpusPerRank: ${gpus}\ncommand: ["${process.execPath}", "${WALL_CLOCK}"]\nenv: {OUT_DIR: "${dir}", SLEEP_MS: "${sleepMs}"${extra}}\n`;
  const ended = (id: string) =>
    waitFor(`${id} finished`, async () => {
      const j = await jobView(sched.address, id);
      return ['succeeded', 'failed'].includes(j.state) ? j : undefined;
    }, 30_000);

  const gang = await submit('gang', spec('gang', 2, 4, 1000));
  const single = await submit('single', spec('single', 1, 2, 500));
  const flaky = await submit('flaky', spec('flaky', 1, 1, 100, ', EXIT_CODE: "3"').replace('kind: Training', 'kind: Training\nmaxRetries: 1'));
  t.equal((await ended(gang)).state, 'succeeded');
  t.equal((await ended(single)).state, 'succeeded');
  t.equal((await ended(flaky)).state, 'failed', 'flaky failed after one retry (its two runs both count)');
  /** The ranks' own measures: GPU-ms by job. */
  const own = (id: string, ranks: number, gpus: number): number => {
    let ms = 0;
    for (let r = 0; r < ranks; r++) {
      const m = JSON.parse(readFileSync(path.join(dir, `${id}-rank-${r}.json`), 'utf8')) as { startMs: number; endMs: number };
      ms += gpus * (m.endMs - m.startMs);
    }
    return ms;
  };

  const usage = async (args: string[]): Promise<{ rows: Row[] }> => {
    const r = await cli(['usage', ...args, '--json'], env);
    t.equal(r.code, 0, `gantry usage ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as { rows: Row[] };
  };
  const byJob = new Map((await usage(['--by', 'job', '--since', began])).rows.map((r) => [r.key, r]));
  for (const [id, ranks, gpus] of [[gang, 2, 4], [single, 1, 2]] as const) {
    const row = byJob.get(id)!;
    const mine = own(id, ranks, gpus);
    const diff = row.gpuMs - mine;
    t.ok(diff >= 0 && diff <= SLACK_MS * ranks * gpus, `${id}: ${row.gpuMs} GPU-ms recorded, ${mine} measured by its ranks (${diff} more; allowed 0..${SLACK_MS * ranks * gpus})`);
    t.equal(row.gpuHours, row.gpuMs / 3_600_000, 'GPU-hours are GPU-ms / 3,600,000');
    t.match(row, { jobs: 1, ranks, started: 1 }, `${id}: one job, ${ranks} rank run(s), started once`);
  }
  t.equal(byJob.get(flaky)!.ranks, 2, 'the failed job: both runs recorded (a retry is a new epoch, not a rewrite)');
  const users = (await usage(['--by', 'user', '--since', began])).rows;
  t.equal(users.length, 1, 'one user');
  const total = [...byJob.values()].reduce((s, r) => s + r.gpuMs, 0);
  t.equal(users[0]!.gpuMs, total, 'by user: the same GPU time as by job');
  t.equal(users[0]!.jobs, 3);

  const cr = await cli(['usage', '--cluster', '--since', began, '--json'], env);
  t.equal(cr.code, 0, cr.stderr);
  const c = JSON.parse(cr.stdout) as Record<string, number>;
  t.equal(c.allocatedGpuMs! + c.reservedGpuMs! + c.downOrDrainedGpuMs! + c.idleGpuMs!, c.totalGpuMs, 'cluster: the four parts add up to the total');
  t.equal(c.allocatedGpuMs, total, "cluster: allocated is the ranks' GPU time");
  t.equal(c.nodes, 2);
  t.ok(c.reservedGpuMs! > 0, 'reserved: GPUs held from placement until the rank started');
  const csv = await cli(['usage', '--cluster', '--since', began, '--csv'], env);
  t.match(csv.stdout, /^category,gpu_hours,gpu_ms\nallocated,/, 'cluster CSV');

  for (const [args, flag] of [[['--by', 'color'], /--by: "color" is not one of user, queue, job, node/], [['--since', 'yesterday'], /--since: "yesterday" is not a time/], [['--since', '1h', '--until', '2h'], /--until .* must be after --since/]] as const) {
    const r = await cli(['usage', ...args], env);
    t.equal(r.code, 2, `gantry usage ${args.join(' ')}: exit 2`);
    t.match(r.stderr, flag, 'naming what is wrong');
  }

  const m = await httpGet(`http://127.0.0.1:${sched.metricsPort}/metrics`);
  t.equal(metric(m, 'gantry_scheduler_admissions_total{queue="default"}'), 4, 'admissions: gang, single, flaky twice');
  t.equal(metric(m, 'gantry_scheduler_job_pending_seconds_count{queue="default"}'), 4, 'pending duration observed at each placement');
  t.ok(metric(m, 'gantry_scheduler_cycle_duration_seconds_count')! > 0, 'cycle durations observed');
  t.equal(metric(m, 'gantry_scheduler_requeues_total{cause="rank-exited"}'), 1, 'requeues by cause: flaky once');
  t.equal(metric(m, 'gantry_scheduler_preemptions_total{queue="default"}'), 0);
  t.equal(metric(m, 'gantry_scheduler_jobs{state="running",queue="default"}'), 0, 'jobs by state and queue: none running now');
  t.equal(metric(m, 'gantry_scheduler_queue_gpus_used{queue="default"}'), 0);
  t.equal(metric(m, 'gantry_scheduler_topology_gpus{level="leaf",domain="leaf-0",state="free"}'), 16, 'GPUs per topology domain');
  const owner = (await jobView(sched.address, gang)).owner;
  const hours = metric(m, `gantry_scheduler_gpu_hours_total{queue="default",user="${owner}"}`)!;
  t.ok(Math.abs(hours * 3_600_000 - total) < 1, `GPU-hours counter (${hours}) = the usage report's (${total / 3_600_000})`);

  t.test('a rank that ends while the scheduler is down: its entry ends at the agent’s measure, once', async (t) => {
    const long = await submit('restart', spec('restart', 1, 8, 2500));
    await waitFor('restart running', async () => (await jobView(sched.address, long)).state === 'running', 20_000);
    await sched.child.kill();
    await waitFor('the rank has ended', () => {
      try {
        return readFileSync(path.join(dir, `${long}-rank-0.json`), 'utf8');
      } catch {
        return undefined;
      }
    }, 15_000);
    sched = await startScheduler(t, { dataDir, grpcPort: sched.grpcPort, extraArgs: schedArgs });
    const j = await ended(long);
    t.equal(j.state, 'succeeded', 'the agent reported the exit when it re-registered');
    const row = (await usage(['--by', 'job', '--since', began])).rows.find((r) => r.key === long)!;
    const mine = own(long, 1, 8);
    t.ok(row.gpuMs - mine >= 0 && row.gpuMs - mine <= SLACK_MS * 8, `${row.gpuMs} GPU-ms recorded, ${mine} measured by the rank: the end is the agent's, not the restart's`);
    t.equal(row.ranks, 1, 'one entry: not doubled');
  });
});
