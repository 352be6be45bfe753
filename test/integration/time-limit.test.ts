/**
 * Time limits end to end on real parts (the scheduler and two agents as child processes, ranks as
 * real processes): the scheduler sends each rank its epoch's deadline in StartTask, the agent stops
 * the rank there and reports it ended by `timeout`, and the job ends in the terminal state
 * `timeout` without a retry; a backfilled job that runs past its limit is stopped at it, so the
 * gang whose reservation it was backfilled ahead of starts on time.
 *
 * Both depend on the agent enforcing the deadline (the runner's supervisor, issue 19 part 3).
 * Without it they fail in one way only: the job keeps running past its limit (the waits below
 * say so in their message).
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gantryCli as cli, jobView as getJob, listNodes, startAgent, specSubmitter, startScheduler, tempDir, waitFor } from '../harness/cluster.js';

t.test('time limits on a two-node cluster', async (t) => {
  const sched = await startScheduler(t, { extraArgs: ['--set', 'jobs.cycleIntervalMs=200', '--set', 'jobs.requeueInitialMs=200', '--set', 'jobs.stopSlackMs=2000'] });
  const env = { GANTRY_SCHEDULER_ADDRESS: sched.address };
  for (const n of ['tl-01', 'tl-02']) await startAgent(t, n, sched.address, { topology: { leaf: 'leaf-0', spine: 'spine-0' } });
  await waitFor('two ready nodes', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 2);
  const dir = tempDir(t, 'gantry-time-limit-');
  const submit = specSubmitter(t, dir, env);
  const get = (id: string) => getJob(sched.address, id);
  const inState = (id: string, state: string, ms: number, why = '') =>
    waitFor(`${id} ${state}${why}`, async () => {
      const j = await get(id);
      return j.state === state ? j : undefined;
    }, ms);
  /** Waits for `state`; on a timeout the error says the state the job was left in (running: its limit was not enforced). */
  const endsIn = async (id: string, state: string, ms: number): Promise<Awaited<ReturnType<typeof get>>> => {
    try {
      return await inState(id, state, ms);
    } catch {
      const j = await get(id);
      throw new Error(`${id} is ${j.state} (${j.message}) ${ms} ms later, not ${state}: ${j.state === 'running' ? 'it keeps running past its time limit (the agent did not stop it at its deadline)' : 'unexpected'}`);
    }
  };
  /** Cancels what is still unfinished and waits until every GPU is free again, so one case's leftovers never hold up the next. */
  const clear = async (): Promise<void> => {
    const r = await cli(['jobs', '--json'], env);
    const jobs = JSON.parse(r.stdout) as Array<{ id: string; state: string }>;
    for (const j of jobs) if (!['succeeded', 'failed', 'cancelled', 'timeout'].includes(j.state)) await cli(['cancel', j.id], env);
    await waitFor('every GPU free again', async () => {
      const top = JSON.parse((await cli(['topology', '--json'], env)).stdout) as { domains: Array<{ level: string; gpusFree: number }> };
      return top.domains.find((d) => d.level === 'cluster')?.gpusFree === 16;
    }, 20_000);
  };

  t.test('a job past its timeLimit ends in state timeout within a few seconds, and is not requeued', async (t) => {
    t.teardown(clear);
    const id = await submit('short', 'kind: Training\nname: short\ngpusPerRank: 8\ntimeLimit: 2s\npreemptGraceSeconds: 1\ncommand: ["sleep", "60"]\n');
    const running = await inState(id, 'running', 20_000);
    t.equal(running.epoch, 1);
    const ended = await endsIn(id, 'timeout', 10_000);
    t.ok(Date.parse(ended.finished!) - Date.parse(running.started!) < 8_000, 'ended a few seconds after its start');
    t.match(ended.message, /time limit \(2 s\); timed out \(no retry used\)/);
    t.equal(ended.attempt, 0, 'no retry used');
    await new Promise((r) => setTimeout(r, 1500));
    const later = await get(id);
    t.match(later, { state: 'timeout', epoch: 1, attempt: 0 }, 'still timeout, never placed again');
    const text = await cli(['job', id], env);
    t.match(text.stdout, /^state\s+timeout — /m, 'gantry job shows the state');
    t.match(text.stdout, /exited \([^)]*timeout\)/, "and that the rank's end was the time limit");
    const listed = JSON.parse((await cli(['jobs', '--state', 'timeout', '--json'], env)).stdout) as Array<{ id: string }>;
    t.same(listed.map((j) => j.id), [id], 'gantry jobs --state timeout lists it');
  });

  t.test('a backfilled job running past its limit is stopped at it; the reserved gang starts right after', async (t) => {
    t.teardown(clear);
    // "long" declares an hour, so the gang's reservation is an hour out and "small" (6 s) is
    // backfilled ahead of it; long then finishes (told to through a file once small runs), leaving
    // small's node the only thing between the gang and its start. small has the gang's priority,
    // so the gang cannot preempt it.
    const done = path.join(dir, 'long-done');
    const long = await submit('long', `kind: Training\nname: long\npriority: 900\ngpusPerRank: 8\ntimeLimit: 1h\ncommand: ["bash", "-c", "while [ ! -f ${done} ]; do sleep 0.1; done"]\n`);
    await inState(long, 'running', 20_000);
    const gang = await submit('gang', 'kind: Training\nname: gang\npriority: 500\nranks: 2\ngpusPerRank: 8\npreemptGraceSeconds: 1\ncommand: ["sleep", "600"]\n');
    await waitFor('the gang holds a reservation', async () => /reserved: \d+ GPUs held for it/.test((await cli(['job', gang], env)).stdout), 10_000);
    const small = await submit('small', 'kind: Training\nname: small\npriority: 500\ngpusPerRank: 8\ntimeLimit: 6s\npreemptGraceSeconds: 1\ncommand: ["sleep", "600"]\n');
    const backfilled = await inState(small, 'running', 10_000, ' (backfilled)');
    t.equal((await get(gang)).state, 'pending', 'the gang waits');
    writeFileSync(done, '');
    await inState(long, 'succeeded', 15_000);
    t.equal((await get(gang)).state, 'pending', 'long is done; small still holds the other node');
    // The deadline the scheduler sent: the time of the cycle that placed it + 6 s.
    t.ok(backfilled.deadline, 'the job shows its deadline');
    const smallDeadline = Date.parse(backfilled.deadline!);
    t.ok(Math.abs(smallDeadline - (Date.parse(backfilled.started!) + 6_000)) < 2_000, 'placement + 6 s, about its start + 6 s');
    const ended = await endsIn(small, 'timeout', 15_000);
    t.equal(ended.attempt, 0);
    const started = await inState(gang, 'running', 10_000, ' after small was stopped');
    const gangStart = Date.parse(started.started!);
    t.ok(gangStart >= smallDeadline, `the gang started after small's deadline (${gangStart - smallDeadline} ms)`);
    t.ok(gangStart - smallDeadline < 6_000, `within a few seconds of it (${gangStart - smallDeadline} ms)`);
  });
});
