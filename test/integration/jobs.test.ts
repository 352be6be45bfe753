/**
 * Jobs end to end on real parts: a real nats-server, the scheduler and four agents as child
 * processes, ranks as real processes under the agents' supervisors.
 */
import t from 'tap';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JobView } from '../../shared/wire/index.js';
import { pidAlive as alive, gantryCli as cli, jobView as getJob, listNodes, ROOT, startAgent, startNats, startScheduler, tempDir, waitFor, type Agent } from '../harness/cluster.js';

const RANK_CHECK = path.join(ROOT, 'test', 'fixtures', 'ranks', 'rank-check.mjs');



t.test('jobs on a four-node cluster', async (top) => {
  const t = top;
  const nats = await startNats(t);
  const sched = await startScheduler(t, {
    natsUrl: nats.url,
    lostAfterMs: 2000,
    extraArgs: ['--set', 'jobs.requeueInitialMs=300', '--set', 'jobs.requeueMaxMs=1000', '--set', 'jobs.cycleIntervalMs=200'],
  });
  const env = { GANTRY_SCHEDULER_ADDRESS: sched.address };
  const agents: Agent[] = [];
  for (const n of ['gpu-01', 'gpu-02', 'gpu-03', 'gpu-04']) {
    agents.push(await startAgent(t, n, sched.address, { topology: { leaf: 'leaf-0', spine: 'spine-0' }, extraArgs: ['--set', 'runner.logMaxBytes=65536'] }));
  }
  await waitFor('four ready nodes', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 4);
  const dir = tempDir(t, 'gantry-jobs-');
  const spec = (name: string, body: string): string => {
    const f = path.join(dir, `${name}.yaml`);
    writeFileSync(f, body);
    return f;
  };

  t.test('a 4-node training gang runs a real command that checks its environment', async (t) => {
    const out = path.join(dir, 'gang');
    mkdirSync(out);
    const f = spec('gang', `kind: Training\nname: env-check\nranks: 4\ngpusPerRank: 8\ntopology: {required: leaf}\ncommand: ["${process.execPath}", "${RANK_CHECK}"]\nenv: {OUT_DIR: "${out}"}\n`);
    const r = await cli(['submit', f, '--wait'], env);
    t.equal(r.code, 0, `submit --wait: ${r.stderr}`);
    const id = r.stdout.split(' ')[0]!;
    const job = await waitFor('env-check succeeded', async () => {
      const j = await getJob(sched.address, id);
      return j.state === 'succeeded' || j.state === 'failed' ? j : undefined;
    }, 40_000);
    t.equal(job.state, 'succeeded', job.message);
    const ranks = [0, 1, 2, 3].map((i) => JSON.parse(readFileSync(path.join(out, `rank-${i}.json`), 'utf8')) as { env: Record<string, string>; peers: number[] });
    t.same(ranks.map((x) => x.env.RANK), ['0', '1', '2', '3'], 'distinct ranks');
    t.ok(ranks.every((x) => x.env.WORLD_SIZE === '4'), 'world size 4');
    t.equal(new Set(ranks.map((x) => `${x.env.MASTER_ADDR}:${x.env.MASTER_PORT}`)).size, 1, 'one MASTER_ADDR:MASTER_PORT');
    t.same([...ranks[0]!.peers].sort(), [1, 2, 3], 'rank 0 heard from every other rank at MASTER_ADDR');
    const nodes = await listNodes(sched.address);
    for (const [i, x] of ranks.entries()) {
      const placed = job.ranks[i]!;
      const inv = nodes.find((n) => n.name === placed.node)!.inventory;
      t.equal(x.env.CUDA_VISIBLE_DEVICES, placed.gpus.map((g) => inv.gpus[g]!.uuid).join(','), `rank ${i}: CUDA_VISIBLE_DEVICES are its GPUs' UUIDs`);
      t.equal(x.env.GANTRY_TOPOLOGY_ADDR, placed.topologyAddress, `rank ${i}: GANTRY_TOPOLOGY_ADDR`);
      t.equal(x.env.GANTRY_JOB_ID, id);
      t.equal(x.env.LOCAL_WORLD_SIZE, '1', 'one rank per node');
    }
    t.equal(new Set(job.ranks.map((x) => x.node)).size, 4, 'on four nodes');
    const topo = JSON.parse((await cli(['topology', '--json'], env)).stdout) as { levels: string[]; domains: Array<{ level: string; name: string; parent: string; nodes: number; gpusTotal: number; gpusUsed: number; gpusFree: number }> };
    const root = topo.domains[0]!;
    t.same([root.level, root.nodes, root.gpusTotal, root.gpusUsed, root.gpusFree], ['cluster', 4, 32, 0, 32], 'gantry topology: the finished gang freed every GPU');
    t.same(topo.domains.filter((d) => d.level === 'leaf').map((d) => [d.name, d.parent, d.nodes]), [['leaf-0', 'spine-0', 4]], 'leaf-0 under spine-0 holds the four nodes');
  });

  t.test('gantry logs reads a rank\'s output through the scheduler', async (t) => {
    const f = spec('talk', `kind: Training\nname: talk\nranks: 2\ngpusPerRank: 1\ncommand: ["/bin/sh", "-c", "echo hello from rank $RANK; echo oops >&2; exit 0"]\n`);
    const sub = await cli(['submit', f], env);
    const id = sub.stdout.trim().split(' ')[1]!;
    await waitFor('talk finished', async () => (await getJob(sched.address, id)).state === 'succeeded', 30_000);
    const r1 = await cli(['logs', id, '--rank', '1'], env);
    t.equal(r1.code, 0, r1.stderr);
    t.match(r1.stdout, /hello from rank 1\n/, 'stdout of rank 1');
    t.match(r1.stdout, /oops/, 'and its stderr');
    const bad = await cli(['logs', id, '--rank', '7'], env);
    t.equal(bad.code, 2, 'an unknown rank is bad input');
    t.match(bad.stderr, /rank: job talk-\d+ has ranks 0-1/);
  });

  t.test('a rank that cannot start: failed with the reason, shown as not started, its missing log named once', async (t) => {
    // The workdir does not exist on the nodes: the agent refuses before any process exists. (An
    // account no agent allows is refused at submit, one an agent refuses fails at once: run-as.test.ts.)
    const f = spec('nostart', `kind: Training\nname: nostart\nranks: 1\ngpusPerRank: 1\nworkdir: /gantry-no-such-dir\nmaxRetries: 0\ncommand: ["/bin/true"]\n`);
    const r = await cli(['submit', f], env);
    t.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim().split(' ')[1]!;
    const failed = await waitFor('nostart failed', async () => {
      const j = await getJob(sched.address, id);
      return j.state === 'failed' ? j : undefined;
    }, 30_000);
    t.match(failed.message, /rank 0 on gpu-0\d failed to start: workdir: "\/gantry-no-such-dir" is not an existing directory on this node; no retries left \(0\)/);
    t.equal(failed.ranks[0]!.state, 'exited');
    t.equal(failed.ranks[0]!.exitCode, null, 'no exit code: it never ran');
    t.match(failed.ranks[0]!.startError, /is not an existing directory on this node/);
    const view = await cli(['job', id], env);
    t.match(view.stdout, /exited \(failed to start\)/);
    t.notMatch(view.stdout, /code 0/);
    const logs = await cli(['logs', id, '--rank', '0'], env);
    t.equal(logs.code, 1);
    t.match(logs.stderr, /NOT_FOUND: gpu-0\d: rank log "nostart-\d+\/0\/1" not found\n/);
  });

  t.test('a rank exiting non-zero stops the whole gang, requeues it, then fails it with the cause', async (t) => {
    const pids = path.join(dir, 'pids');
    mkdirSync(pids);
    // Rank 2 fails once all three ranks of its attempt run (at most 30 s), however slowly they start.
    const f = spec('flaky', `kind: Training\nname: flaky\nranks: 3\ngpusPerRank: 8\nmaxRetries: 1\npreemptGraceSeconds: 2\ncommand: ["/bin/sh", "-c", "echo $$ > ${pids}/$GANTRY_JOB_EPOCH-$RANK; if [ \\"$RANK\\" = 2 ]; then i=0; while [ $(ls ${pids} | grep -c ^$GANTRY_JOB_EPOCH-) -lt 3 ] && [ $i -lt 600 ]; do i=$((i+1)); sleep 0.05; done; exit 1; fi; exec sleep 60"]\n`);
    const r = await cli(['submit', f], env);
    t.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim().split(' ')[1]!;
    const requeued = await waitFor('requeued', async () => {
      const j = await getJob(sched.address, id);
      return j.attempt >= 1 ? j : undefined;
    }, 30_000);
    t.match(requeued.message, /rank 2 on gpu-0\d exited with code 1/, 'the cause is recorded');
    const failed = await waitFor('failed', async () => {
      const j = await getJob(sched.address, id);
      return j.state === 'failed' ? j : undefined;
    }, 30_000);
    t.match(failed.message, /exited with code 1; no retries left \(1\)/);
    t.equal(failed.epoch, 2, 'placed twice');
    // Every rank of both attempts is gone: the gang was stopped whole.
    await waitFor('all flaky ranks stopped', () =>
      readdirSync(pids).every((p) => !alive(Number(readFileSync(path.join(pids, p), 'utf8')))),
    20_000);
    t.equal(readdirSync(pids).length, 6, 'three ranks ran in each of the two attempts');
  });

  t.test('cancel stops the ranks', async (t) => {
    const pids = path.join(dir, 'cancel-pids');
    mkdirSync(pids);
    const f = spec('long', `kind: Training\nname: long\nranks: 2\ngpusPerRank: 4\npreemptGraceSeconds: 1\ncommand: ["/bin/sh", "-c", "echo $$ > ${pids}/$RANK; trap '' TERM; exec sleep 120"]\n`);
    const sub = await cli(['submit', f, '--wait'], env);
    t.equal(sub.code, 0, sub.stderr);
    const id = sub.stdout.split(' ')[0]!;
    await waitFor('pids written', () => readdirSync(pids).length === 2);
    const topo = JSON.parse((await cli(['topology', '--json'], env)).stdout) as { domains: Array<{ level: string; gpusUsed: number; gpusFree: number }> };
    t.same([topo.domains[0]!.gpusUsed, topo.domains[0]!.gpusFree], [8, 24], 'gantry topology counts the running gang\'s GPUs as used');
    const r = await cli(['cancel', id, '--reason', 'test'], env);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, `${id} cancelled\n`);
    await waitFor('cancelled ranks gone (SIGKILL after the grace, even ignoring SIGTERM)', () =>
      readdirSync(pids).every((p) => !alive(Number(readFileSync(path.join(pids, p), 'utf8')))),
    20_000);
    const again = await cli(['cancel', id], env);
    t.equal(again.code, 1, 'cancelling twice is refused');
    t.match(again.stderr, new RegExp(`FAILED_PRECONDITION: job ${id} is already cancelled`));
  });

  t.test('bad specs are refused naming the field; nothing is stored', async (t) => {
    const cases: Array<[string, string, RegExp]> = [
      ['zero ranks', 'kind: Training\nname: z\nranks: 0\ncommand: [x]\n', /ranks: /],
      ['unknown field', 'kind: Training\nname: u\ncommand: [x]\nbogus: 1\n', /bogus/],
      ['bad slice', 'kind: Training\nname: s\nranks: 3\ntopology: {slice: {size: 2, level: leaf}}\ncommand: [x]\n', /topology\.slice\.size/],
      ['malformed yaml', 'kind: [Training\n', /./],
    ];
    for (const [name, body, re] of cases) {
      const r = await cli(['submit', spec(name.replace(/ /g, '-'), body)], env);
      t.equal(r.code, 2, `${name}: exit 2`);
      t.match(r.stderr, re, `${name}: names the field`);
    }
    const tooBig = await cli(['submit', spec('huge', `kind: Training\nname: huge\nranks: 64\ngpusPerRank: 8\ncommand: [x]\n`)], env);
    t.equal(tooBig.code, 1, 'a job that could never fit is refused');
    t.match(tooBig.stderr, /could not fit even if every registered node were free/);
    const list = await cli(['jobs', '--json'], env);
    const ids = (JSON.parse(list.stdout) as JobView[]).map((j) => j.id);
    t.notOk(ids.some((id) => /^(z|u|s|huge)-/.test(id)), 'none of them was stored');
  });

  t.test('an agent killed under a gang: node lost, gang requeued elsewhere; the old rank is fenced when the agent returns', async (t) => {
    const pids = path.join(dir, 'lost-pids');
    mkdirSync(pids);
    const f = spec('survivor', `kind: Training\nname: survivor\nranks: 2\ngpusPerRank: 8\nmaxRetries: 2\npreemptGraceSeconds: 1\ncommand: ["/bin/sh", "-c", "echo $$ > ${pids}/$GANTRY_JOB_EPOCH-$RANK; exec sleep 120"]\n`);
    const sub = await cli(['submit', f, '--wait'], env);
    t.equal(sub.code, 0);
    const id = sub.stdout.split(' ')[0]!;
    t.match(id, /^survivor-\d+$/, 'submit --wait prints the job id');
    const first = await getJob(sched.address, id);
    const victimName = first.ranks[1]!.node;
    const victim = agents.find((a) => a.name === victimName)!;
    await victim.child.kill();
    const moved = await waitFor('re-placed on other nodes', async () => {
      const j = await getJob(sched.address, id);
      return j.epoch === 2 && j.state === 'running' ? j : undefined;
    }, 30_000);
    t.notOk(moved.ranks.some((r) => r.node === victimName), 'not on the lost node');
    t.equal(moved.attempt, 1, 'one retry used');
    const orphan = Number(readFileSync(path.join(pids, `1-1`), 'utf8'));
    t.ok(alive(orphan), 'the rank on the lost node outlived its agent');
    // The agent comes back on the same state dir: it re-announces the old rank, which is fenced.
    // Started on the outer test, so it lives on for the next subtest.
    const back = await startAgent(top, victimName, sched.address, { stateDir: victim.stateDir, topology: { leaf: 'leaf-0', spine: 'spine-0' } });
    agents[agents.indexOf(victim)] = back;
    await waitFor('the old epoch is stopped', () => !alive(orphan), 20_000);
    const after = await getJob(sched.address, id);
    t.equal(after.state, 'running', 'the new placement keeps running');
    t.equal(after.epoch, 2);
    t.equal((await cli(['cancel', id], env)).code, 0);
  });

  t.test('scheduler kill -9 while a gang runs: nothing lost, no rank started twice', async (t) => {
    const pids = path.join(dir, 'crash-pids');
    mkdirSync(pids);
    const f = spec('steady', `kind: Training\nname: steady\nranks: 4\ngpusPerRank: 4\ncommand: ["/bin/sh", "-c", "echo $$ >> ${pids}/$GANTRY_JOB_EPOCH-$RANK; exec sleep 120"]\n`);
    const sub = await cli(['submit', f, '--wait'], env);
    t.equal(sub.code, 0);
    const id = sub.stdout.split(' ')[0]!;
    const before = await getJob(sched.address, id);
    await sched.child.kill();
    const restartedAt = Date.now();
    const again = await startScheduler(t, { natsUrl: nats.url, dataDir: sched.dataDir, grpcPort: sched.grpcPort, lostAfterMs: 2000 });
    // Loaded nodes read 'ready' at once; wait until every agent has really reconnected.
    await waitFor('agents back', async () => (await listNodes(again.address)).filter((n) => n.connectivity === 'ready' && n.lastSeenMs >= restartedAt).length === 4, 20_000).catch(async (e: unknown) => {
      const ns = await listNodes(again.address).catch(() => []);
      throw new Error(`${(e as Error).message}; nodes: ${JSON.stringify(ns.map((n) => [n.name, n.connectivity]))}; scheduler:\n${again.child.output().slice(-4000)}`);
    });
    // Give the reconciliation time to do anything wrong, then check.
    await waitFor('a few cycles', async () => (await getJob(again.address, id)).state === 'running');
    await new Promise((r) => setTimeout(r, 2000));
    const after = await getJob(again.address, id);
    t.equal(after.state, 'running', 'still running after the restart');
    t.equal(after.epoch, before.epoch, 'same placement epoch: not restarted');
    const files = readdirSync(pids);
    t.equal(files.length, 4, 'one pid file per rank');
    for (const fn of files) t.equal(readFileSync(path.join(pids, fn), 'utf8').trim().split('\n').length, 1, `${fn}: started once`);
    const listed = JSON.parse((await cli(['jobs', '--json'], { GANTRY_SCHEDULER_ADDRESS: again.address })).stdout) as JobView[];
    t.same(listed.map((j) => j.id.replace(/-\d+$/, '')), ['env-check', 'talk', 'nostart', 'flaky', 'long', 'survivor', 'steady'], 'every accepted job is still there');
    t.equal(new Set(listed.map((j) => j.id)).size, 7, 'with distinct ids');
    t.equal((await cli(['cancel', id], { GANTRY_SCHEDULER_ADDRESS: again.address })).code, 0);
  });
});
