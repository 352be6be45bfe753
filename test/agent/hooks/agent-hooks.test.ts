/**
 * Prolog, epilog and the GPU-clean check on a real agent (issue 20, points 1 and 2): the built
 * agent, real hook scripts in a temp dir, real ranks, the stand-in nvidia-smi serving the real
 * `query-compute-apps` sections of the nvidia_gpu_exporter H100 capture, and a fake scheduler (a
 * gRPC AgentService) that sends StartTask and records every AgentMessage. The hooks act on the job
 * id: `fail-*` prologs exit 3, `slow-*` prologs hang past hooks.timeoutMs, `epifail-*` epilogs exit 1.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadGantryProto, type AgentMessage__Output, type SchedulerMessage } from '../../../shared/proto/index.js';
import { taskStatusFromPb, type TaskStatusView } from '../../../shared/wire/index.js';
import { FIXTURES, H100_XML, httpGet, startAgent, tempDir, waitFor } from '../../harness/cluster.js';
import { lookupUser } from '../../../agent/runner/index.js';

const { proto } = loadGantryProto();
const CAPTURE = path.join(FIXTURES, 'nvidia_gpu_exporter', 'linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt');

t.test('prolog, epilog and the GPU-clean check on a real agent', async (t) => {
  const dir = tempDir(t, 'gantry-hooks-');
  chmodSync(dir, 0o777); // ranks run as nobody and write here
  const prolog = path.join(dir, 'prolog.sh');
  const epilog = path.join(dir, 'epilog.sh');
  writeFileSync(
    prolog,
    `#!/bin/sh
env | grep '^GANTRY_' | sort > "${dir}/prolog-env.$GANTRY_JOB_ID.$$"
case "$GANTRY_JOB_ID" in
  fail-*) echo "no scratch space on /local"; exit 3 ;;
  slow-*) sleep 300 & echo $! > "${dir}/slow-child"; echo "waiting for the filesystem"; wait ;;
esac
sleep 1
touch "${dir}/prolog-done.$GANTRY_JOB_ID"
`,
    { mode: 0o755 },
  );
  writeFileSync(
    epilog,
    `#!/bin/sh
env | grep '^GANTRY_' | sort > "${dir}/epilog-env.$GANTRY_JOB_ID.$$"
ls "${dir}" | grep -c "^rank\\.$GANTRY_JOB_ID\\." > "${dir}/epilog-saw-ranks.$GANTRY_JOB_ID"
case "$GANTRY_JOB_ID" in epifail-*) echo "could not unmount /scratch" >&2; exit 1 ;; esac
`,
    { mode: 0o755 },
  );
  const appsState = path.join(dir, 'apps-state');
  writeFileSync(appsState, 'idle');

  // Real leftover processes for the loaded capture's rows: one of nobody's, one of root's.
  const nobody = await lookupUser('nobody');
  if (!nobody) throw new Error('no user nobody');
  const leftover = (uid?: number) => {
    const c = spawn('sleep', ['300'], { stdio: 'ignore', ...(uid !== undefined ? { uid, gid: nobody.gid } : {}) });
    t.teardown(() => c.kill('SIGKILL'));
    return c.pid!;
  };
  const nobodyPid = leftover(nobody.uid);
  const rootPid = leftover();

  // The fake scheduler.
  const messages: AgentMessage__Output[] = [];
  let stream: grpc.ServerDuplexStream<AgentMessage__Output, SchedulerMessage> | undefined;
  const server = new grpc.Server();
  server.addService(proto.gantry.v1.AgentService.service, {
    Connect: (call: grpc.ServerDuplexStream<AgentMessage__Output, SchedulerMessage>) => {
      call.on('data', (m: AgentMessage__Output) => {
        if (m.register) {
          stream = call;
          call.write({ registered: { schedulerId: 'fake', reportIntervalMs: 1000 } });
        } else messages.push(m);
      });
      call.on('error', () => {});
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  // The node's -q -x capture, copied: a test rewrites one GPU's used memory in place.
  const xml = path.join(dir, 'qx-h100.xml');
  copyFileSync(H100_XML, xml);
  const agent = await startAgent(t, 'node-h', `127.0.0.1:${port}`, {
    capture: xml,
    extraArgs: ['--set', `hooks.prolog=${prolog}`, '--set', `hooks.epilog=${epilog}`, '--set', 'hooks.timeoutMs=1500', '--set', 'health.gpuClean.settleMs=600'],
    env: {
      GANTRY_SIM_COMPUTE_APPS: CAPTURE,
      GANTRY_SIM_COMPUTE_APPS_STATE_FILE: appsState,
      GANTRY_SIM_COMPUTE_APPS_PIDS: `${nobodyPid},${rootPid}`,
    },
  });
  await waitFor('the agent registered', () => stream !== undefined, 30_000);

  const updates = (jobId: string): TaskStatusView[] => messages.flatMap((m) => (m.taskUpdate && m.taskUpdate.status?.jobId === jobId ? [taskStatusFromPb(m.taskUpdate.status, 'status')] : []));
  const incidents = (jobId: string) => messages.flatMap((m) => (m.incident && m.incident.jobId === jobId ? [m.incident] : []));
  const final = (jobId: string, rank: number) => updates(jobId).find((u) => u.rank === rank && (u.state === 'exited' || u.state === 'failed-to-start'));
  const files = (prefix: string) => readdirSync(dir).filter((f) => f.startsWith(prefix));
  const metric = async (line: RegExp): Promise<number> => {
    const m = line.exec(await httpGet(`http://127.0.0.1:${agent.metricsPort}/metrics`));
    return m ? Number(m[1]) : 0;
  };
  const cleanChecks = (result: string) => metric(new RegExp(`^gantry_agent_gpu_clean_checks_total\\{result="${result}"\\} (\\d+)`, 'm'));
  const start = (jobId: string, rank: number, gpus: number[]) =>
    stream!.write({
      startTask: {
        jobId,
        rank,
        epoch: 1,
        runAs: 'nobody',
        workdir: '/',
        gpus,
        graceSeconds: 1,
        env: { DIR: dir },
        // The rank records whether the prolog had finished when it started.
        command: ['sh', '-c', `if [ -e "$DIR/prolog-done.${jobId}" ]; then s=after; else s=before; fi; echo $s > "$DIR/rank.${jobId}.${rank}"; sleep ${jobId.startsWith('memleft') ? 3 : 0.3}`],
      },
    });

  await t.test('one prolog per job run, before its ranks, with the job in its environment; the epilog after the last rank; clean GPUs: no incident', async (t) => {
    start('ok-1', 0, [0]);
    start('ok-1', 1, [1]); // arrives while the prolog runs: waits for it
    await waitFor('both ranks ended', () => final('ok-1', 0) && final('ok-1', 1), 30_000);
    t.equal(final('ok-1', 0)!.state, 'exited');
    t.equal(final('ok-1', 1)!.state, 'exited');
    t.equal(files('prolog-env.ok-1.').length, 1, 'one prolog for the two ranks of the run');
    t.equal(readFileSync(path.join(dir, 'rank.ok-1.0'), 'utf8').trim(), 'after', 'rank 0 started after the prolog ended');
    t.equal(readFileSync(path.join(dir, 'rank.ok-1.1'), 'utf8').trim(), 'after', 'rank 1 (arrived during the prolog) too');
    const env = readFileSync(path.join(dir, files('prolog-env.ok-1.')[0]!), 'utf8');
    t.match(env, /^GANTRY_JOB_ID=ok-1$/m);
    t.match(env, /^GANTRY_JOB_EPOCH=1$/m);
    t.match(env, /^GANTRY_JOB_USER=nobody$/m);
    t.match(env, /^GANTRY_GPUS=0,1$/m);
    t.match(env, /^GANTRY_NODE=node-h$/m);
    t.match(env, /^GANTRY_HOOK=prolog$/m);
    await waitFor('the epilog ran', () => files('epilog-saw-ranks.ok-1').length === 1, 15_000);
    t.equal(files('epilog-env.ok-1.').length, 1, 'one epilog');
    t.match(readFileSync(path.join(dir, files('epilog-env.ok-1.')[0]!), 'utf8'), /^GANTRY_HOOK=epilog$/m);
    t.equal(readFileSync(path.join(dir, 'epilog-saw-ranks.ok-1'), 'utf8').trim(), '2', 'after both ranks had run');
    await waitFor('the GPU-clean check', async () => (await cleanChecks('clean')) >= 1, 15_000);
    t.same(incidents('ok-1'), [], 'clean GPUs and passing hooks: no incident');
    t.equal(await metric(/^gantry_agent_hook_runs_total\{hook="prolog",result="passed"\} (\d+)/m), 1);
    t.equal(await metric(/^gantry_agent_hook_runs_total\{hook="epilog",result="passed"\} (\d+)/m), 1);
  });

  await t.test('a failing prolog: the ranks fail to start, refused prolog-failed, and one prolog incident', async (t) => {
    start('fail-1', 0, [0]);
    start('fail-1', 1, [1]);
    await waitFor('both ranks refused', () => final('fail-1', 0) && final('fail-1', 1), 30_000);
    for (const r of [0, 1]) {
      const u = final('fail-1', r)!;
      t.equal(u.state, 'failed-to-start', `rank ${r} failed to start`);
      t.equal(u.refusal, 'prolog-failed', `rank ${r} refused with prolog-failed`);
      t.match(u.message, `prolog ${prolog} exited with code 3`, 'naming the hook and its exit code');
      t.match(u.message, 'no scratch space on /local', "with its output's tail");
    }
    t.notOk(existsSync(path.join(dir, 'rank.fail-1.0')), 'no rank ran');
    await waitFor('the incident', () => incidents('fail-1').length > 0, 10_000);
    const inc = incidents('fail-1');
    t.equal(inc.length, 1, 'one incident for the run');
    t.equal(inc[0]!.source, 'prolog');
    t.match(inc[0]!.reason, /exited with code 3; output: no scratch space on \/local/);
    t.equal(files('prolog-env.fail-1.').length, 1, 'one prolog for both ranks');
    t.equal(files('epilog-env.fail-1.').length, 0, 'no epilog for a run that never started');
  });

  await t.test('a prolog past hooks.timeoutMs is killed with its process group: a failure', async (t) => {
    start('slow-1', 0, [2]);
    await waitFor('the rank refused', () => final('slow-1', 0), 30_000);
    const u = final('slow-1', 0)!;
    t.equal(u.state, 'failed-to-start');
    t.equal(u.refusal, 'prolog-failed');
    t.match(u.message, 'timed out after 1500 ms (hooks.timeoutMs) and was killed');
    t.match(u.message, 'waiting for the filesystem');
    const child = Number(readFileSync(path.join(dir, 'slow-child'), 'utf8'));
    await waitFor("the prolog's own child is gone too", () => !existsSync(`/proc/${child}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${child}/status`, 'utf8')), 10_000);
    await waitFor('the incident', () => incidents('slow-1').length > 0, 10_000);
    t.equal(incidents('slow-1')[0]!.source, 'prolog');
    t.equal(await metric(/^gantry_agent_hook_runs_total\{hook="prolog",result="timeout"\} (\d+)/m), 1);
  });

  await t.test('a rank stopped while it waits for the prolog never runs; its run still gets its epilog', async (t) => {
    start('stopwait-1', 0, [4]);
    stream!.write({ stopTask: { jobId: 'stopwait-1', rank: 0, epoch: 1, graceSeconds: 1, reason: 'job cancelled' } });
    await waitFor('the rank ended', () => final('stopwait-1', 0), 30_000);
    const u = final('stopwait-1', 0)!;
    t.equal(u.state, 'exited');
    t.equal(u.endedBy, 'stopped');
    t.equal(u.message, 'stopped before the rank started: job cancelled');
    await waitFor('the epilog ran', () => files('epilog-saw-ranks.stopwait-1').length === 1, 15_000);
    t.notOk(existsSync(path.join(dir, 'rank.stopwait-1.0')), 'the rank never ran');
  });

  await t.test('a failing epilog: an epilog incident', async (t) => {
    start('epifail-1', 0, [3]);
    await waitFor('the rank exited', () => final('epifail-1', 0), 30_000);
    t.equal(final('epifail-1', 0)!.state, 'exited', 'the rank ran (its prolog passed)');
    await waitFor('the incident', () => incidents('epifail-1').length > 0, 15_000);
    const inc = incidents('epifail-1');
    t.equal(inc.length, 1);
    t.equal(inc[0]!.source, 'epilog');
    t.match(inc[0]!.reason, `epilog ${epilog} exited with code 1; output: could not unmount /scratch`);
  });

  await t.test('leftover compute processes on the job GPUs (the loaded capture): a gpu-clean incident naming pids and users', async (t) => {
    writeFileSync(appsState, 'load');
    const before = await cleanChecks('unclean');
    start('dirty-1', 0, [0]);
    await waitFor('the rank exited', () => final('dirty-1', 0), 30_000);
    await waitFor('the incident', () => incidents('dirty-1').length > 0, 20_000);
    const inc = incidents('dirty-1')[0]!;
    t.equal(inc.source, 'gpu-clean');
    const left = inc.leftovers.map((l) => ({ pid: l.pid, user: l.user, name: l.name, gpu: l.gpu, mib: Number(l.usedMemoryBytes) / 2 ** 20 }));
    t.same(left, [
      { pid: nobodyPid, user: 'nobody', name: '/root/tools/memhog', gpu: 0, mib: 2566 },
      { pid: rootPid, user: 'root', name: '/root/tools/memhog', gpu: 0, mib: 1542 },
      // The capture's own pid: no such process here, so no owner.
      { pid: 11345, user: existsSync('/proc/11345') ? left[2]!.user : '', name: './gpu_burn', gpu: 0, mib: 15690 },
    ]);
    t.match(inc.reason, `GPU 0: C process ${nobodyPid} (/root/tools/memhog) of nobody left`);
    t.match(inc.reason, `GPU 0: C process ${rootPid} (/root/tools/memhog) of root left`);
    t.equal(await cleanChecks('unclean'), before + 1);
    writeFileSync(appsState, 'idle');
  });

  await t.test('used memory left above the idle level (no process listed): a gpu-clean incident', async (t) => {
    const before = await cleanChecks('unclean');
    start('memleft-1', 0, [6]);
    await waitFor('the rank running', () => updates('memleft-1').some((u) => u.state === 'running'), 30_000);
    // While the job runs, GPU 6 fills up (the capture's real 0 MiB idle reading was learned before).
    const original = readFileSync(xml, 'utf8');
    let gpu = -1;
    writeFileSync(xml, original.replace(/<gpu id=[\s\S]*?<\/gpu>/g, (block) => (++gpu === 6 ? block.replace(/(<fb_memory_usage>[\s\S]*?<used>)0 MiB(<\/used>)/, '$130000 MiB$2') : block)));
    t.teardown(() => writeFileSync(xml, original));
    await waitFor('the rank exited', () => final('memleft-1', 0), 30_000);
    await waitFor('the incident', () => incidents('memleft-1').length > 0, 20_000);
    const inc = incidents('memleft-1')[0]!;
    t.equal(inc.source, 'gpu-clean');
    t.same(inc.leftovers, [], 'no process to name');
    t.match(inc.reason, 'GPU 6: 30000 MiB used, idle 0 MiB + margin 1024 MiB');
    t.equal(await cleanChecks('unclean'), before + 1);
    writeFileSync(xml, original);
  });

  await t.test('processes on GPUs the job did not use are not its business', async (t) => {
    writeFileSync(appsState, 'load'); // the capture's processes are on GPU 0
    const before = await cleanChecks('clean');
    start('other-gpu-1', 0, [5]);
    await waitFor('the rank exited', () => final('other-gpu-1', 0), 30_000);
    await waitFor('the GPU-clean check', async () => (await cleanChecks('clean')) > before, 15_000);
    t.same(incidents('other-gpu-1'), []);
    writeFileSync(appsState, 'idle');
  });

  t.equal(agent.child.proc.exitCode, null, 'the agent is up');
});
