/**
 * The agent protocol fuzzed from the scheduler's side (issue 18, point 4): a fake scheduler (a gRPC
 * server implementing AgentService) accepts the real agent's registration, then sends it seeded,
 * malformed, duplicated and out-of-order commands: StartTask twice with the same epoch, StopTask
 * before StartTask, ReadLog for unknown tasks and huge offsets, junk job ids (path traversal, NUL),
 * env, gpus, runAs, workdir, commands, deadlines and limits. The agent must not crash, must not start any rank twice
 * (each rank appends a line to its own file when it starts), must keep a task record for every rank
 * it reported, and must write nothing outside its state dir.
 */
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadGantryProto, type AgentMessage__Output, type SchedulerMessage } from '../../shared/proto/index.js';
import { processesMentioning } from '../../shared/procs/index.js';
import { startAgent, tempDir, waitFor } from '../harness/cluster.js';
import { rng } from '../builders/prng.js';

const SEED = Number(process.env.GANTRY_FUZZ_SEED ?? 18_004);
const COMMANDS = 1500;

const { proto } = loadGantryProto();

const JUNK_IDS = ['', '.', '..', '../../fz-escape', 'a/b', 'a\u0000b', 'x'.repeat(200), 'ノード', '\u001b[31m'];
const JUNK_NUMBERS = [-1, 2 ** 32 - 1, 2 ** 53, 4e9, 0.5];

t.test('the agent protocol fuzzed from a fake scheduler', async (t) => {
  const dir = tempDir(t, 'gantry-cmd-fuzz-');
  const starts = path.join(dir, 'starts');
  mkdirSync(starts);
  const updates: AgentMessage__Output['taskUpdate'][] = [];
  const chunks = new Map<string, NonNullable<AgentMessage__Output['logChunk']>>();
  let stream: grpc.ServerDuplexStream<AgentMessage__Output, SchedulerMessage> | undefined;
  let registrations = 0;
  const server = new grpc.Server();
  server.addService(proto.gantry.v1.AgentService.service, {
    Connect: (call: grpc.ServerDuplexStream<AgentMessage__Output, SchedulerMessage>) => {
      call.on('data', (m: AgentMessage__Output) => {
        if (m.register) {
          registrations++;
          stream = call;
          call.write({ registered: { schedulerId: 'fake', reportIntervalMs: 250 } });
        } else if (m.taskUpdate) updates.push(m.taskUpdate);
        else if (m.logChunk) chunks.set(m.logChunk.requestId, m.logChunk);
      });
      call.on('error', () => {});
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  const agent = await startAgent(t, 'node-f', `127.0.0.1:${port}`);
  await waitFor('the agent registered', () => stream !== undefined, 30_000);

  const r = rng(SEED);
  // Valid keys: few, so starts, duplicates and stops collide often.
  const keys = Array.from({ length: 12 }, (_, i) => ({ jobId: `fz-${i % 4}`, rank: Math.floor(i / 4) % 2, epoch: 1 + (i % 3) }));
  const keyName = (k: { jobId: string; rank: number; epoch: number }): string => `${k.jobId}.${k.rank}.${k.epoch}`;
  const rankCommand = ['sh', '-c', 'echo $$ >> "$FZ_STARTS/$FZ_KEY"; exec sleep 120'];
  const commands: SchedulerMessage[] = [];
  for (let i = 0; i < COMMANDS; i++) {
    const k = r.pick(keys);
    let m: SchedulerMessage;
    switch (r.int(0, 5)) {
      case 0:
      case 1: {
        // StartTask, mostly valid; junk in one field now and then.
        const start: NonNullable<SchedulerMessage['startTask']> = { ...k, command: rankCommand, env: { FZ_STARTS: starts, FZ_KEY: keyName(k) }, gpus: [0], graceSeconds: 1 };
        const junk = r.chance(0.4) ? r.int(0, 9) : -1;
        if (junk === 0) start.jobId = r.pick(JUNK_IDS);
        if (junk === 1) start.gpus = [r.pick(JUNK_NUMBERS), 0, 0];
        if (junk === 2) start.runAs = r.pick(['root', 'no-such-user', '../x', 'a\u0000b', 'x'.repeat(300)]);
        if (junk === 3) start.env = { ...start.env, [r.pick(['A=B', '', 'X\u0000Y'])]: 'v', ...(r.chance(0.3) ? Object.fromEntries(Array.from({ length: 5000 }, (_, j) => [`K${j}`, 'v'])) : {}) };
        if (junk === 4) start.command = r.pick([[], [''], ['x'.repeat(70_000)], ['/nonexistent/bin']]);
        if (junk === 5) start.workdir = r.pick(['/nonexistent', 'relative', '../../', 'a\u0000b']);
        if (junk === 6) start.graceSeconds = r.pick(JUNK_NUMBERS);
        if (junk === 7) start.slo = { service: r.pick(JUNK_IDS), metric: '', port: r.pick(JUNK_NUMBERS), windowMs: 0, replica: 0 };
        // A deadline and limits (issue 19): junk ones refuse the start naming the field.
        if (junk === 8) start.deadlineUnixMs = r.pick([...JUNK_NUMBERS, -(2 ** 53), Date.now() * 1000]);
        if (junk === 9) start.resources = { memoryBytes: r.pick([...JUNK_NUMBERS, 2 ** 63]), maxProcesses: r.pick(JUNK_NUMBERS), cpuBinding: r.pick(['numa', 'none', '', 'socket', 'a\u0000b']) };
        m = { startTask: start };
        break;
      }
      case 2:
        m = { stopTask: { ...k, jobId: r.chance(0.2) ? r.pick(JUNK_IDS) : k.jobId, graceSeconds: r.pick([0, 1, ...JUNK_NUMBERS]), reason: 'fuzz' } };
        break;
      case 3:
        m = { readLog: { requestId: `rl-${i}`, jobId: r.chance(0.3) ? r.pick(JUNK_IDS) : r.chance(0.5) ? k.jobId : 'unknown', rank: r.pick([k.rank, ...JUNK_NUMBERS]), epoch: r.pick([0, k.epoch, 2 ** 53]), offset: r.pick([0, 10, 2 ** 53]), maxBytes: r.pick([0, 1, 2 ** 32 - 1]) } };
        break;
      case 4:
        m = { latencyPeers: { peers: [{ node: r.pick(JUNK_IDS), address: r.pick(['', 'not-an-ip', '127.0.0.1']), port: r.pick(JUNK_NUMBERS) }] } };
        break;
      default:
        m = { registered: { schedulerId: 'again', reportIntervalMs: r.pick([0, 1, 2 ** 32 - 1]) } };
    }
    commands.push(m);
    // Duplicated, back to back.
    if (r.chance(0.15)) commands.push(m);
  }
  let sent = 0;
  let unencodable = 0;
  for (const m of commands) {
    try {
      stream!.write(m);
      sent++;
    } catch {
      unencodable++;
    }
    if (sent % 100 === 0) await new Promise((res) => setImmediate(res));
  }
  const readLogs = commands.filter((m) => m.readLog).length;
  // Every ReadLog is answered (with data or an error), so when the last is in, the agent has taken in every command.
  await waitFor('every ReadLog answered', () => commands.every((m) => !m.readLog || chunks.has(m.readLog.requestId!)), 45_000);
  await new Promise((res) => setTimeout(res, 1500)); // starts in flight settle
  t.comment(`seed ${SEED}: ${sent} commands sent (${unencodable} unencodable), ${readLogs} log reads answered, ${updates.length} task updates, ${registrations} registration(s)`);
  t.ok(sent >= 1500, `at least 1,500 commands (${sent})`);
  t.equal(agent.child.proc.exitCode, null, 'the agent is up');
  t.equal(registrations, 1, 'on its one stream: it never had to reconnect');

  // No rank started twice: each start appended a line to its key's file.
  const started = readdirSync(starts);
  for (const f of started) t.equal(readFileSync(path.join(starts, f), 'utf8').trim().split('\n').length, 1, `${f} started once`);
  t.ok(started.length > 0, `some ranks ran (${started.length})`);

  // Every rank it reported has its record in the state dir.
  const tasks = path.join(agent.stateDir, 'tasks');
  const reported = new Set(updates.filter((u) => u?.status && u.status.state !== 'TASK_STATE_FAILED_TO_START').map((u) => `${u!.status!.jobId}.${u!.status!.rank}.${u!.status!.epoch}`));
  for (const k of reported) {
    const [jobId, rank, epoch] = k.split('.');
    t.ok(existsSync(path.join(tasks, jobId!, rank!, epoch!, 'spec.json')), `${k}: its task record is kept`);
  }
  for (const f of started) t.ok(reported.has(f), `${f}: a started rank was reported`);
  // Each running rank has one supervisor.
  for (const f of started) {
    const [jobId, rank, epoch] = f.split('.');
    t.ok(processesMentioning(path.join(tasks, jobId!, rank!, epoch!) + '/').length <= 1, `${f}: at most one supervisor`);
  }
  t.notOk(existsSync(path.join(agent.stateDir, 'fz-escape')) || existsSync(path.join(path.dirname(agent.stateDir), 'fz-escape')), 'nothing written outside the state dir');
});
