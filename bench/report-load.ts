/**
 * Load generator for the reports benchmark (bench/reports.ts): `node dist/bench/report-load.js
 * <plan.json>` simulates agents [from, to) of a fleet, each as a real agent looks on the wire: its
 * own HTTP/2 connection with one AgentService.Connect stream, a Register carrying a real 8 × H100
 * inventory (the fixture through the agent's own NVIDIA collector, with the node's own GPU UUIDs),
 * then a Report every intervalMs with nothing changed. No grpc-js client per agent: node:http2 and
 * messages encoded once (Register) or by hand (Report, checked against the real serializer), so
 * that thousands of agents cost this process little beside the scheduler it loads.
 *
 * Protocol: one JSON line {"ready": registered, "failed": n, "ms": startup} on stdout once every
 * agent got its Registered reply (or failed); the line "stats" on stdin answers {"stats": {...}};
 * SIGTERM closes every connection and exits.
 */
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import type { ServiceDefinition } from '@grpc/proto-loader';
import { createNvidiaCollector, type ProbeRunner } from '../agent/collectors/index.js';
import { emptyInventory } from '../shared/domain/index.js';
import { loadGantryProto, type AgentMessage, type SchedulerMessage__Output } from '../shared/proto/index.js';
import { inventoryToPb } from '../shared/wire/index.js';
import { H100_TOPO, H100_XML, uuidFor } from './parts.js';
import { issueCert, loadCa } from '../shared/certgen/index.js';

export interface LoadPlan {
  /** The scheduler's gRPC address, host:port. */
  address: string;
  /** Agent i is node `${prefix}-${i}` (i padded to 5 digits), in leaf-⌊i/32⌋ and spine-⌊i/256⌋ (as bench/jobs.ts places them). */
  prefix: string;
  from: number;
  to: number;
  intervalMs: number;
  /** Connections being set up (connect, Register, wait for Registered) at once. */
  connectConcurrency: number;
  /** mTLS: the CA (certificate and key); each agent gets its own node certificate from it before connecting. */
  tls?: { caFile: string; caKeyFile: string };
}

/**
 * A real agent's grpc-js channel pings every 20 s (agent/reporter: grpc.keepalive_time_ms) while
 * its stream is open; each simulated agent does too, every this many reports.
 */
const PING_EVERY_REPORTS = 20;
/** Reports go out in 100 slots per interval; agent i reports in slot i % SLOTS, so all generator processes together spread evenly. */
const SLOTS = 100;

const METHOD = '/gantry.v1.AgentService/Connect';

/** A gRPC frame: not compressed, 4-byte big-endian length, the message. */
function frame(msg: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(5 + msg.length);
  b[0] = 0;
  b.writeUInt32BE(msg.length, 1);
  b.set(msg, 5);
  return b;
}

/** AgentMessage { report (2) { seq (1), sent_unix_ms (2) } }, by hand: no proto objects built and converted per report. */
function reportMessage(seq: number, sentMs: number): Buffer {
  const inner: number[] = [];
  for (const [tag, value] of [[0x08, seq], [0x10, sentMs]] as const) {
    inner.push(tag);
    // Varint of values up to 2^53 (unix ms): no 32-bit bit operations.
    let v = value;
    for (; v >= 128; v = Math.floor(v / 128)) inner.push((v % 128) + 128);
    inner.push(v);
  }
  return Buffer.from([0x12, inner.length, ...inner]);
}

/** What a generator counts; "stats" on stdin prints them with how many agents it has, and how many are open. */
const newStats = () => ({ registered: 0, failed: 0, closedAfterRegistered: 0, reportsSent: 0, pingsSent: 0, bytesIn: 0, reportIntervalMs: 0, maxTickLagMs: 0, errors: [] as string[] });
export type LoadStats = ReturnType<typeof newStats> & { agents: number; open: number };

type Agent = { index: number; session?: http2.ClientHttp2Session; stream?: http2.ClientHttp2Stream; registered: boolean; closed: boolean; seq: number };

async function main(): Promise<void> {
  const plan = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as LoadPlan;
  const t0 = performance.now();
  const connect = (loadGantryProto().definition['gantry.v1.AgentService'] as ServiceDefinition).Connect!;
  const serialize = (m: AgentMessage): Buffer => connect.requestSerialize(m);
  // The hand-made Report must be what the real serializer makes of the same message.
  const sample = { seq: 300, sentMs: Date.now() };
  if (!reportMessage(sample.seq, sample.sentMs).equals(serialize({ report: { seq: sample.seq, sentUnixMs: sample.sentMs } }))) {
    throw new Error('hand-encoded Report differs from the proto serializer');
  }

  // One probe of the fixture through the agent's own collector (its runner answers from the files).
  const xml = readFileSync(H100_XML, 'utf8');
  const topo = readFileSync(H100_TOPO, 'utf8');
  const runner: ProbeRunner = {
    run: (_cmd, args) => Promise.resolve({ stdout: args[0] === 'topo' ? topo : xml, stderr: '', exitCode: 0, durationMs: 0 }),
    busyKinds: () => [],
  };
  const probe = await createNvidiaCollector({ runner, nvlinkStatus: false }).probe();
  const nodeName = (i: number): string => `${plan.prefix}-${String(i).padStart(5, '0')}`;
  /** The node's Register, as the agent's NodeProber and Reporter build it (host and HCA collectors off, as in bench/fleet.ts). */
  const registerFrame = (i: number): Buffer => {
    const name = nodeName(i);
    const inv = emptyInventory(name);
    inv.firmware = probe.firmware;
    inv.gpus = probe.gpus.map((g, k) => ({ ...g, uuid: uuidFor(name, k) }));
    inv.topology.linkMatrix = probe.linkMatrix;
    inv.topology.linkGroups = probe.linkGroups;
    inv.topology.fabric = probe.fabric;
    inv.topology.nics = probe.nics;
    inv.topology.domains = { leaf: `leaf-${Math.floor(i / 32)}`, spine: `spine-${Math.floor(i / 256)}` };
    return frame(serialize({ register: { nodeName: name, agentVersion: 'bench-report-load', address: '127.0.0.1', inventory: inventoryToPb(inv), labels: {}, verdicts: [], tasks: [] } }));
  };

  // mTLS: every agent's node certificate, made before any connection (not part of the timings).
  const tlsOf = new Map<number, { ca: Buffer; cert: string; key: string }>();
  let certMs = 0;
  if (plan.tls) {
    const c0 = performance.now();
    const ca = await loadCa(readFileSync(plan.tls.caFile, 'utf8'), readFileSync(plan.tls.caKeyFile, 'utf8'));
    const caPem = readFileSync(plan.tls.caFile);
    for (let i = plan.from; i < plan.to; i++) {
      const c = await issueCert(ca, { kind: 'node', node: nodeName(i) });
      tlsOf.set(i, { ca: caPem, cert: c.cert, key: c.key });
    }
    certMs = Math.round(performance.now() - c0);
  }
  const t1 = performance.now();

  const stats = newStats();
  const agents: Agent[] = [];
  const slots: Agent[][] = Array.from({ length: SLOTS }, () => []);

  /** Connects one agent and resolves once its Registered came back (or the stream failed). */
  const open = (a: Agent): Promise<void> =>
    new Promise((resolve) => {
      const tls = tlsOf.get(a.index);
      const session = tls ? http2.connect(`https://${plan.address}`, { ca: tls.ca, cert: tls.cert, key: tls.key, servername: 'localhost' }) : http2.connect(`http://${plan.address}`);
      const stream = session.request({ ':method': 'POST', ':path': METHOD, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
      Object.assign(a, { session, stream });
      let head: Buffer | undefined = Buffer.alloc(0);
      let timer: NodeJS.Timeout | undefined;
      const end = (why: string): void => {
        if (a.closed) return;
        a.closed = true;
        if (a.registered) stats.closedAfterRegistered++;
        else stats.failed++;
        if (stats.errors.length < 10) stats.errors.push(`${a.index}: ${why}`);
        clearTimeout(timer);
        session.destroy();
        resolve();
      };
      session.on('error', (e) => end(`session: ${e.message}`));
      stream.on('error', (e) => end(`stream: ${e.message}`));
      stream.on('close', () => end(`stream closed (RST_STREAM code ${stream.rstCode})`));
      timer = setTimeout(() => end('no Registered within 60 s'), 60_000);
      stream.on('data', (chunk: Buffer) => {
        stats.bytesIn += chunk.length;
        if (!head) return; // after Registered: read and discard
        // The first message is Registered: decode it (the interval the scheduler asks for).
        head = Buffer.concat([head, chunk]);
        if (head.length < 5 || head.length < 5 + head.readUInt32BE(1)) return;
        const msg = connect.responseDeserialize(head.subarray(5, 5 + head.readUInt32BE(1))) as SchedulerMessage__Output;
        head = undefined;
        clearTimeout(timer);
        if (!msg.registered) return end(`first message is not Registered: ${JSON.stringify(msg).slice(0, 200)}`);
        stats.reportIntervalMs = msg.registered.reportIntervalMs;
        a.registered = true;
        stats.registered++;
        resolve();
      });
      stream.write(registerFrame(a.index));
    });

  for (let i = plan.from; i < plan.to; i++) {
    const a: Agent = { index: i, registered: false, closed: false, seq: 0 };
    agents.push(a);
    slots[i % SLOTS]!.push(a);
  }

  // Reports: each slot's agents every interval, slot s at s × interval / SLOTS into it. A tick that
  // comes late sends every slot it missed (so the rate holds) and notes how late it was.
  const slotMs = plan.intervalMs / SLOTS;
  const tickStart = performance.now();
  let slotsDone = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    const due = Math.floor((now - tickStart) / slotMs);
    stats.maxTickLagMs = Math.max(stats.maxTickLagMs, (due - slotsDone - 1) * slotMs);
    const sentMs = Date.now();
    for (; slotsDone < due; slotsDone++) {
      for (const a of slots[slotsDone % SLOTS]!) {
        if (!a.registered || a.closed) continue;
        a.stream!.write(frame(reportMessage(++a.seq, sentMs)));
        stats.reportsSent++;
        if (a.seq % PING_EVERY_REPORTS === 0) {
          a.session!.ping(() => undefined);
          stats.pingsSent++;
        }
      }
    }
  }, Math.max(1, Math.floor(slotMs)));

  process.on('SIGTERM', () => {
    clearInterval(ticker);
    for (const a of agents) a.session?.destroy();
    process.exit(0);
  });
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const out: LoadStats = { ...stats, agents: agents.length, open: agents.filter((a) => a.registered && !a.closed).length };
    if (line.trim() === 'stats') process.stdout.write(`${JSON.stringify({ stats: out })}\n`);
  });

  // Connections set up a few at a time, as a fleet of agents starting would come in.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < agents.length) await open(agents[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, plan.connectConcurrency) }, worker));
  // ms: connecting and registering (certMs, making the node certificates, came before it).
  process.stdout.write(`${JSON.stringify({ ready: stats.registered, failed: stats.failed, ms: Math.round(performance.now() - t1), setupMs: Math.round(t1 - t0), certMs })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`report-load failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
