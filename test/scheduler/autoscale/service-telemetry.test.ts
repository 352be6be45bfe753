/**
 * Scheduler side of SLO autoscaling on real parts: two stand-in inference servers (child
 * processes), the agent's scraper publishing through a real nats-server, and the scheduler's
 * ServiceTelemetry subscriber deciding up, then down, as the servers' latency changes.
 */
import t from 'tap';
import path from 'node:path';
import { connect } from 'nats';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { SloScraper } from '../../../agent/slo/index.js';
import { NatsTelemetrySink } from '../../../agent/telemetry/index.js';
import { runsReplicaOf, ServiceTelemetry, type ServiceDecision } from '../../../scheduler/autoscale/index.js';
import type { JobRecord } from '../../../shared/domain/index.js';
import { serviceTelemetrySubject } from '../../../shared/events/index.js';
import { systemClock } from '../../../shared/clock/index.js';
import { freePort, startChild, waitForPort } from '../../../shared/procs/index.js';
import { httpGet, ROOT, startNats, waitFor } from '../../harness/cluster.js';

const SERVER = path.join(ROOT, 'scripts', 'sim', 'inference-server.mjs');
const METRIC = 'vllm:e2e_request_latency_seconds';

t.test('p99 over the SLO scales the service up; well under it, down', async (t) => {
  const nats = await startNats(t);
  const log = pino({ level: 'silent' });
  const ports: number[] = [];
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const c = startChild(`inference-${i}`, process.execPath, [SERVER, '--port', String(port), '--rate', '200', '--latency-ms', '2000']);
    t.teardown(() => c.kill());
    await waitForPort(port, 10_000);
    ports.push(port);
  }

  let current = 1;
  const registry = new Registry();
  const telemetry = new ServiceTelemetry(
    { windowMs: 1000, upFactor: 1, upAfterMs: 300, downFactor: 0.5, downAfterMs: 300, cooldownMs: 600, minSamples: 20 },
    { lookup: (s) => (s === 'svc' ? { current, min: 1, max: 3, p99Ms: 1000 } : undefined), runsReplica: (s, node) => s === 'svc' && node === 'n1', clock: systemClock, log, registry },
  );
  const decisions: ServiceDecision[] = [];
  telemetry.onDecision((d) => {
    decisions.push(d);
    current = d.target; // what the job manager would do, at once
  });
  telemetry.start({ servers: nats.url, name: 'scheduler-test' });
  t.teardown(() => telemetry.close());
  await telemetry.ready();

  const sink = new NatsTelemetrySink({ servers: nats.url, name: 'agent-test' }, log);
  sink.start();
  t.teardown(() => sink.close());
  await waitFor('sink connected', () => sink.connected, 10_000);
  const scraper = new SloScraper({ nodeName: 'n1', scrapeIntervalMs: 100, scrapeTimeoutMs: 1000 }, { sink, clock: systemClock, log });
  t.teardown(() => scraper.close());
  ports.forEach((port, replica) => scraper.track({ jobId: 'svc', rank: replica, epoch: 1, service: 'svc', metric: METRIC, port, windowMs: 0, replica }));

  const up = await waitFor('a scale-up decision', () => decisions.find((d) => d.target > d.current), 20_000, 50);
  t.equal(up.service, 'svc');
  t.equal(up.current, 1);
  t.equal(up.target, 2);
  t.match(up.reason, /^p99 \d+ ms > SLO 1000 ms for [\d.]+ s: 1 → 2 replicas$/);
  t.ok(up.p99Seconds > 1, `p99 ${up.p99Seconds} s`);
  const p99Metric = (await registry.getSingleMetric('gantry_scheduler_service_p99_seconds')!.get()).values.find((v) => v.labels.service === 'svc');
  t.ok(p99Metric && p99Metric.value > 1, 'the p99 is exported');

  for (const port of ports) await httpGet(`http://127.0.0.1:${port}/control?latencyMs=100`);
  const down = await waitFor('a scale-down decision', () => decisions.find((d) => d.target < d.current), 20_000, 50);
  t.match(down.reason, /^p99 \d+ ms < 500 ms \(0.5 × SLO 1000 ms\) for [\d.]+ s: \d → \d replicas$/);
  t.ok(down.p99Seconds < 0.5, `p99 ${down.p99Seconds} s`);
  const target = (await registry.getSingleMetric('gantry_scheduler_service_replicas_target')!.get()).values.find((v) => v.labels.service === 'svc');
  t.equal(target?.value, down.target, 'the target is exported');
  for (let i = 1; i < decisions.length; i++) {
    t.ok(decisions[i]!.atMs - decisions[i - 1]!.atMs >= 600, 'cooldown between steps');
  }
  t.ok(decisions.every((d) => d.target >= 1 && d.target <= 3), 'always within min and max');

  // Garbage and windows of unknown services are counted, not acted on.
  const nc = await connect({ servers: nats.url });
  nc.publish('gantry.telemetry.service.n1', new TextEncoder().encode('{"v":99}'));
  nc.publish('gantry.telemetry.service.n2', new TextEncoder().encode('not json'));
  await nc.flush();
  await nc.close();
  await waitFor('invalid windows counted', () => telemetry.stats.invalid >= 2, 10_000, 20);
  t.ok(telemetry.stats.received > 10, `windows received: ${telemetry.stats.received}`);
});

t.test('the node is the subject: windows naming another node, or from a node running no replica, are dropped and counted', async (t) => {
  const registry = new Registry();
  const replicas = new Map([['svc', new Set(['n1', 'n2'])]]);
  const telemetry = new ServiceTelemetry(
    { windowMs: 1000, upFactor: 1, upAfterMs: 0, downFactor: 0.5, downAfterMs: 0, cooldownMs: 0, minSamples: 1 },
    {
      lookup: (s) => (replicas.has(s) ? { current: 2, min: 1, max: 3, p99Ms: 1000 } : undefined),
      runsReplica: (s, node) => replicas.get(s)?.has(node) ?? false,
      clock: { nowMs: () => 10_000 },
      log: pino({ level: 'silent' }),
      registry,
    },
  );
  const decisions: ServiceDecision[] = [];
  telemetry.onDecision((d) => decisions.push(d));
  const slow = (node: string, service = 'svc'): Uint8Array =>
    new TextEncoder().encode(
      JSON.stringify({ v: 1, service, metric: METRIC, node, jobId: service, epoch: 1, rank: 0, replica: 0, startMs: 0, endMs: 1, le: [1, 2], buckets: [0, 0, 100], count: 100, sum: 500, reset: false }),
    );
  // n3 runs no replica of svc: its windows (naming itself, as its permission forces) are not svc's.
  telemetry.handle(serviceTelemetrySubject('n3'), slow('n3'));
  // n3 claims to be n1 in the payload, on its own subject.
  telemetry.handle(serviceTelemetrySubject('n3'), slow('n1'));
  // n1 (a replica's node) naming n2 in the payload is no better.
  telemetry.handle(serviceTelemetrySubject('n1'), slow('n2'));
  t.match(telemetry.stats, { received: 3, foreign: 3, invalid: 0, ignored: 0, decisions: 0 });
  t.same(decisions, [], 'no decision from foreign windows');
  // A subject naming no node is invalid; an unknown service is ignored (as before).
  telemetry.handle('gantry.telemetry.service.n1.extra', slow('n1'));
  telemetry.handle(serviceTelemetrySubject('n1'), slow('n1', 'gone'));
  t.match(telemetry.stats, { received: 5, foreign: 3, invalid: 1, ignored: 1 });
  // A replica's node speaking for itself is taken (and its p99 over the SLO scales the service).
  telemetry.handle(serviceTelemetrySubject('n2'), slow('n2'));
  t.match(telemetry.stats, { received: 6, foreign: 3, invalid: 1, ignored: 1, decisions: 1 });
  t.equal(decisions[0]?.target, 3);
  const text = await registry.metrics();
  t.match(text, /gantry_scheduler_service_windows_total\{result="accepted"\} 1/);
  t.match(text, /gantry_scheduler_service_windows_total\{result="foreign"\} 3/);
  t.match(text, /gantry_scheduler_service_windows_total\{result="invalid"\} 1/);
  t.match(text, /gantry_scheduler_service_windows_total\{result="ignored"\} 1/);
});

t.test('runsReplicaOf: a live rank of an active job on that node', async (t) => {
  const job = (state: string, ranks: Array<{ node: string; state: string }>): JobRecord => ({ state, ranks }) as unknown as JobRecord;
  t.ok(runsReplicaOf(job('running', [{ node: 'n1', state: 'running' }]), 'n1'));
  t.ok(runsReplicaOf(job('running', [{ node: 'n2', state: 'exited' }, { node: 'n1', state: 'starting' }]), 'n1'), 'starting counts');
  t.notOk(runsReplicaOf(job('running', [{ node: 'n1', state: 'running' }]), 'n2'), 'another node');
  t.notOk(runsReplicaOf(job('running', [{ node: 'n1', state: 'exited' }]), 'n1'), 'its rank there exited');
  t.notOk(runsReplicaOf(job('succeeded', [{ node: 'n1', state: 'running' }]), 'n1'), 'the job ended');
  t.notOk(runsReplicaOf(undefined, 'n1'), 'no job');
});
