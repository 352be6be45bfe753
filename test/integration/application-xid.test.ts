/**
 * Application XIDs attached to jobs, end to end on real parts (issue 20 point 3): a real scheduler
 * and a real agent (child processes), ranks as real processes, and the agent's kernel log a file in
 * /dev/kmsg's format. The XID lines are the real XID 13 line of the shared kernel-log fixture
 * (test/fixtures/derived/dmesg-xid-classes.txt), pointed at a GPU of the served capture and at a
 * rank's real pid; the XID 45 line is derived from it (the code and the message changed, labelled
 * here as derived: no capture holds an XID 45).
 *
 *   - XID 13 naming a running rank's pid: the job is requeued with the XID in its message, the
 *     fault is on the job (`gantry job` shows it), counted on both sides, and the node is neither
 *     cordoned nor unhealthy;
 *   - XID 13 read after its rank already exited (the job requeued for the exit): the requeue names
 *     the XID, one retry used;
 *   - XID 45 naming the pid of a rank of a job just cancelled (Gantry stopped it): ignored.
 */
import t from 'tap';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gantryCli as cli, H100_XML, httpGet, jobView as getJob, listNodes, specSubmitter, startAgent, startScheduler, tempDir, waitFor } from '../harness/cluster.js';
import { DERIVED, onGpu, parseProm, promValue, readCapture, realXidLine } from '../agent/sim.js';

const XID13 = realXidLine(path.join(DERIVED, 'dmesg-xid-classes.txt'), 13);
const h100 = readCapture(H100_XML);

let seq = 100;
/** A dmesg line as a /dev/kmsg record written now (its time from boot: the machine's uptime). */
function kmsgNow(line: string): string {
  return `3,${seq++},${Math.round(os.uptime() * 1e6)},-;${line.replace(/^\[[^\]]*\]\s*/, '')}\n`;
}

/** The real XID 13 line, naming GPU `gpu` of the capture and process `pid` called `name`. */
function xidLine(xid: 13 | 45, gpu: number, pid: number, name: string): string {
  let line = onGpu(XID13, h100.gpus[gpu]!.busId).replace(/pid=\d+, name=[^,]+,/, `pid=${pid}, name=${name},`);
  // Derived: XID 45 (preemptive cleanup) in the same format; the driver's text for it.
  if (xid === 45) line = line.replace(/\): 13, /, '): 45, ').replace(/, [^,]*$/, ', Ch 00000010, engmask 00000101, intr 10000000');
  return line;
}

t.test('application XIDs on a one-node cluster', async (t) => {
  // Requeued jobs wait a minute before their next try: the requeue and its message stay to be seen.
  const sched = await startScheduler(t, { extraArgs: ['--set', 'jobs.cycleIntervalMs=200', '--set', 'jobs.requeueInitialMs=60000', '--set', 'jobs.requeueMaxMs=60000', '--set', 'jobs.stopSlackMs=2000'] });
  const env = { GANTRY_SCHEDULER_ADDRESS: sched.address };
  const dir = tempDir(t, 'gantry-appxid-');
  const kmsg = path.join(dir, 'kmsg');
  writeFileSync(kmsg, '');
  const agent = await startAgent(t, 'xid-01', sched.address, {
    extraArgs: ['--set', 'collectors.kernelLog.enabled=true', '--set', `collectors.kernelLog.path=${kmsg}`, '--collect-interval-ms', '500'],
  });
  await waitFor('a ready node', async () => (await listNodes(sched.address)).some((n) => n.connectivity === 'ready'));
  const submit = specSubmitter(t, dir, env);
  const get = (id: string) => getJob(sched.address, id);
  const agentMetric = async (labels: Record<string, string>) => promValue(parseProm(await httpGet(`http://127.0.0.1:${agent.metricsPort}/metrics`)).samples, 'gantry_agent_job_faults_total', labels) ?? 0;
  /** A job whose ranks write their pid to <dir>/<name>-<rank>.pid and sleep (exec: the pid is the rank's). */
  const sleeper = (name: string, ranks: number) =>
    submit(name, `kind: Training\nname: ${name}\nranks: ${ranks}\ngpusPerRank: 1\nmaxRetries: 1\npreemptGraceSeconds: 1\ncommand: ["bash", "-c", "echo $$ > ${dir}/${name}-$RANK.pid; exec sleep 600"]\n`);
  const pidOf = (name: string, rank: number) => waitFor(`${name} rank ${rank}'s pid`, () => {
    try {
      return Number(readFileSync(path.join(dir, `${name}-${rank}.pid`), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  });

  t.test("XID 13 from a running rank's process: the job is requeued naming it; the node stays schedulable", async (t) => {
    const id = await sleeper('bad-kernel', 2);
    await waitFor(`${id} running`, async () => (await get(id)).state === 'running', 20_000);
    const pid = await pidOf('bad-kernel', 1);
    const gpu = (await get(id)).ranks.find((r) => r.rank === 1)!.gpus[0]!;
    appendFileSync(kmsg, kmsgNow(xidLine(13, gpu, pid, 'sleep')));
    const j = await waitFor(`${id} requeued`, async () => {
      const v = await get(id);
      return v.state === 'requeued' ? v : undefined;
    }, 15_000);
    t.equal(j.message, `rank 1 on xid-01 hit XID 13 on GPU ${gpu} (pid ${pid}); requeued (retry 1 of 1)`, 'requeued with the XID in its message');
    t.equal(j.attempt, 1, 'a retry used');
    t.match(j.faults, [{ xid: 13, rank: 1, epoch: 1, node: 'xid-01', gpu, pid, processName: 'sleep', evidence: /^Xid 13 on PCI/ }], 'the fault on the job');
    t.equal(j.faults!.length, 1, 'once');
    const text = (await cli(['job', id], env)).stdout;
    t.match(text, new RegExp(`^faults:\\n  XID 13 on rank 1 \\(node xid-01, GPU ${gpu}, pid ${pid} sleep\\) at \\d{4}-`, 'm'), 'gantry job shows which XID hit which rank');
    const node = (await listNodes(sched.address)).find((n) => n.name === 'xid-01')!;
    t.equal(node.schedulability, 'schedulable', 'the node is not cordoned');
    t.equal(node.health, 'ok', 'nor unhealthy: the XID is the job\'s');
    t.equal(await agentMetric({ xid: '13', result: 'attributed' }), 1, 'the agent counts it attributed');
    const sm = parseProm(await httpGet(`http://127.0.0.1:${sched.metricsPort}/metrics`)).samples;
    t.equal(promValue(sm, 'gantry_scheduler_job_faults_total', { xid: '13' }), 1, 'the scheduler counts it');
    // The ranks were stopped by the requeue: their kill's XID 45s are ignored, and the job keeps one fault.
    appendFileSync(kmsg, kmsgNow(xidLine(45, gpu, pid, 'sleep')));
    await waitFor('the XID 45 of the stopped rank ignored', async () => (await agentMetric({ xid: '45', result: 'ignored-stopping' })) === 1, 10_000);
    t.equal((await get(id)).faults!.length, 1, 'still one fault on the job');
    await cli(['cancel', id], env);
  });

  t.test('the rank dies of the XID first, then the message is read: one requeue, naming the XID', async (t) => {
    // The rank exits 1 by itself once told to (as a process killed by a CUDA error does); the
    // agent still knows its pid after the exit, and the job's requeue for the exit takes the XID.
    const die = path.join(dir, 'die');
    const id = await submit('dies-first', `kind: Training\nname: dies-first\nranks: 1\ngpusPerRank: 1\nmaxRetries: 1\npreemptGraceSeconds: 1\ncommand: ["bash", "-c", "echo $$ > ${dir}/dies-first-$RANK.pid; while [ ! -f ${die} ]; do sleep 0.1; done; exit 1"]\n`);
    await waitFor(`${id} running`, async () => (await get(id)).state === 'running', 20_000);
    const pid = await pidOf('dies-first', 0);
    const gpu = (await get(id)).ranks[0]!.gpus[0]!;
    writeFileSync(die, '');
    const exited = await waitFor(`${id} requeued for the exit`, async () => {
      const v = await get(id);
      return v.state === 'requeued' ? v : undefined;
    }, 15_000);
    t.match(exited.message, /exited with code 1; requeued \(retry 1 of 1\)/, 'first requeued for the exit');
    appendFileSync(kmsg, kmsgNow(xidLine(13, gpu, pid, 'bash')));
    const j = await waitFor(`${id}'s requeue naming the XID`, async () => {
      const v = await get(id);
      return v.faults?.length ? v : undefined;
    }, 10_000);
    t.equal(j.state, 'requeued');
    t.equal(j.attempt, 1, 'one retry used, not two');
    t.equal(j.message, `rank 0 on xid-01 hit XID 13 on GPU ${gpu} (pid ${pid}); requeued (retry 1 of 1)`, 'the requeue names the XID');
    t.match(j.faults, [{ xid: 13, rank: 0, pid, processName: 'bash' }]);
    await cli(['cancel', id], env);
  });

  t.test('XID 45 from a rank of a job Gantry cancelled: ignored', async (t) => {
    const id = await sleeper('cancelled', 1);
    await waitFor(`${id} running`, async () => (await get(id)).state === 'running', 20_000);
    const pid = await pidOf('cancelled', 0);
    const gpu = (await get(id)).ranks[0]!.gpus[0]!;
    t.equal((await cli(['cancel', id], env)).code, 0);
    await waitFor(`${id}'s rank gone`, async () => (await get(id)).ranks[0]?.state === 'exited', 15_000);
    const before = await agentMetric({ xid: '45', result: 'ignored-stopping' });
    appendFileSync(kmsg, kmsgNow(xidLine(45, gpu, pid, 'sleep')));
    await waitFor('the XID 45 ignored', async () => (await agentMetric({ xid: '45', result: 'ignored-stopping' })) === before + 1, 10_000);
    t.equal(await agentMetric({ xid: '45', result: 'attributed' }), 0, 'not sent as a fault');
    const j = await get(id);
    t.equal(j.state, 'cancelled');
    t.same(j.faults, [], 'no fault on the job');
  });
});
