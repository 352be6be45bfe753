/**
 * The agent protocol fuzzed from the agent's side (issue 18, point 4): a fake agent sends seeded,
 * malformed and out-of-order messages on Connect (a report before the register, two registers with
 * different names, task updates for unknown tasks and for a real job's rank from the wrong node, log
 * chunks for unknown requests, huge and negative numbers, junk names, random bytes) through a raw
 * client with a passthrough serializer. Every stream ends with a final empty message, so every stream
 * must be answered with a status. The scheduler must stay up, the real agent's node ready and its job
 * running, and every registration it acknowledged stored.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadGantryProto, type AgentMessage } from '../../shared/proto/index.js';
import { emptyInventory } from '../../shared/domain/index.js';
import { inventoryToPb } from '../../shared/wire/index.js';
import { gantryCli, httpGet, jobView, listNodes, startAgent, startScheduler, tempDir, waitFor } from '../harness/cluster.js';
import { gpuInfo } from '../builders/inventory.js';
import { jobYaml } from '../builders/job.js';
import { rng, type Rng } from '../builders/prng.js';

const SEED = Number(process.env.GANTRY_FUZZ_SEED ?? 18_004);
/** Streams, each of 1-5 messages plus the final empty one. */
const STREAMS = 1200;
const CONCURRENCY = 24;

const { proto } = loadGantryProto();
const connectDef = (proto.gantry.v1.AgentService as unknown as { service: { Connect: grpc.MethodDefinition<AgentMessage, unknown> } }).service.Connect;
const encode = (m: AgentMessage): Buffer => connectDef.requestSerialize(m);
const RawClient = grpc.makeGenericClientConstructor(
  { Connect: { path: connectDef.path, requestStream: true, responseStream: true, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } },
  'RawAgentService',
);

const JUNK_STRINGS = ['', 'x'.repeat(300), '../../etc/passwd', 'a\u0000b', '\u001b[31mred', 'line\nbreak', 'ノード', 'fz-😀', 'x'.repeat(70_000)];
const JUNK_NUMBERS = [-1, -(2 ** 31), 2 ** 32 - 1, 2 ** 53, 4e9, 0.5, 1e300];

function inventory(r: Rng): AgentMessage['register'] extends infer R ? (R extends { inventory?: infer I } ? I : never) : never {
  const inv = emptyInventory('fz');
  const n = r.chance(0.05) ? r.pick([1025, 2000]) : r.int(0, 8);
  for (let i = 0; i < n; i++) inv.gpus.push(gpuInfo(i));
  const pb = inventoryToPb(inv);
  if (r.chance(0.3) && pb.gpus!.length > 0) {
    const g = r.pick(pb.gpus!);
    const what = r.int(0, 4);
    if (what === 0) g.index = r.pick(JUNK_NUMBERS);
    else if (what === 1) g.memoryMib = r.pick([2 ** 63, 2 ** 53, -1]);
    else if (what === 2) g.vendor = r.pick(JUNK_STRINGS);
    else if (what === 3) g.uuid = r.pick(JUNK_STRINGS);
    else g.numaNode = r.pick(JUNK_NUMBERS);
  }
  if (r.chance(0.1)) pb.topology!.domains = { [r.pick(['leaf', 'spine', 'x'])]: r.pick(JUNK_STRINGS) };
  if (r.chance(0.05)) pb.topology!.linkGroups = [{ kind: r.pick(['nvlink', 'bogus']), gpus: [0, r.pick(JUNK_NUMBERS)] }];
  return pb;
}

function register(r: Rng, name: string): AgentMessage {
  return {
    register: {
      nodeName: r.chance(0.1) ? r.pick(JUNK_STRINGS) : name,
      agentVersion: 'fuzz',
      address: '127.0.0.1',
      inventory: r.chance(0.05) ? undefined : inventory(r),
      labels: r.chance(0.05) ? Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 'v'])) : r.chance(0.1) ? { rack: r.pick(JUNK_STRINGS) } : {},
      verdicts: r.chance(0.1) ? [{ check: r.pick(JUNK_STRINGS), severity: r.pick(['SEVERITY_FAIL', 'SEVERITY_BOGUS']) as 'SEVERITY_FAIL', hasGpu: true, gpu: r.pick(JUNK_NUMBERS) }] : [],
      allowedUsers: r.chance(0.05) ? [r.pick(JUNK_STRINGS)] : [],
      allowRoot: r.chance(0.5),
    },
  };
}

function message(r: Rng, names: string[], realJob: { id: string; epoch: number }): AgentMessage {
  switch (r.int(0, 6)) {
    case 0:
      return register(r, r.pick(names));
    case 1:
      return { report: { seq: r.pick([0, 1, 2 ** 53]), inventoryChanged: r.chance(0.5), inventory: r.chance(0.8) ? inventory(r) : undefined, verdictsChanged: r.chance(0.3), verdicts: [] } };
    case 2: {
      // A real job's rank (reported from the wrong node), or an unknown task; any epoch and state.
      const real = r.chance(0.4);
      return {
        taskUpdate: {
          status: {
            jobId: real ? realJob.id : r.pick(['nope-1', ...JUNK_STRINGS]),
            rank: r.pick([0, 1, ...JUNK_NUMBERS]),
            epoch: real && r.chance(0.5) ? realJob.epoch : r.pick([0, 99, ...JUNK_NUMBERS]),
            state: r.pick(['TASK_STATE_EXITED', 'TASK_STATE_RUNNING', 'TASK_STATE_FAILED_TO_START', 'TASK_STATE_UNSPECIFIED']),
            exitCode: r.pick([0, 1, -9, 2 ** 31 - 1]),
            message: r.pick(JUNK_STRINGS),
          },
        },
      };
    }
    case 3:
      return { logChunk: { requestId: r.pick(['', 'unknown', ...JUNK_STRINGS]), data: r.pick(JUNK_STRINGS), nextOffset: r.pick([0, 2 ** 53]), eof: r.chance(0.5), error: r.pick(['', 'nope']) } };
    case 4:
      return {};
    case 5:
      // An application XID blamed on the real job's rank (from a node it is not on), or on an unknown job; any field junk.
      return {
        jobFault: {
          jobId: r.chance(0.5) ? realJob.id : r.pick(['nope-1', ...JUNK_STRINGS]),
          rank: r.pick([0, 1, ...JUNK_NUMBERS]),
          epoch: r.chance(0.5) ? realJob.epoch : r.pick([0, ...JUNK_NUMBERS]),
          xid: r.pick([13, 45, 0, ...JUNK_NUMBERS]),
          gpu: r.pick([0, 3, 0xffffffff, ...JUNK_NUMBERS]),
          pid: r.pick([4242, 0, ...JUNK_NUMBERS]),
          processName: r.pick(['python3', ...JUNK_STRINGS]),
          evidence: r.pick(['Xid 13', ...JUNK_STRINGS]),
          atUnixMs: r.pick([0, 1_800_000_000_000, 2 ** 53]),
        },
      };
    default:
      return register(r, r.pick(names));
  }
}

/** Random bytes, or a valid message cut or with bytes flipped. */
function bytes(r: Rng, valid: Buffer): Buffer {
  const k = r.int(0, 2);
  if (k === 0) return Buffer.from(Array.from({ length: r.int(1, 256) }, () => r.int(0, 255)));
  if (k === 1) return valid.subarray(0, r.int(0, valid.length));
  const b = Buffer.from(valid);
  for (let i = 0; i < 4; i++) b[r.int(0, b.length - 1)] = r.int(0, 255);
  return b;
}

interface Outcome {
  code: number;
  /** The node name the stream's registration was acknowledged for (Registered received), if any. */
  acknowledged?: string;
}

function runStream(client: grpc.Client, frames: Buffer[], registeredName: string | undefined): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const call = (client as unknown as { Connect(): grpc.ClientDuplexStream<Buffer, Buffer> }).Connect();
    let acknowledged: string | undefined;
    const timer = setTimeout(() => reject(new Error('no status within 20 s')), 20_000);
    call.on('data', (b: Buffer) => {
      // A Registered reply: the first registration (the stream's only name) was acknowledged.
      if (b.length > 0 && registeredName !== undefined) acknowledged = registeredName;
    });
    call.on('error', (e: grpc.ServiceError) => {
      clearTimeout(timer);
      resolve({ code: e.code, acknowledged });
    });
    call.on('status', (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) {
        clearTimeout(timer);
        resolve({ code: 0, acknowledged });
      }
    });
    for (const f of frames) call.write(f);
  });
}

const metric = async (port: number, name: string): Promise<string[]> => (await httpGet(`http://127.0.0.1:${port}/metrics`)).split('\n').filter((l) => l.startsWith(name));

t.test('the agent protocol fuzzed from a fake agent', async (t) => {
  const sched = await startScheduler(t);
  const real = await startAgent(t, 'node-real', sched.address);
  await waitFor('node-real ready', async () => (await listNodes(sched.address)).some((n) => n.name === 'node-real' && n.connectivity === 'ready'));
  const spec = path.join(tempDir(t, 'gantry-agent-fuzz-'), 'job.yaml');
  writeFileSync(spec, jobYaml({ name: 'steady', ranks: 1, gpusPerRank: 8, command: ['sleep', '300'] }));
  const sub = await gantryCli(['submit', spec, '--scheduler', sched.address]);
  t.equal(sub.code, 0, sub.stderr);
  const id = /steady-\d+/.exec(sub.stdout)![0];
  const before = await waitFor('the job running', async () => {
    const j = await jobView(sched.address, id);
    return j.state === 'running' ? j : undefined;
  }, 30_000);
  const realBefore = (await listNodes(sched.address)).find((n) => n.name === 'node-real')!;

  const r = rng(SEED);
  const names = Array.from({ length: 12 }, (_, i) => `fz-${i}`);
  const realJob = { id, epoch: before.epoch };
  const streams: Array<{ frames: Buffer[]; name?: string; registers: boolean }> = [];
  let inputs = 0;
  let unencodable = 0;
  for (let s = 0; s < STREAMS; s++) {
    const frames: Buffer[] = [];
    let first: string | undefined;
    let registers = false;
    const n = r.int(1, 5);
    for (let i = 0; i < n; i++) {
      // Half the streams open with a plausible registration; the rest start anywhere.
      const m = i === 0 && r.chance(0.5) ? register(r, r.pick(names)) : message(r, names, realJob);
      let frame: Buffer;
      try {
        frame = encode(m);
      } catch {
        unencodable++;
        continue;
      }
      if (i === 0 && m.register) first = m.register.nodeName ?? undefined;
      if (m.register) registers = true;
      frames.push(r.chance(0.08) ? bytes(r, frame) : frame);
      inputs++;
    }
    frames.push(Buffer.alloc(0)); // an empty AgentMessage: no stream may stay unanswered
    inputs++;
    streams.push({ frames, registers, ...(first !== undefined ? { name: first } : {}) });
  }

  const client = new RawClient(sched.address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 8 << 20 });
  t.teardown(() => client.close());
  const codes = new Map<number, number>();
  const acknowledged = new Set<string>();
  const started = process.hrtime.bigint();
  let next = 0;
  let okUnregistered = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < streams.length) {
        const st = streams[next++]!;
        const o = await runStream(client, st.frames, st.name);
        codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
        if (o.acknowledged) acknowledged.add(o.acknowledged);
        // OK only ends a stream that registered a node which then registered again on a newer stream
        // (the scheduler ends the older one, even before its Registered reply was written).
        if (o.code === grpc.status.OK && !st.registers) okUnregistered++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const byCode = Object.fromEntries([...codes].map(([c, n]) => [grpc.status[c] ?? c, n]));
  t.comment(`seed ${SEED}: ${inputs} inputs on ${streams.length} streams (${unencodable} unencodable, not sent) in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(byCode)}`);
  t.ok(inputs >= 3000, `at least 3,000 inputs (${inputs})`);
  t.equal([...codes.values()].reduce((a, b) => a + b, 0), streams.length, 'every stream was answered with a status');
  t.equal(okUnregistered, 0, 'none ended OK but a stream that registered, replaced by a newer one: each ends with an empty message');
  const internal = await metric(sched.metricsPort, 'gantry_scheduler_invalid_agent_messages_total{reason="internal"}');
  t.same(internal, [], 'no message made the scheduler fail inside');
  t.notOk(codes.has(grpc.status.INTERNAL), 'no stream ended INTERNAL: undecodable bytes are INVALID_ARGUMENT (the peer sent them)');

  t.equal(sched.child.proc.exitCode, null, 'the scheduler is up');
  t.equal(real.child.proc.exitCode, null, 'the real agent is up');
  const nodes = await listNodes(sched.address);
  const realAfter = nodes.find((n) => n.name === 'node-real')!;
  t.equal(realAfter.connectivity, 'ready', "the real agent's node stays ready");
  t.equal(realAfter.registeredMs, realBefore.registeredMs, 'and was never re-registered by a fake');
  for (const name of acknowledged) t.ok(nodes.some((n) => n.name === name), `acknowledged registration ${name} is stored`);
  for (const n of nodes) t.ok(n.name === 'node-real' || names.includes(n.name), `no record under a junk name (${JSON.stringify(n.name.slice(0, 40))})`);
  const after = await jobView(sched.address, id);
  t.equal(after.state, 'running', 'the real job runs on, whatever the fake agents said about it');
  t.same([after.epoch, after.ranks.map((x) => [x.node, x.state])], [before.epoch, before.ranks.map((x) => [x.node, x.state])], 'its epoch and ranks unchanged');
  t.same(after.faults, [], 'no fault blamed on it from a node its rank is not on');
  t.ok((await metric(sched.metricsPort, 'gantry_scheduler_invalid_agent_messages_total')).length > 0, 'refusals are counted');
  await gantryCli(['cancel', id, '--scheduler', sched.address]);
});
