/**
 * A job's account against the agents' allow-lists on real parts: the scheduler and two agents as
 * child processes (plaintext, anonymous admin: this is not about identity), ranks as real
 * processes. gpu-01 lists daemon and an account that does not exist on this machine; gpu-02
 * lists nobody. The agents register their lists, placement honours them, a job no agent would run
 * is refused at submit, and an agent that refuses what it listed fails the job at once.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JobView } from '../../shared/wire/index.js';
import { gantryCli as cli, jobView as getJob, INSECURE_CLI_ENV, listNodes, startAgent, startScheduler, tempDir, waitFor } from '../harness/cluster.js';

const MISSING_USER = 'gantry-no-such-user';



const finished = (address: string, id: string): Promise<JobView> =>
  waitFor(`${id} finished`, async () => {
    const j = await getJob(address, id);
    return j.state === 'succeeded' || j.state === 'failed' ? j : undefined;
  }, 40_000);

t.test('runAs and the agents\' allow-lists', { skip: process.getuid?.() !== 0 && 'ranks switch to nobody: needs root' }, async (t) => {
  // auth.allowRoot: the scheduler's policy lets root through (the anonymous caller is an admin), so the nodes' side is what refuses it.
  const sched = await startScheduler(t, { extraArgs: ['--set', 'jobs.requeueInitialMs=200', '--set', 'jobs.cycleIntervalMs=200', '--set', 'auth.allowRoot=true'] });
  const env = { ...INSECURE_CLI_ENV, GANTRY_SCHEDULER_ADDRESS: sched.address };
  // The harness lists nobody; these come after and replace it.
  await startAgent(t, 'gpu-01', sched.address, { extraArgs: ['--set', `runner.allowedUsers=[daemon,${MISSING_USER}]`, '--set', 'runner.allowRoot=false'] });
  await startAgent(t, 'gpu-02', sched.address);
  await waitFor('two ready nodes', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 2);
  const dir = tempDir(t, 'gantry-runas-');
  const spec = (name: string, body: string): string => {
    const f = path.join(dir, `${name}.yaml`);
    writeFileSync(f, body);
    return f;
  };

  t.test('the agents register their allow-lists: ListNodes and gantry node show them', async (t) => {
    const nodes = await listNodes(sched.address);
    t.same(nodes.map((n) => [n.name, n.allowedUsers, n.allowRoot]), [['gpu-01', ['daemon', MISSING_USER], false], ['gpu-02', ['nobody'], true]]);
    const one = await cli(['node', 'gpu-01'], env);
    t.equal(one.code, 0, one.stderr);
    t.match(one.stdout, new RegExp(`^runs ranks as:\\s+daemon, ${MISSING_USER} \\(runner\\.allowedUsers\\); runner\\.allowRoot off$`, 'm'));
    const json = JSON.parse((await cli(['node', 'gpu-02', '--json'], env)).stdout) as { allowedUsers: string[]; allowRoot: boolean };
    t.same([json.allowedUsers, json.allowRoot], [['nobody'], true]);
  });

  t.test('a job as nobody lands on the one node that allows nobody, and runs as nobody', async (t) => {
    // gpu-01 comes first in every order placement uses: only the filter keeps the job off it.
    const f = spec('as-nobody', `kind: Training\nname: as-nobody\nranks: 1\ngpusPerRank: 1\nrunAs: nobody\nmaxRetries: 0\ncommand: ["/bin/sh", "-c", "test \\"$(id -un)\\" = nobody"]\n`);
    const r = await cli(['submit', f], env);
    t.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim().split(' ')[1]!;
    const job = await finished(sched.address, id);
    t.equal(job.state, 'succeeded', job.message);
    t.same(job.ranks.map((x) => x.node), ['gpu-02']);
  });

  t.test('a job whose account no node allows is refused at submit naming runAs; nothing is stored', async (t) => {
    const r = await cli(['submit', spec('as-bob', `kind: Training\nname: as-bob\nranks: 1\ngpusPerRank: 1\nrunAs: bob\ncommand: ["/bin/true"]\n`)], env);
    t.equal(r.code, 2, 'INVALID_ARGUMENT: exit 2');
    t.match(r.stderr, new RegExp(`INVALID_ARGUMENT: runAs: no node's agent runs ranks as "bob", so the job could never start; the 2 node\\(s\\) allow: daemon, ${MISSING_USER}, nobody `));
    const root = await cli(['submit', spec('as-root', `kind: Training\nname: as-root\nranks: 1\ngpusPerRank: 1\nrunAs: root\ncommand: ["/bin/true"]\n`)], env);
    t.equal(root.code, 2, 'root: no node lists it');
    t.match(root.stderr, /runAs: no node's agent runs ranks as "root"/);
    const ids = (JSON.parse((await cli(['jobs', '--json'], env)).stdout) as JobView[]).map((j) => j.id);
    t.notOk(ids.some((id) => /^as-(bob|root)-/.test(id)), 'neither was stored');
  });

  t.test('an agent that refuses an account it listed fails the job at once: cause run-as-refused, no retry used', async (t) => {
    // gpu-01 lists the account, so the scheduler places the job there; the agent finds no such user.
    const f = spec('as-missing', `kind: Training\nname: as-missing\nranks: 1\ngpusPerRank: 1\nrunAs: ${MISSING_USER}\nmaxRetries: 3\ncommand: ["/bin/true"]\n`);
    const r = await cli(['submit', f], env);
    t.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim().split(' ')[1]!;
    const job = await finished(sched.address, id);
    t.equal(job.state, 'failed');
    t.equal(job.attempt, 0, 'no retry used (maxRetries 3)');
    t.equal(job.epoch, 1, 'placed once');
    t.same(job.ranks.map((x) => [x.node, x.state]), [['gpu-01', 'exited']]);
    t.equal(
      job.message,
      `node gpu-01 refused to run rank 0 as "${MISSING_USER}": runAs: no user "${MISSING_USER}" on this node; failed without a retry: it would meet the same refusal`,
      'the message names the node and the account',
    );
    // It stays failed: no requeue follows (the backoff is 200 ms).
    await new Promise((res) => setTimeout(res, 1000));
    t.match(await getJob(sched.address, id), { state: 'failed', attempt: 0, epoch: 1 });
  });
});
