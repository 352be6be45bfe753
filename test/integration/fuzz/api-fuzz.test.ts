/**
 * The user API under hostile input (issue 18, point 3): a real scheduler child process with two
 * real agents connected, and 5,000 seeded inputs per run (GANTRY_FUZZ_SEED, GANTRY_FUZZ_INPUTS to
 * change them): random bytes as request bodies through a raw client with identity serializers, HTTP/2
 * framing and frames by hand, mutations of valid requests (inputs.ts), and three 100 MB bodies (in each round, below).
 * Run once plaintext with the anonymous admin, once over TLS presenting a user certificate.
 *
 * Checked per run:
 * - the scheduler stays up (and answers a well-formed call after);
 * - every input gets an answer: a status, or for a broken connection its closing (none waits out the deadline);
 * - the store changes exactly by the calls answered OK: the jobs are those before plus those
 *   SubmitJob returned, the jobs cancelled are those CancelJob returned, each node's
 *   schedulability is its last OK node action's, and no node record appears or goes;
 * - the scheduler's RSS returns within 10% of where the run started, and does not grow from one
 *   round to the next. "Where it started" is read after a warm-up of as many inputs as the run (of
 *   another seed, with the three 100 MB bodies): V8's spaces and malloc's arenas grow once to what
 *   this traffic needs and keep their pages, which is not a leak. With a warm-up of 300 inputs, RSS
 *   after the run was 16-44% above its start on this machine while the V8 heap in use plus external
 *   memory stayed flat or fell. The inputs go as two rounds of the same size (the two halves of the
 *   seeded list, each with the three 100 MB bodies), and RSS after round 2 must also be within 10%
 *   of after round 1. Each reading is taken once traffic stops, after two full garbage collections
 *   asked of the scheduler through its inspector (it runs with --inspect on a free loopback port;
 *   run.ts forceGc), as the lowest of readings every 250 ms for 5 s (run.ts settledMemory). Without
 *   the forced GC a reading carried garbage V8 had not yet collected (CI, TLS: 215 -> 249 MiB, +16%,
 *   with heap in use + external up 67 MiB), so the check was a todo; with it, on this machine:
 *   plaintext 159 -> 162 -> 162 MiB, TLS 177 -> 175 -> 177 MiB. The check catches a leak: a
 *   SubmitJob handler that kept 1 MB per call failed both checks. The growth that was a
 *   leak is fixed (heap snapshots after a full GC, rounds of 5,000: 41 -> 55 -> 60 -> 67 MB before,
 *   39 -> 42 -> 43 -> 44 MB after): the in-memory event sink kept every event, audit records
 *   quoted 1 MiB targets whole (12-18 MB), and connections refused for bad framing stayed half-open
 *   for 50 s (about 100 sessions with their sockets). What stays is the job table, about 1 MB of
 *   heap per 150 accepted jobs, inside the 10%, not subtracted. V8 heap in use and external memory
 *   are printed beside RSS;
 * - the event loop never stalls more than 100 ms over the warm-up's inputs (the scheduler's own
 *   gantry_scheduler_event_loop_delay_max_seconds, scraped every 500 ms through it). The warm-up
 *   is judged, not the two rounds: the rounds follow the forced GCs of the RSS readings, which
 *   shrink V8's heap, and the heap growing back makes collections during the rounds that the
 *   daemon never has in production (same seed, this machine: 24/26 ms with the inspector on and no
 *   forced GC, 50/89 ms after forced GCs, 90/135 ms in a loaded CI run). The rounds' longest delay
 *   is printed. The threshold is the issue's; it holds on a loaded 2-core machine when nothing
 *   blocks the loop;
 * - no node goes lost (ListNodes and the lost gauge every 500 ms; nodes are lost after 3 s
 *   without a report, twice the harness's 1.5 s: agents and the fuzz share 2 cores).
 *
 * The counts by outcome, RSS and the time per rejection are printed as tap comments, with the
 * ten slowest inputs. For looking into a failure: GANTRY_FUZZ_NO_BIG=1 leaves out the 100 MB
 * bodies; GANTRY_FUZZ_ATTRIBUTE=1 sends one input at a time and reads the event-loop gauge after
 * each, naming the inputs after which it held over 50 ms (the watcher's scrapes share the window,
 * so one may be missed); GANTRY_FUZZ_GC_DIAG=<dir> starts the schedulers with --heapsnapshot-signal as well and
 * writes a heap snapshot of the plaintext one into <dir> after the run, before RSS is read again.
 */
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { schedulerClient, schedulerCall } from '../../../shared/cli/client.js';
import type { SchedulerServiceClient } from '../../../shared/proto/index.js';
import { rng } from '../../builders/prng.js';
import { agentTlsArgs, clientAs, makePki, schedulerTlsArgs } from '../../harness/auth.js';
import { httpGet, startAgent, startScheduler, waitFor } from '../../harness/cluster.js';
import { makeInputs, validSpec, type Method } from './inputs.js';
import { inspectorUrlOf, mergeReports, runInputs, scrape, settledMemory, vmRssBytes, type Memory, type RunReport, type Target } from './run.js';

const SEED = Number(process.env.GANTRY_FUZZ_SEED ?? 18);
const INPUTS = Number(process.env.GANTRY_FUZZ_INPUTS ?? 5000);
/**
 * Inputs (of another seed) before the measured run: as many as the run, so V8's spaces and malloc's
 * arenas have grown to what this traffic needs before RSS is first read (see the head comment).
 */
const WARMUP_INPUTS = Number(process.env.GANTRY_FUZZ_WARMUP ?? INPUTS);
/** How long RSS is watched after each round (its lowest reading is taken: settledMemory). */
const SETTLE_MS = 5000;
const CONCURRENCY = 8;
const NODES = ['fz-a', 'fz-b'];
const MIB = 1024 * 1024;
const HUNDRED_MB = 100 * 1000 * 1000;

const SCHEDULABILITY: Partial<Record<Method, string>> = { CordonNode: 'SCHEDULABILITY_CORDONED', UncordonNode: 'SCHEDULABILITY_SCHEDULABLE', DrainNode: 'SCHEDULABILITY_DRAINING' };

function pbString(no: number, s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  const len: number[] = [];
  for (let n = b.length; ; ) {
    len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n = Math.floor(n / 128);
    if (n === 0) break;
  }
  return Buffer.concat([Buffer.from([(no << 3) | 2, ...len]), b]);
}

/** The three 100 MB bodies: a spec, an owner, and random bytes to GetNode. */
function bigBodies(): Array<{ method: Method; body: Buffer }> {
  const big = Buffer.alloc(HUNDRED_MB, 'x');
  return [
    { method: 'SubmitJob', body: pbString(1, big) },
    { method: 'SubmitJob', body: Buffer.concat([pbString(1, validSpec(rng(SEED), 'big-owner')), pbString(2, big)]) },
    { method: 'GetNode', body: big },
  ];
}

const pct = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

function describe(t: Test, mode: string, r: RunReport, rss: { fresh: number; before: Memory; round1: Memory; after: Memory }): void {
  const counts = Object.entries(r.counts).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  const ms = r.rejectionMs;
  const mean = ms.reduce((a, b) => a + b, 0) / Math.max(ms.length, 1);
  t.comment(`${mode}: ${r.inputs} inputs in ${(r.wallMs / 1000).toFixed(1)} s (${CONCURRENCY} in flight): ${counts}`);
  t.comment(`${mode}: time per rejection (${ms.length}, send to answer): mean ${mean.toFixed(1)} ms, p50 ${pct(ms, 50).toFixed(1)} ms, p99 ${pct(ms, 99).toFixed(1)} ms, max ${pct(ms, 100).toFixed(0)} ms`);
  const growth = (a: number, b: number): string => `${(((b - a) / a) * 100).toFixed(1)}%`;
  t.comment(`${mode}: scheduler RSS fresh ${(rss.fresh / MIB).toFixed(0)} MiB, after warm-up ${(rss.before.rss / MIB).toFixed(0)} MiB, after round 1 ${(rss.round1.rss / MIB).toFixed(0)} MiB (${growth(rss.before.rss, rss.round1.rss)}), after round 2 ${(rss.after.rss / MIB).toFixed(0)} MiB (${growth(rss.round1.rss, rss.after.rss)} over round 1)`);
  const heap = (m: Memory): string => `${(m.heapUsed / MIB).toFixed(0)} + ${(m.external / MIB).toFixed(0)}`;
  t.comment(`${mode}: V8 heap in use + external memory (MiB): after warm-up ${heap(rss.before)}, after round 1 ${heap(rss.round1)}, after round 2 ${heap(rss.after)}`);
  for (const s of r.slowest) t.comment(`${mode}: slow: ${s.ms.toFixed(0)} ms ${s.input} -> ${s.outcome}`);
  for (const s of r.stalls) t.comment(`${mode}: stall: ${s.ms.toFixed(0)} ms after ${s.input}`);
  for (const [code, ds] of Object.entries(r.details)) for (const d of ds) t.comment(`${mode}: ${code}: ${d}`);
  t.comment(`${mode}: longest event-loop delay ${(r.maxLoopDelayS * 1000).toFixed(0)} ms; jobs submitted OK ${r.submitted.length}, cancelled OK ${r.cancelled.length}`);
}

async function listJobs(c: SchedulerServiceClient): Promise<Array<{ id: string; state: string }>> {
  return (await schedulerCall(c, 'ListJobs', {}, 30_000)).jobs.map((j) => ({ id: String(j.id), state: String(j.state) }));
}

async function fuzz(t: Test, mode: string, target: Target, admin: SchedulerServiceClient): Promise<void> {
  await waitFor('both nodes ready', async () => (await target.nodes()).filter((n) => n.connectivity === 'CONNECTIVITY_READY').length === NODES.length, 30_000);
  const rssFresh = vmRssBytes(target.pid);
  // Jobs for the mutations to name (GetJob, CancelJob, ReadLogs...): fixed before the inputs are drawn.
  const known: string[] = [];
  for (let i = 0; i < 3; i++) known.push(String((await schedulerCall(admin, 'SubmitJob', { spec: validSpec(rng(SEED + i), `known-${i}`), owner: '' })).id));
  const big = process.env.GANTRY_FUZZ_NO_BIG ? [] : bigBodies();
  await scrape(target.metricsPort); // starts the warm-up's event-loop window
  const warm = await runInputs(target, makeInputs(rng(SEED + 1), WARMUP_INPUTS, { nodes: NODES, jobs: known }), big, CONCURRENCY);
  t.equal(warm.unanswered.length, 0, 'warm-up: every input answered');

  const rssBefore = await settledMemory(target, SETTLE_MS);
  const jobsBefore = await listJobs(admin);
  const nodesBefore = await target.nodes();
  await scrape(target.metricsPort); // starts the event-loop window

  const inputs = makeInputs(rng(SEED), INPUTS, { nodes: NODES, jobs: known });
  const half = Math.ceil(inputs.length / 2);
  const attribute = Boolean(process.env.GANTRY_FUZZ_ATTRIBUTE);
  const r1 = await runInputs(target, inputs.slice(0, half), big, CONCURRENCY, attribute);
  const rssRound1 = await settledMemory(target, SETTLE_MS);
  const r2 = await runInputs(target, inputs.slice(half), big, CONCURRENCY, attribute);
  const r = mergeReports(r1, r2);

  let rssAfter = await settledMemory(target, SETTLE_MS);
  const alive = target.pid > 0 && (() => {
    try {
      process.kill(target.pid, 0);
      return true;
    } catch {
      return false;
    }
  })();
  t.ok(alive, 'the scheduler is still running');
  if (process.env.GANTRY_FUZZ_GC_DIAG) {
    t.comment(`${mode}: RSS before the forced GC ${(rssAfter.rss / MIB).toFixed(0)} MiB`);
    process.kill(target.pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 15000));
    rssAfter = { ...rssAfter, rss: vmRssBytes(target.pid) };
  }
  describe(t, mode, r, { fresh: rssFresh, before: rssBefore, round1: rssRound1, after: rssAfter });
  // Garbage collections over 100 ms (a pause is an event-loop stall too): count per kind, from prom-client's GC histogram.
  const metrics = await httpGet(`http://127.0.0.1:${target.metricsPort}/metrics`);
  const gcOver = (kind: string): number => {
    const line = (le: string): string => `gantry_scheduler_nodejs_gc_duration_seconds_bucket{le="${le}",kind="${kind}"} `;
    const n = (le: string): number => Number(metrics.split('\n').find((l) => l.startsWith(line(le)))?.slice(line(le).length) ?? 0);
    return n('+Inf') - n('0.1');
  };
  t.comment(`${mode}: garbage collections over 100 ms since the start: major ${gcOver('major')}, minor ${gcOver('minor')}, incremental ${gcOver('incremental')}`);

  t.equal(r.inputs, INPUTS + 2 * big.length, `${INPUTS} inputs and the three 100 MB bodies in each round`);
  t.same(r.unanswered, [], 'every input got an answer (none waited out its deadline)');
  t.equal(Object.values(r.counts).reduce((a, b) => a + b, 0), r.inputs, 'one outcome per input');
  t.equal(r.counts.RESOURCE_EXHAUSTED !== undefined && r.counts.RESOURCE_EXHAUSTED >= 2 * big.length, true, 'the 100 MB bodies are RESOURCE_EXHAUSTED');
  t.notOk(r.counts.INTERNAL, `no input answered INTERNAL (got ${r.counts.INTERNAL ?? 0})`);
  t.ok((r.counts.OK ?? 0) > 0 && (r.counts.INVALID_ARGUMENT ?? 0) > 0, 'some inputs were accepted, some refused as invalid');

  // The store: what changed is what was answered OK.
  const jobsAfter = await listJobs(admin);
  const before = new Set(jobsBefore.map((j) => j.id));
  const added = jobsAfter.filter((j) => !before.has(j.id)).map((j) => j.id).sort();
  t.same(added, [...r.submitted].sort(), `the jobs added are exactly the ${r.submitted.length} SubmitJob answered OK`);
  t.equal(jobsAfter.length, jobsBefore.length + r.submitted.length, 'no job removed');
  if (added.length !== r.submitted.length) t.comment(`${mode}: stored but not answered OK: ${added.filter((id) => !r.submitted.includes(id)).join(' ')}; answered OK but not stored: ${r.submitted.filter((id) => !added.includes(id)).join(' ')}`);
  const cancelledNow = new Set(jobsAfter.filter((j) => j.state === 'cancelled').map((j) => j.id));
  const cancelledBefore = new Set(jobsBefore.filter((j) => j.state === 'cancelled').map((j) => j.id));
  const newlyCancelled = [...cancelledNow].filter((id) => !cancelledBefore.has(id)).sort();
  t.same(newlyCancelled, [...new Set(r.cancelled.filter((id) => !cancelledBefore.has(id)))].sort(), 'the jobs cancelled are exactly those CancelJob answered OK');
  const nodesAfter = await target.nodes();
  t.same(nodesAfter.map((n) => n.name).sort(), nodesBefore.map((n) => n.name).sort(), 'no node record appeared or went');
  for (const n of nodesAfter) {
    const last = r.lastNodeAction.get(n.name);
    const expected = last ? SCHEDULABILITY[last] : nodesBefore.find((b) => b.name === n.name)?.schedulability;
    t.equal(n.schedulability, expected, `${n.name}: ${n.schedulability}, as its last OK node action (${last ?? 'none'}) left it`);
  }

  t.ok(rssAfter.rss <= rssBefore.rss * 1.1, `RSS after the run within 10% of where it started (after the warm-up): ${(rssBefore.rss / MIB).toFixed(0)} -> ${(rssAfter.rss / MIB).toFixed(0)} MiB`);
  t.ok(rssAfter.rss <= rssRound1.rss * 1.1, `RSS after round 2 within 10% of after round 1 (same inputs, same size): ${(rssRound1.rss / MIB).toFixed(0)} -> ${(rssAfter.rss / MIB).toFixed(0)} MiB`);
  // The event loop is judged over the warm-up: the rounds follow the test's own forced GCs (see the head comment).
  t.ok(warm.maxLoopDelayS <= 0.1, `the event loop never stalled more than 100 ms over the warm-up's ${WARMUP_INPUTS} inputs (longest ${(warm.maxLoopDelayS * 1000).toFixed(0)} ms)`);
  t.comment(`${mode}: longest event-loop delay over the rounds, after the forced GCs: ${(r.maxLoopDelayS * 1000).toFixed(0)} ms`);
  t.same([...warm.lostSeen, ...r.lostSeen], [], 'no node went lost during the warm-up or the rounds');
  await schedulerCall(admin, 'WhoAmI', {});
  t.pass('the scheduler answers a well-formed call after the run');
}

/** One raw call (identity serializers), for the status checks below. */
function rawCall(address: string, method: Method, body: Buffer): Promise<grpc.ServiceError | null> {
  const c = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    c.makeUnaryRequest(`/gantry.v1.SchedulerService/${method}`, (b: Buffer) => b, (b: Buffer) => b, body, { deadline: Date.now() + 30_000 }, (err) => {
      c.close();
      resolve(err);
    });
  });
}

/** The status codes the fuzz found wrong, each pinned (issue 18: "Wrong status codes"). */
async function statusChecks(t: Test, address: string, job: string): Promise<void> {
  // Field 2 (unknown to GetNodeRequest) with wire type 7, which does not exist: protobuf cannot skip it.
  const undecodable = await rawCall(address, 'GetNode', Buffer.from([0x17, 0x01, 0x02]));
  t.equal(undecodable?.code, grpc.status.INVALID_ARGUMENT, `an undecodable body is INVALID_ARGUMENT, not INTERNAL (got ${String(undecodable?.code)} ${String(undecodable?.details)})`);
  t.match(undecodable?.details, /^request: the 3-byte body does not decode as gantry\.v1\.GetNodeRequest/, 'naming the message type');
  // ReadLogs offset 2^64-1 (field 3, ten-byte varint), on a job that exists.
  const offset = Buffer.concat([pbString(1, job), Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]);
  const logs = await rawCall(address, 'ReadLogs', offset);
  t.equal(logs?.code, grpc.status.INVALID_ARGUMENT, 'ReadLogs offset 2^64-1 is INVALID_ARGUMENT, not NOT_FOUND');
  t.match(logs?.details, /^offset: must be an integer from 0 to 9007199254740991/, 'naming the field');
  // A 1 MiB name: refused by the request bounds before anything quotes it; the status arrives
  // (quoted whole it once made a trailer over the client's limit: status-table.ts caps details).
  const huge = await rawCall(address, 'GetNode', pbString(1, 'x'.repeat(MIB)));
  t.equal(huge?.code, grpc.status.INVALID_ARGUMENT, 'a 1 MiB node name is INVALID_ARGUMENT (the request bounds)');
  t.ok(huge && Buffer.byteLength(huge.details) <= 1500, 'and its details are short');
  t.match(huge?.details, /^name: /, 'naming the field');
}

/** The scheduler under test runs with its inspector on a free loopback port: settledMemory asks it for a full GC. */
function inspectorEnv(): NodeJS.ProcessEnv {
  const diag = process.env.GANTRY_FUZZ_GC_DIAG ? ` --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${process.env.GANTRY_FUZZ_GC_DIAG}` : '';
  return { NODE_OPTIONS: `--inspect=127.0.0.1:0${diag}` };
}

t.test('API fuzz, plaintext with the anonymous admin', async (t) => {
  const sched = await startScheduler(t, { lostAfterMs: 3000, env: inspectorEnv() });
  const agents = [];
  for (const n of NODES) agents.push(await startAgent(t, n, sched.address));
  // Both daemons serve their event-loop delay (the agent's is read here; the scheduler's through the run).
  t.match(await httpGet(`http://127.0.0.1:${agents[0]!.metricsPort}/metrics`), /^gantry_agent_event_loop_delay_max_seconds \d/m, 'the agent serves its event-loop delay');
  const admin = schedulerClient(sched.address);
  t.teardown(() => admin.close());
  await statusChecks(t, sched.address, String((await schedulerCall(admin, 'SubmitJob', { spec: validSpec(rng(SEED), 'status-checks'), owner: '' })).id));
  await fuzz(
    t,
    'plaintext',
    {
      address: sched.address,
      pid: sched.child.proc.pid!,
      metricsPort: sched.metricsPort,
      creds: grpc.credentials.createInsecure(),
      endpoint: { port: sched.grpcPort },
      inspectorUrl: inspectorUrlOf(sched.child.output()),
      nodes: async () => (await schedulerCall(admin, 'ListNodes', {}, 30_000)).nodes.map((n) => ({ name: String(n.name), connectivity: String(n.connectivity), schedulability: String(n.schedulability) })),
    },
    admin,
  );
});

t.test('API fuzz, TLS with a user certificate', async (t) => {
  const pki = await makePki(t);
  const user = await pki.user('fuzzer');
  const sched = await startScheduler(t, {
    secure: true,
    lostAfterMs: 3000,
    env: inspectorEnv(),
    extraArgs: [...schedulerTlsArgs(pki), '--set', 'auth.roles.admin.users=[fuzzer]', '--set', 'auth.runAs.users.fuzzer=[nobody]'],
  });
  for (const n of NODES) await startAgent(t, n, sched.address, { secure: true, extraArgs: agentTlsArgs(pki, await pki.node(n)) });
  const admin = clientAs(t, sched.address, pki, user);
  await fuzz(
    t,
    'TLS',
    {
      address: sched.address,
      pid: sched.child.proc.pid!,
      metricsPort: sched.metricsPort,
      creds: grpc.credentials.createSsl(Buffer.from(pki.ca.cert), Buffer.from(user.key), Buffer.from(user.cert)),
      endpoint: { port: sched.grpcPort, tls: { ca: pki.ca.cert, cert: user.cert, key: user.key } },
      inspectorUrl: inspectorUrlOf(sched.child.output()),
      nodes: async () => (await schedulerCall(admin, 'ListNodes', {}, 30_000)).nodes.map((n) => ({ name: String(n.name), connectivity: String(n.connectivity), schedulability: String(n.schedulability) })),
    },
    admin,
  );
});
