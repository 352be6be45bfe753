/**
 * One fuzz run against a live scheduler: sends the inputs (inputs.ts, http2.ts) with a few calls
 * in flight, counts every outcome, and watches the scheduler while it runs: its event-loop delay
 * (its own gantry_scheduler_event_loop_delay_max_seconds, scraped every 500 ms) and its nodes
 * (ListNodes every 500 ms, and the lost gauge). The checks are the test's (api-fuzz.test.ts).
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { loadGantryProto } from '../../../shared/proto/index.js';
import { httpGet } from '../../harness/cluster.js';
import type { Input, Method } from './inputs.js';
import { sendHttp2, type Endpoint } from './http2.js';

export interface Target {
  address: string;
  pid: number;
  metricsPort: number;
  creds: grpc.ChannelCredentials;
  endpoint: Endpoint;
  /** The scheduler's inspector (ws://...), started with --inspect: settledMemory asks it for a full GC first. */
  inspectorUrl?: string;
  /** The nodes' connectivity and schedulability now (a well-formed ListNodes). */
  nodes(): Promise<Array<{ name: string; connectivity: string; schedulability: string }>>;
}

/** What a run saw. */
export interface RunReport {
  inputs: number;
  /** Outcomes by name: a gRPC status code name, or an HTTP/2 outcome (GOAWAY, connection closed...). */
  counts: Record<string, number>;
  /** Inputs with no answer: the client's deadline passed, or nothing came back on HTTP/2. */
  unanswered: string[];
  /** Job ids SubmitJob returned OK. */
  submitted: string[];
  /** Job ids CancelJob returned OK. */
  cancelled: string[];
  /** The last node action that returned OK, per node (Cordon/Uncordon/DrainNode, run one at a time). */
  lastNodeAction: Map<string, Method>;
  /** Milliseconds from send to answer, of the inputs refused (not OK), sorted. */
  rejectionMs: number[];
  /** The largest event-loop delay the scheduler reported in any scrape during the run (seconds). */
  maxLoopDelayS: number;
  /** Nodes seen not ready, or the lost gauge above 0, during the run. */
  lostSeen: string[];
  wallMs: number;
  /** The slowest inputs (send to answer), for the report. */
  slowest: Array<{ ms: number; input: string; outcome: string }>;
  /** With `attribute`: the inputs after which the event-loop window held a delay over 50 ms. */
  stalls: Array<{ ms: number; input: string }>;
  /** The first few details per status code, of the codes that deserve a look (UNAVAILABLE, INTERNAL...). */
  details: Record<string, string[]>;
}

const NODE_ACTIONS: ReadonlySet<Method> = new Set(['CordonNode', 'UncordonNode', 'DrainNode', 'ApproveNode', 'DeleteNode']);
/** The node actions that set schedulability. */
const SCHEDULABILITY_ACTIONS: ReadonlySet<Method> = new Set(['CordonNode', 'UncordonNode', 'DrainNode']);
const WORTH_A_LOOK: ReadonlySet<string> = new Set(['UNAVAILABLE', 'INTERNAL', 'UNKNOWN', 'DEADLINE_EXCEEDED', 'CANCELLED']);
const CALL_DEADLINE_MS = 30_000;
const WATCH_OPEN_MS = 300;

export function vmRssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

export async function scrape(metricsPort: number): Promise<{ loopDelayS: number; lost: number }> {
  const text = await httpGet(`http://127.0.0.1:${metricsPort}/metrics`);
  const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
  return { loopDelayS: num(/^gantry_scheduler_event_loop_delay_max_seconds (\S+)$/m), lost: num(/^gantry_scheduler_nodes\{state="lost"\} (\S+)$/m) };
}

const identity = (b: Buffer): Buffer => b;

/**
 * Sends `inputs` plus `bigBodies` (sent one at a time first), `concurrency` in flight. `attribute`
 * (a diagnosis, slow): one at a time, the event-loop gauge read after each input, to name the
 * inputs that stall the loop.
 */
export async function runInputs(target: Target, inputs: readonly Input[], bigBodies: ReadonlyArray<{ method: Method; body: Buffer }>, concurrency: number, attribute = false): Promise<RunReport> {
  const { proto } = loadGantryProto();
  const service = proto.gantry.v1.SchedulerService.service;
  const client = new grpc.Client(target.address, target.creds, { 'grpc.use_local_subchannel_pool': 1 });
  const report: RunReport = { inputs: inputs.length + bigBodies.length, counts: {}, unanswered: [], submitted: [], cancelled: [], lastNodeAction: new Map(), rejectionMs: [], maxLoopDelayS: 0, lostSeen: [], wallMs: 0, slowest: [], details: {}, stalls: [] };
  const count = (outcome: string): void => void (report.counts[outcome] = (report.counts[outcome] ?? 0) + 1);

  // The watchers: the scheduler's own event-loop gauge and its nodes, every 500 ms.
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      try {
        const m = await scrape(target.metricsPort);
        report.maxLoopDelayS = Math.max(report.maxLoopDelayS, m.loopDelayS);
        if (m.lost > 0) report.lostSeen.push(`gantry_scheduler_nodes{state="lost"} ${m.lost}`);
        for (const n of await target.nodes()) if (n.connectivity !== 'CONNECTIVITY_READY') report.lostSeen.push(`${n.name} ${n.connectivity}`);
      } catch (e) {
        report.lostSeen.push(`the watcher could not read the scheduler: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();

  const unary = (method: Method, body: Buffer): Promise<{ code: grpc.status; res?: Buffer; details?: string }> =>
    new Promise((resolve) => {
      client.makeUnaryRequest(`/gantry.v1.SchedulerService/${method}`, identity, identity, body, new grpc.Metadata(), { deadline: Date.now() + CALL_DEADLINE_MS }, (err, res) =>
        resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, res }),
      );
    });
  const stream = (method: Method, body: Buffer): Promise<{ code: grpc.status | 'stream open' }> =>
    new Promise((resolve) => {
      const call = client.makeServerStreamRequest(`/gantry.v1.SchedulerService/${method}`, identity, identity, body, new grpc.Metadata(), { deadline: Date.now() + CALL_DEADLINE_MS });
      let open = false;
      const timer = setTimeout(() => {
        open = true;
        call.cancel();
      }, WATCH_OPEN_MS);
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('status', (s: grpc.StatusObject) => {
        clearTimeout(timer);
        resolve({ code: open ? 'stream open' : s.code });
      });
    });

  const note = (ms: number, input: string, outcome: string, details?: string): void => {
    if (details !== undefined && WORTH_A_LOOK.has(outcome)) {
      const d = (report.details[outcome] ??= []);
      if (d.length < 3) d.push(`${input}: ${details.slice(0, 200)}`);
    }
    if (outcome === 'stream open') return; // held open on purpose
    if (report.slowest.length < 10 || ms > report.slowest[report.slowest.length - 1]!.ms) {
      report.slowest.push({ ms, input, outcome });
      report.slowest.sort((a, b) => b.ms - a.ms);
      report.slowest.length = Math.min(report.slowest.length, 10);
    }
  };
  let nodeLock: Promise<void> = Promise.resolve();
  const one = async (input: Input, index: number): Promise<void> => {
    const t0 = performance.now();
    if (input.kind === 'http2') {
      const outcome = await sendHttp2(target.endpoint, input.variant, input.seed);
      count(outcome);
      note(performance.now() - t0, `#${index} http2 variant ${input.variant}`, outcome);
      if (outcome === 'no answer') report.unanswered.push(`#${index} http2 variant ${input.variant} seed ${input.seed}`);
      else report.rejectionMs.push(performance.now() - t0);
      return;
    }
    const { method, body } = input;
    if (method === 'WatchEvents') {
      const { code } = await stream(method, body);
      count(typeof code === 'string' ? code : grpc.status[code]);
      note(performance.now() - t0, `#${index} ${method} (${input.what}, ${body.length} bytes)`, typeof code === 'string' ? code : grpc.status[code]);
      if (code === grpc.status.DEADLINE_EXCEEDED) report.unanswered.push(`#${index} ${method} (${input.what}, ${body.length} bytes)`);
      else if (code !== 'stream open' && code !== grpc.status.OK) report.rejectionMs.push(performance.now() - t0);
      return;
    }
    // Node actions one at a time, so the last one answered OK is the last one applied.
    let release = (): void => undefined;
    if (NODE_ACTIONS.has(method)) {
      const prev = nodeLock;
      nodeLock = new Promise((r) => (release = r));
      await prev;
    }
    try {
      const t1 = performance.now();
      const { code, res, details } = await unary(method, body);
      count(grpc.status[code]);
      note(performance.now() - t1, `#${index} ${method} (${input.what}, ${body.length} bytes)`, grpc.status[code], details);
      if (code === grpc.status.DEADLINE_EXCEEDED) report.unanswered.push(`#${index} ${method} (${input.what}, ${body.length} bytes)`);
      else if (code !== grpc.status.OK) report.rejectionMs.push(performance.now() - t1);
      if (code !== grpc.status.OK || !res) return;
      const decoded = service[method].responseDeserialize(res) as { id?: string; name?: string };
      if (method === 'SubmitJob') report.submitted.push(String(decoded.id));
      else if (method === 'CancelJob') report.cancelled.push(String(decoded.id));
      else if (SCHEDULABILITY_ACTIONS.has(method)) report.lastNodeAction.set(String(decoded.name), method);
    } finally {
      release();
    }
  };

  const start = performance.now();
  const attributed = async (input: Input, i: number): Promise<void> => {
    await one(input, i);
    if (!attribute) return;
    const { loopDelayS } = await scrape(target.metricsPort);
    if (loopDelayS > 0.05) report.stalls.push({ ms: loopDelayS * 1000, input: `#${i} ${input.kind === 'raw' ? `${input.method} (${input.what}, ${input.body.length} bytes)` : `http2 variant ${input.variant}`}` });
  };
  for (const [i, big] of bigBodies.entries()) await attributed({ kind: 'raw', method: big.method, what: `a ${big.body.length}-byte body`, body: big.body }, -1 - i);
  let next = 0;
  await Promise.all(
    Array.from({ length: attribute ? 1 : concurrency }, async () => {
      while (next < inputs.length) {
        const i = next++;
        await attributed(inputs[i]!, i);
      }
    }),
  );
  report.wallMs = performance.now() - start;
  watching = false;
  await watcher;
  client.close();
  report.rejectionMs.sort((a, b) => a - b);
  return report;
}

/** Two runs' reports as one (the second's last node actions win, as they came later). */
export function mergeReports(a: RunReport, b: RunReport): RunReport {
  const details: Record<string, string[]> = { ...a.details };
  for (const [code, ds] of Object.entries(b.details)) details[code] = [...(details[code] ?? []), ...ds].slice(0, 3);
  const counts: Record<string, number> = { ...a.counts };
  for (const [k, v] of Object.entries(b.counts)) counts[k] = (counts[k] ?? 0) + v;
  return {
    inputs: a.inputs + b.inputs,
    counts,
    unanswered: [...a.unanswered, ...b.unanswered],
    submitted: [...a.submitted, ...b.submitted],
    cancelled: [...a.cancelled, ...b.cancelled],
    lastNodeAction: new Map([...a.lastNodeAction, ...b.lastNodeAction]),
    rejectionMs: [...a.rejectionMs, ...b.rejectionMs].sort((x, y) => x - y),
    maxLoopDelayS: Math.max(a.maxLoopDelayS, b.maxLoopDelayS),
    lostSeen: [...a.lostSeen, ...b.lostSeen],
    wallMs: a.wallMs + b.wallMs,
    slowest: [...a.slowest, ...b.slowest].sort((x, y) => y.ms - x.ms).slice(0, 10),
    stalls: [...a.stalls, ...b.stalls],
    details,
  };
}

/** The scheduler's memory once traffic has stopped (RSS, and from its metrics the V8 heap in use and external memory). */
export interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
}

/** The inspector's WebSocket address a child started with `--inspect=127.0.0.1:0` printed, from its output. */
export function inspectorUrlOf(output: string): string {
  const m = /Debugger listening on (ws:\/\/\S+)/.exec(output);
  if (!m) throw new Error(`no inspector address in the output:\n${output.slice(-2000)}`);
  return m[1]!;
}

/**
 * A full garbage collection in the process behind `url`, through the Chrome DevTools Protocol
 * (HeapProfiler.collectGarbage), answered once V8 has finished it.
 */
export async function forceGc(url: string, timeoutMs = 30_000): Promise<void> {
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from the inspector at ${url} within ${timeoutMs} ms`)), timeoutMs);
      ws.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      ws.on('open', () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
      ws.on('message', (data) => {
        const reply = JSON.parse(String(data)) as { id?: number; error?: { message: string } };
        if (reply.id !== 1) return;
        clearTimeout(timer);
        if (reply.error) reject(new Error(`HeapProfiler.collectGarbage: ${reply.error.message}`));
        else resolve();
      });
    });
  } finally {
    ws.close();
  }
}

/**
 * Once traffic has stopped: a full GC where the target has an inspector (two, so what the first
 * one's finalizers freed goes too), then `settleMs` of RSS readings every 250 ms, taking the
 * lowest: RSS falls in steps as V8 finishes sweeping and gives pages back, and a read in the middle
 * of a step would count memory the process is already returning.
 */
export async function settledMemory(target: Target, settleMs: number): Promise<Memory> {
  if (target.inspectorUrl) {
    await forceGc(target.inspectorUrl);
    await forceGc(target.inspectorUrl);
  }
  let rss = Infinity;
  for (const end = Date.now() + settleMs; Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 250));
    rss = Math.min(rss, vmRssBytes(target.pid));
  }
  const text = await httpGet(`http://127.0.0.1:${target.metricsPort}/metrics`);
  const num = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { rss, heapUsed: num('gantry_scheduler_nodejs_heap_size_used_bytes'), external: num('gantry_scheduler_nodejs_external_memory_bytes') };
}
