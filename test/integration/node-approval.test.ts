/**
 * Joining, approval and deletion on real parts, through the CLI: the scheduler with
 * nodes.requireApproval and an agent as child processes (plaintext, an anonymous admin: the CLI
 * speaks no TLS yet; node certificates are test/integration/node-identity.test.ts's subject).
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { schedulerClient, schedulerCall } from '../../shared/cli/client.js';
import { jobViewFromPb, nodeFromPb } from '../../shared/wire/index.js';
import { gantryCli as cli, INSECURE_CLI_ENV, startAgent, startScheduler, tempDir, waitFor } from '../harness/cluster.js';



t.test('nodes.requireApproval: a new node takes no work until approved; a node is deleted only without ranks', async (top) => {
  const t = top;
  const dataDir = tempDir(t, 'gantry-approval-sched-');
  const args = ['--set', 'nodes.requireApproval=true', '--set', 'jobs.cycleIntervalMs=200'];
  let sched = await startScheduler(t, { dataDir, extraArgs: args });
  const env = { ...INSECURE_CLI_ENV, GANTRY_SCHEDULER_ADDRESS: sched.address };
  const client = schedulerClient(sched.address);
  t.teardown(() => client.close());
  const getNode = async (name: string) => nodeFromPb(await schedulerCall(client, 'GetNode', { name }));
  const getJob = async (id: string) => jobViewFromPb(await schedulerCall(client, 'GetJob', { id }));

  const stateDir = tempDir(t, 'gantry-approval-agent-');
  let agent = await startAgent(t, 'fresh', sched.address, { stateDir });
  const joined = await waitFor('fresh ready', async () => {
    const n = await getNode('fresh').catch(() => undefined);
    return n?.connectivity === 'ready' ? n : undefined;
  });
  t.equal(joined.awaitingApproval, true, 'a new name joins awaiting approval');
  t.match(await sched.child.waitForLog(/^node fresh joined/, 5000), { audit: 'allowed', action: 'NodeJoined', target: 'fresh', msg: /takes no work until approved/ }, 'the scheduler logs the join (an audit record)');
  const listed = await cli(['nodes'], env);
  t.match(listed.stdout, /^fresh\s+ready\s+awaiting-approval\s/m, 'gantry nodes shows it awaiting approval');
  t.match(JSON.parse((await cli(['nodes', '--json'], env)).stdout), [{ name: 'fresh', awaitingApproval: true }], 'and --json says so');

  t.test('the flag is stored: it survives a scheduler restart', async (t) => {
    const registrations = (): number => agent.child.output().split('\n').filter((l) => l.includes('"msg":"registered with the scheduler"')).length;
    const before = registrations();
    await sched.child.stop();
    // Started for the whole file (a subtest's teardown would stop it at the subtest's end).
    sched = await startScheduler(top, { dataDir, grpcPort: sched.grpcPort, extraArgs: args });
    t.equal((await getNode('fresh')).awaitingApproval, true, 'the stored record still awaits approval');
    await waitFor('the agent to register with the restarted scheduler', () => registrations() > before, 20_000);
    t.equal((await getNode('fresh')).awaitingApproval, true, 'and so it does after the agent reconnected');
  });

  const dir = tempDir(t, 'gantry-approval-');
  const specFile = path.join(dir, 'hold.yaml');
  writeFileSync(specFile, 'kind: Training\nname: hold\nranks: 1\ngpusPerRank: 1\npreemptGraceSeconds: 1\ncommand: ["/bin/sh", "-c", "exec sleep 600"]\n');
  let jobId = '';

  t.test('a job waits: the only node awaits approval', async (t) => {
    const sub = await cli(['submit', specFile], env);
    t.equal(sub.code, 0, `gantry submit ${sub.stderr}`);
    jobId = sub.stdout.trim().split(' ')[1]!;
    const why = await waitFor('a cycle to explain it', async () => {
      const e = await schedulerCall(client, 'ExplainJob', { id: jobId });
      return /awaiting approval/.test(e.text) ? e : undefined;
    });
    t.match(why.text, /awaiting approval/, `the reason is counted: ${why.text.split('\n').find((l) => l.includes('awaiting approval'))!.trim()}`);
    await new Promise((r) => setTimeout(r, 1000)); // five cycles
    t.equal((await getJob(jobId)).state, 'pending', 'still pending several cycles later');
  });

  t.test('gantry node approve: the job is placed there', async (t) => {
    const r = await cli(['node', 'approve', 'fresh'], env);
    t.equal(r.code, 0, `gantry node approve ${r.stderr}`);
    t.equal(r.stdout, 'fresh approved: schedulable\n', 'says so');
    t.notOk((await getNode('fresh')).awaitingApproval, 'no longer awaiting approval');
    const job = await waitFor('the job running', async () => {
      const j = await getJob(jobId);
      return j.state === 'running' ? j : undefined;
    }, 20_000);
    t.same(job.ranks.map((r) => r.node), ['fresh'], 'on the approved node');
    const usage = await cli(['node'], env);
    t.equal(usage.code, 2, 'gantry node without a subcommand is a usage error');
    t.match(usage.stderr, /approve NODE .*\n\s+delete NODE .*\n(.*\n)*\s+\[show\] NODE/, 'listing the subcommands');
    const unknown = await cli(['node', 'approve', 'nope'], env);
    t.equal(unknown.code, 1, 'approving an unknown node fails');
    t.match(unknown.stderr, /NOT_FOUND/, 'NOT_FOUND');
  });

  t.test('gantry node delete: refused while ranks run there; then the record goes; the name joins afresh', async (t) => {
    const busy = await cli(['node', 'delete', 'fresh'], env);
    t.equal(busy.code, 1, 'refused');
    t.match(busy.stderr, new RegExp(`FAILED_PRECONDITION: node fresh has ranks of job ${jobId}: cordon and drain it first`), 'saying which job and what to do');
    t.equal((await getNode('fresh')).connectivity, 'ready', 'the node is still there');
    t.equal((await getJob(jobId)).state, 'running', 'and its job still runs');

    t.equal((await cli(['cancel', jobId], env)).code, 0, 'gantry cancel');
    await agent.child.stop();
    const deleted = await waitFor('the delete to pass once the rank is gone', async () => {
      const r = await cli(['node', 'delete', 'fresh'], env);
      return r.code === 0 ? r : undefined;
    }, 20_000, 500);
    t.equal(deleted.stdout, 'fresh deleted\n', 'gantry node delete says so');
    t.notMatch((await cli(['nodes'], env)).stdout, /^fresh\s/m, 'gone from gantry nodes');
    const show = await cli(['node', 'show', 'fresh'], env);
    t.equal(show.code, 1, 'gantry node show fails');
    t.match(show.stderr, /NOT_FOUND/, 'NOT_FOUND');

    agent = await startAgent(top, 'fresh', sched.address, { stateDir });
    const again = await waitFor('fresh registered again', async () => getNode('fresh').catch(() => undefined));
    t.equal(again.awaitingApproval, true, 'a deleted node that comes back is a new join, awaiting approval again');
    t.ok(again.registeredMs > joined.registeredMs, 'with a new registration time');
    t.match((await cli(['node', 'show', 'fresh'], env)).stdout, /^scheduling: +awaiting-approval$/m, 'gantry node show says so');
  });
});
