/**
 * Incidents, failed prologs and the circuit breaker (issue 20), against a real scheduler child over
 * real gRPC, with fake agents on the Connect stream (they register GPUs, report, and answer each
 * StartTask as the test says):
 * - a NodeIncident (gpu-clean, naming leftover pids and users) drains its node with the reason, and
 *   a node event carries the leftovers; a bad incident (an unknown source) closes the stream with
 *   INVALID_ARGUMENT naming the field;
 * - the circuit breaker (health.maxAutoDrainShare) holds back a second node's drain while one is
 *   out: a breaker event, the gauge at 1, the counter; once the first is uncordoned, the held drain is taken;
 * - prolog-failed refusals on 3 nodes: the job is requeued elsewhere each time without a retry, then
 *   held with the nodes named (`gantry job`, `gantry jobs`); `gantry release` lets it run.
 */
import t, { type Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadGantryProto, type AgentMessage, type SchedulerMessage__Output, type WatchEventsResponse__Output } from '../../shared/proto/index.js';
import { emptyInventory, type NodeRecord } from '../../shared/domain/index.js';
import { eventFromPb, inventoryToPb } from '../../shared/wire/index.js';
import { schedulerClient } from '../../shared/cli/client.js';
import type { GantryEvent } from '../../shared/events/index.js';
import { gantryCli, httpGet, jobView, listNodes, startScheduler, tempDir, waitFor } from '../harness/cluster.js';
import { gpuInfo } from '../builders/inventory.js';

const { proto } = loadGantryProto();

type Status = NonNullable<NonNullable<AgentMessage['taskUpdate']>['status']>;

interface FakeAgent {
  name: string;
  /** StartTasks received: `jobId/rank/epoch`. */
  starts: string[];
  send(m: AgentMessage): void;
  /** How the stream ended ('' while open). */
  ended(): string;
}

/**
 * A fake agent: registers `gpus` GPUs, reports every 200 ms, and answers each StartTask with the
 * status `answer` returns (undefined: nothing).
 */
async function fakeAgent(t: Test, address: string, name: string, gpus: number, answer: (st: { jobId: string; rank: number; epoch: number }, nth: number) => Partial<Status> | undefined): Promise<FakeAgent> {
  const client = new proto.gantry.v1.AgentService(address, grpc.credentials.createInsecure());
  const call = client.Connect();
  let ended = '';
  const starts: string[] = [];
  const inv = emptyInventory(name);
  for (let i = 0; i < gpus; i++) inv.gpus.push(gpuInfo(i, { uuid: `GPU-${name}-${i}` }));
  const registered = new Promise<void>((resolve) => {
    call.on('data', (m: SchedulerMessage__Output) => {
      if (m.registered) resolve();
      const st = m.startTask;
      if (st) {
        const task = { jobId: st.jobId, rank: st.rank, epoch: Number(st.epoch) };
        starts.push(`${task.jobId}/${task.rank}/${task.epoch}`);
        const status = answer(task, starts.length);
        if (status) call.write({ taskUpdate: { status: { ...task, exitCode: 0, signal: '', message: '', ...status } } });
      }
    });
  });
  call.on('error', (e: grpc.ServiceError) => (ended ||= `${grpc.status[e.code]}: ${e.details}`));
  call.on('end', () => (ended ||= 'ended'));
  call.write({ register: { nodeName: name, agentVersion: 'fake', address: '127.0.0.1', inventory: inventoryToPb(inv), allowRoot: true } });
  await registered;
  let seq = 0;
  const timer = setInterval(() => {
    if (!ended) call.write({ report: { seq: ++seq, inventoryChanged: false, verdictsChanged: false } });
  }, 200);
  t.teardown(() => {
    clearInterval(timer);
    call.cancel();
    client.close();
  });
  return { name, starts, send: (m) => call.write(m), ended: () => ended };
}

/** Node events as WatchEvents streams them, from now on. */
function watchNodeEvents(t: Test, address: string): GantryEvent[] {
  const client = schedulerClient(address);
  const got: GantryEvent[] = [];
  const call = client.WatchEvents({ kind: 'node' }) as grpc.ClientReadableStream<WatchEventsResponse__Output>;
  call.on('data', (m: WatchEventsResponse__Output) => got.push(eventFromPb(m)));
  call.on('error', () => undefined);
  t.teardown(() => {
    call.cancel();
    client.close();
  });
  return got;
}

const node = async (address: string, name: string): Promise<NodeRecord> => (await listNodes(address)).find((n) => n.name === name)!;

async function metric(port: number, line: string): Promise<number> {
  const found = (await httpGet(`http://127.0.0.1:${port}/metrics`)).split('\n').find((l) => l.startsWith(`${line} `));
  return Number(found?.split(' ')[1]);
}

async function cli(t: Test, args: string[]): Promise<string> {
  const r = await gantryCli(args);
  t.equal(r.code, 0, `gantry ${args.join(' ')} exits 0`, { stderr: r.stderr });
  return r.stdout;
}

t.test('a NodeIncident drains its node with the reason and an event; the breaker holds back a second drain', async (t) => {
  // Two nodes at 0.1: at most one may be out.
  const sched = await startScheduler(t, { lostAfterMs: 60_000, extraArgs: ['--set', 'health.maxAutoDrainShare=0.1'] });
  const events = watchNodeEvents(t, sched.address);
  const a = await fakeAgent(t, sched.address, 'inc-a', 2, () => undefined);
  const b = await fakeAgent(t, sched.address, 'inc-b', 2, () => undefined);
  await waitFor('both nodes ready', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 2);
  t.equal(await metric(sched.metricsPort, 'gantry_scheduler_health_breaker_open'), 0, 'the breaker is closed');

  const reason = 'pid 4242 (alice) left on GPU 1: 2048 MiB in use after job train-7';
  a.send({ incident: { source: 'gpu-clean', jobId: 'train-7', reason, leftovers: [{ pid: 4242, user: 'alice', name: 'python', gpu: 1, usedMemoryBytes: 2 ** 31 }], atUnixMs: Date.now() } });
  const drained = await waitFor('inc-a draining', async () => {
    const n = await node(sched.address, 'inc-a');
    return n.schedulability === 'draining' ? n : undefined;
  });
  t.equal(drained.schedulabilityReason, `health: gpu-clean: ${reason}`, 'the reason names the source and what was left');
  t.notOk(drained.drainDeadlineMs, 'no deadline: its gangs finish');
  const ev = await waitFor('the incident event', () => events.find((e) => e.kind === 'node' && e.type === 'incident'));
  t.match(ev, { node: 'inc-a', source: 'gpu-clean', jobId: 'train-7', reason, leftovers: [{ pid: 4242, user: 'alice', name: 'python', gpu: 1, usedMemoryBytes: 2 ** 31 }] });
  t.equal(await metric(sched.metricsPort, 'gantry_scheduler_node_incidents_total{source="gpu-clean"}'), 1, 'counted by source');

  // The same incident again: the node is already out, nothing changes (idempotent).
  a.send({ incident: { source: 'epilog', jobId: 'train-7', reason: 'epilog exited 3', leftovers: [], atUnixMs: Date.now() } });
  await waitFor('the second incident counted', async () => (await metric(sched.metricsPort, 'gantry_scheduler_node_incidents_total{source="epilog"}')) === 1);
  t.equal((await node(sched.address, 'inc-a')).schedulabilityReason, `health: gpu-clean: ${reason}`, 'the first reason stays');

  // A second node's incident: 2 of 2 would be out, more than 0.1 allows: held back.
  b.send({ incident: { source: 'epilog', jobId: 'train-8', reason: 'epilog exited 1', leftovers: [], atUnixMs: Date.now() } });
  const breaker = await waitFor('the breaker event', () => events.find((e) => e.kind === 'node' && e.type === 'breaker'));
  t.match(breaker, { node: 'inc-b', action: 'drain', wanted: 'health: epilog: epilog exited 1', why: '2 of 2 nodes would be out, more than health.maxAutoDrainShare 0.1 allows (1)' });
  t.equal((await node(sched.address, 'inc-b')).schedulability, 'schedulable', 'inc-b is not drained');
  t.equal(await metric(sched.metricsPort, 'gantry_scheduler_health_breaker_open'), 1, 'the gauge says the breaker holds something back');
  t.equal(await metric(sched.metricsPort, 'gantry_scheduler_health_breaker_held_back_total{action="drain"}'), 1);

  // The operator brings inc-a back: at inc-b's next report the held drain is taken.
  await cli(t, ['uncordon', 'inc-a', '--scheduler', sched.address]);
  const later = await waitFor('inc-b drained once inc-a is back', async () => {
    const n = await node(sched.address, 'inc-b');
    return n.schedulability === 'draining' ? n : undefined;
  });
  t.equal(later.schedulabilityReason, 'health: epilog: epilog exited 1');
  await waitFor('the breaker closed', async () => (await metric(sched.metricsPort, 'gantry_scheduler_health_breaker_open')) === 0);

  // A bad incident is bad agent input: the stream ends with INVALID_ARGUMENT naming the field.
  a.send({ incident: { source: 'cosmic-rays', jobId: '', reason: 'x', leftovers: [], atUnixMs: 0 } });
  const end = await waitFor('the bad stream closed', () => a.ended() || undefined);
  t.match(end, /^INVALID_ARGUMENT: incident\.source: must be one of prolog, epilog, gpu-clean/);
  t.equal(sched.child.proc.exitCode, null, 'the scheduler is up');
});

t.test('prolog failures on 3 nodes hold the job; gantry release lets it run', async (t) => {
  const sched = await startScheduler(t, { lostAfterMs: 60_000, extraArgs: ['--set', 'health.maxAutoDrainShare=1'] });
  const dir = tempDir(t, 'gantry-prolog-');
  // Each node's prolog fails for the first task it is given; later ones run.
  const agents: FakeAgent[] = [];
  for (const name of ['pro-a', 'pro-b', 'pro-c', 'pro-d']) {
    agents.push(await fakeAgent(t, sched.address, name, 1, (_task, nth) => (nth === 1 && name !== 'pro-d' ? { state: 'TASK_STATE_FAILED_TO_START', refusal: 'prolog-failed', message: `prolog exited 1 on ${name}: nvidia-smi -r failed` } : { state: 'TASK_STATE_RUNNING' })));
  }
  await waitFor('four nodes ready', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 4);
  // pro-d takes the job only once the others failed it: cordoned until then.
  await cli(t, ['cordon', 'pro-d', '--reason', 'kept for later', '--scheduler', sched.address]);
  const spec = path.join(dir, 'p.yaml');
  writeFileSync(spec, 'kind: Training\nname: pro\nranks: 1\ngpusPerRank: 1\nmaxRetries: 0\ncommand: [sleep, "300"]\n');
  const sub = await gantryCli(['submit', spec, '--scheduler', sched.address]);
  t.equal(sub.code, 0, sub.stderr);
  const id = sub.stdout.trim().split(' ').at(-1)!;

  // Requeued at once, then pending at the next cycle, held.
  const held = await waitFor('the job held', async () => {
    const j = await jobView(sched.address, id);
    return j.held && j.state === 'pending' ? j : undefined;
  }, 30_000);
  const failedOn = agents.slice(0, 3).filter((a) => a.starts.length > 0).map((a) => a.name);
  t.equal(failedOn.length, 3, `its prolog failed on three nodes (${failedOn.join(', ')})`);
  t.equal(held.attempt, 0, 'no retry used');
  t.same([...(held.prologFailedOn ?? [])].sort(), ['pro-a', 'pro-b', 'pro-c']);
  t.match(held.held, /^prolog failed on pro-[abc], pro-[abc], pro-[abc]: prolog exited 1 on pro-[abc]: nvidia-smi -r failed; held until released \(gantry release pro-\d+\)$/);
  for (const a of agents.slice(0, 3)) {
    t.equal(a.starts.length, 1, `${a.name} was tried once`);
    t.equal((await node(sched.address, a.name)).schedulability, 'draining', `${a.name} drained for its prolog`);
    t.match((await node(sched.address, a.name)).schedulabilityReason, /^health: prolog: prolog exited 1 on pro-[abc]/);
  }
  await cli(t, ['uncordon', 'pro-d', '--scheduler', sched.address]);
  // Held: not scheduled although pro-d is free now (a few cycles go by).
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(agents[3]!.starts.length, 0, 'a held job is not placed');
  t.match(await cli(t, ['job', id, '--scheduler', sched.address]), /^held\s+prolog failed on .*held until released/m, 'gantry job shows why it is held');
  t.match(await cli(t, ['jobs', '--scheduler', sched.address]), new RegExp(`${id}\\s+Training\\s+\\S+\\s+\\d+\\s+pending \\(held\\)`), 'gantry jobs marks it held');

  t.match(await cli(t, ['release', id, '--scheduler', sched.address]), new RegExp(`^${id} pending: released by `));
  const ran = await waitFor('the released job runs', async () => {
    const j = await jobView(sched.address, id);
    return j.state === 'running' ? j : undefined;
  }, 30_000);
  t.equal(ran.ranks[0]!.node, 'pro-d', 'on the node whose prolog works');
  t.notOk(ran.held, 'no longer held');
  const again = await gantryCli(['release', id, '--scheduler', sched.address]);
  t.not(again.code, 0, 'releasing a job that is not held is refused');
  t.match(again.stderr, /is not held/);
});
