/**
 * The agent's own message size limit (issue 18, point 1: scheduler.maxReceiveMessageBytes), as
 * behaviour: a fake scheduler (a gRPC server implementing AgentService) registers a real agent
 * started with the limit at 64 KiB, starts one rank, then sends a StartTask of about 100 KiB (a
 * command argument of 100,000 bytes) on the Connect stream. The agent must refuse it unread: its
 * gRPC client fails the stream with RESOURCE_EXHAUSTED ("larger than max"), which it logs as the
 * reason it disconnected, and the fake scheduler sees the stream end. Then it must not crash,
 * must reconnect and re-announce the rank it runs, must not start the oversized task, and must
 * keep the running rank and its task record. A StartTask just under the limit (about 60 KiB) is
 * carried out, on the new stream.
 */
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadGantryProto, type AgentMessage__Output, type SchedulerMessage } from '../../shared/proto/index.js';
import { startAgent, tempDir, waitFor } from '../harness/cluster.js';

const { proto } = loadGantryProto();
const LIMIT = 65_536;

t.test("the agent refuses a command over its message limit, reconnects, and loses nothing", async (t) => {
  const dir = tempDir(t, 'gantry-agent-limits-');
  const starts = path.join(dir, 'starts');
  mkdirSync(starts);
  const streams: Array<{ call: grpc.ServerDuplexStream<AgentMessage__Output, SchedulerMessage>; ended: string | undefined; announced: string[] }> = [];
  const running = new Set<string>();
  const server = new grpc.Server();
  server.addService(proto.gantry.v1.AgentService.service, {
    Connect: (call: grpc.ServerDuplexStream<AgentMessage__Output, SchedulerMessage>) => {
      const s = { call, ended: undefined as string | undefined, announced: [] as string[] };
      call.on('data', (m: AgentMessage__Output) => {
        if (m.register) {
          s.announced = m.register.tasks.map((x) => `${x.jobId}.${x.rank}.${x.epoch}:${x.state}`);
          streams.push(s);
          call.write({ registered: { schedulerId: 'fake', reportIntervalMs: 250 } });
        }
        const st = m.taskUpdate?.status;
        if (st?.state === 'TASK_STATE_RUNNING') running.add(`${st.jobId}.${st.rank}.${st.epoch}`);
      });
      call.on('error', (e: grpc.ServiceError) => (s.ended ??= `error ${grpc.status[e.code]}`));
      call.on('cancelled', () => (s.ended ??= 'cancelled'));
      call.on('end', () => {
        s.ended ??= 'ended';
        call.end();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  const agent = await startAgent(t, 'node-lim', `127.0.0.1:${port}`, {
    extraArgs: ['--set', `scheduler.maxReceiveMessageBytes=${LIMIT}`, '--set', 'reconnect.initialDelayMs=100', '--set', 'reconnect.maxDelayMs=500'],
  });
  await waitFor('the agent registered', () => streams.length === 1, 30_000);
  const first = streams[0]!;

  // Each rank appends a line to its own file when it starts: a start is counted, a second one seen.
  const start = (jobId: string, padBytes: number): SchedulerMessage => ({
    startTask: { jobId, rank: 0, epoch: 1, gpus: [0], graceSeconds: 1, env: { FZ_STARTS: starts, FZ_KEY: jobId }, command: ['sh', '-c', 'echo $$ >> "$FZ_STARTS/$FZ_KEY"; exec sleep 120', 'x'.repeat(padBytes)] },
  });
  first.call.write(start('lim-small', 0));
  await waitFor('lim-small running', () => running.has('lim-small.0.1'), 30_000);

  const big = start('lim-big', 100_000);
  t.ok(proto.gantry.v1.SchedulerMessage.serialize(big).length > LIMIT, `the StartTask is over ${LIMIT} bytes (${proto.gantry.v1.SchedulerMessage.serialize(big).length})`);
  first.call.write(big);

  await waitFor('the agent registered again', () => streams.length === 2, 30_000);
  t.ok(first.ended !== undefined, `the first stream ended (${first.ended})`);
  const log = await agent.child.waitForLog('disconnected from the scheduler', 5000);
  t.match(String(log['reason']), /RESOURCE_EXHAUSTED|larger than max/i, `the agent says why: ${String(log['reason'])}`);
  t.equal(agent.child.proc.exitCode, null, 'the agent did not crash');
  t.ok(streams[1]!.announced.some((a) => a.startsWith('lim-small.0.1:')), `it re-announced the running rank (${streams[1]!.announced.join(', ')})`);
  t.notOk(streams[1]!.announced.some((a) => a.startsWith('lim-big.')), 'and nothing of the oversized task');

  // Just under the limit is carried out, on the new stream.
  const under = start('lim-under', LIMIT - 4000);
  t.ok(proto.gantry.v1.SchedulerMessage.serialize(under).length < LIMIT, 'a StartTask under the limit');
  streams[1]!.call.write(under);
  await waitFor('lim-under running', () => running.has('lim-under.0.1'), 30_000);
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(streams.length, 2, 'no further reconnect');

  t.same(readdirSync(starts).sort(), ['lim-small', 'lim-under'], 'the oversized task never started');
  t.equal(readFileSync(path.join(starts, 'lim-small'), 'utf8').trim().split('\n').length, 1, 'lim-small started once, and kept running across the reconnect');
  const tasks = path.join(agent.stateDir, 'tasks');
  t.ok(existsSync(path.join(tasks, 'lim-small', '0', '1', 'spec.json')), "lim-small's task record is kept");
  t.notOk(existsSync(path.join(tasks, 'lim-big')), 'no record of lim-big');
});
