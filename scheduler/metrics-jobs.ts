/**
 * The scheduler's job and allocation metrics (issue 23 point 3), the series Kueue and KAI users
 * look for, registered on the scheduler's registry (metrics.ts has the node, health and API ones).
 *
 * Cardinality, bounded:
 * - `queue`: the configured queues (the config's `queues`, plus `default`);
 * - `state`: the non-terminal job states (5); `cause`: the RequeueCause kinds (12);
 * - topology gauges: per level and domain for the configured levels and the cluster root (not per
 *   node), at most MAX_DOMAINS_PER_LEVEL domains a level, the rest summed as domain `_other`;
 * - GPU-hours: per queue and user; users are those who submit jobs (bounded by the auth config's
 *   role bindings in practice), at most MAX_USAGE_SERIES (queue, user) pairs, the rest as user `_other`.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ACTIVE_JOB_STATES, TERMINAL_JOB_STATES, type JobRecord, type JobState, type RankUsageEntry } from '../shared/domain/index.js';
import type { GantryEvent } from '../shared/events/index.js';
import type { ClusterTopologyView } from '../shared/wire/index.js';
import type { EventBus } from './events/index.js';
import { jobGpus, type QueueConfig } from './queue/index.js';

export const MAX_DOMAINS_PER_LEVEL = 256;
export const MAX_USAGE_SERIES = 1000;
const LIVE_STATES: readonly JobState[] = ['pending', 'placed', 'starting', 'running', 'requeued'];
const REQUEUE_CAUSES = [
  'rank-exited',
  'rank-failed-to-start',
  'rank-gone',
  'node-lost',
  'preempted',
  'drain-deadline',
  'run-as-refused',
  'time-limit',
  'out-of-memory',
  'prolog-failed',
  'node-unhealthy',
  'application-xid',
] as const;

export interface JobMetricsSource {
  /** Jobs not in a terminal state. */
  live(): Iterable<JobRecord>;
  /** A job by id (undefined when unknown). */
  find(id: string): JobRecord | undefined;
  topology(): ClusterTopologyView;
  queues: Readonly<Record<string, QueueConfig>>;
  nowMs(): number;
}

export interface JobMetrics {
  /** A scheduling cycle took this long (seconds). */
  observeCycle(seconds: number): void;
  /** Rank usage entries that ended: their GPU-hours counted per queue and user. */
  ranksEnded(entries: readonly RankUsageEntry[]): void;
}

export function registerJobMetrics(registry: Registry, events: EventBus, src: JobMetricsSource): JobMetrics {
  const queues = [...new Set(['default', ...Object.keys(src.queues)])].sort();
  new Gauge({
    name: 'gantry_scheduler_jobs',
    help: 'Jobs not in a terminal state, by state (pending, placed, starting, running, requeued) and queue.',
    labelNames: ['state', 'queue'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>();
      for (const q of queues) for (const s of LIVE_STATES) counts.set(`${s}\u0000${q}`, 0);
      for (const j of src.live()) {
        if (TERMINAL_JOB_STATES.has(j.state)) continue;
        const k = `${j.state}\u0000${j.spec.queue}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      for (const [k, v] of counts) {
        const [state, queue] = k.split('\u0000') as [string, string];
        this.set({ state, queue }, v);
      }
    },
  });
  new Gauge({
    name: 'gantry_scheduler_job_oldest_pending_seconds',
    help: 'Per queue: how long its longest-waiting pending job has waited (from its submission, or from when it became pending again after a requeue); held jobs are not counted; 0 when none waits.',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      const now = src.nowMs();
      const oldest = new Map<string, number>(queues.map((q) => [q, 0]));
      for (const j of src.live()) {
        if (j.state !== 'pending' || j.held) continue;
        const waited = Math.max(0, now - Math.max(j.submittedMs, j.requeueAtMs)) / 1000;
        oldest.set(j.spec.queue, Math.max(oldest.get(j.spec.queue) ?? 0, waited));
      }
      for (const [queue, v] of oldest) this.set({ queue }, v);
    },
  });
  const quota = (name: string, help: string, value: (used: number, q: QueueConfig) => number | null): void => {
    new Gauge({
      name,
      help,
      labelNames: ['queue'],
      registers: [registry],
      collect() {
        const used = new Map<string, number>(queues.map((q) => [q, 0]));
        for (const j of src.live()) if (ACTIVE_JOB_STATES.has(j.state)) used.set(j.spec.queue, (used.get(j.spec.queue) ?? 0) + jobGpus(j));
        for (const [q, n] of used) {
          const v = value(n, src.queues[q] ?? { priority: 0, nominalGpus: null, borrowingLimitGpus: null, weight: 1 });
          if (v !== null) this.set({ queue: q }, v);
        }
      },
    });
  };
  quota('gantry_scheduler_queue_gpus_used', "GPUs held by a queue's placed, starting and running jobs.", (used) => used);
  quota('gantry_scheduler_queue_gpus_borrowed', 'GPUs a queue holds above its nominal quota (0 within it); queues without a nominal quota have no series.', (used, q) =>
    q.nominalGpus === null ? null : Math.max(0, used - q.nominalGpus),
  );
  quota('gantry_scheduler_queue_gpus_nominal', "A queue's nominal GPU quota (queues without one have no series).", (_used, q) => q.nominalGpus);
  new Gauge({
    name: 'gantry_scheduler_topology_gpus',
    help: `GPUs per topology domain (configured levels and the cluster root; not per node) by state: allocated (to active jobs), free (placeable now), unavailable. At most ${MAX_DOMAINS_PER_LEVEL} domains a level; the rest are summed as domain _other.`,
    labelNames: ['level', 'domain', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      let view: ClusterTopologyView;
      try {
        view = src.topology();
      } catch {
        return; // the tree cannot be built now (the cluster view logs why): no series, the scrape still answers
      }
      const perLevel = new Map<string, number>();
      const sums = new Map<string, { level: string; domain: string; used: number; free: number; unavailable: number }>();
      for (const d of view.domains) {
        if (d.level === 'node') continue;
        const n = (perLevel.get(d.level) ?? 0) + 1;
        perLevel.set(d.level, n);
        const domain = n > MAX_DOMAINS_PER_LEVEL ? '_other' : d.name;
        const k = `${d.level}\u0000${domain}`;
        const s = sums.get(k) ?? { level: d.level, domain, used: 0, free: 0, unavailable: 0 };
        s.used += d.gpusUsed;
        s.free += d.gpusFree;
        s.unavailable += d.gpusUnavailable;
        sums.set(k, s);
      }
      for (const s of sums.values()) {
        this.set({ level: s.level, domain: s.domain, state: 'allocated' }, s.used);
        this.set({ level: s.level, domain: s.domain, state: 'free' }, s.free);
        this.set({ level: s.level, domain: s.domain, state: 'unavailable' }, s.unavailable);
      }
    },
  });
  const pending = new Histogram({
    name: 'gantry_scheduler_job_pending_seconds',
    help: 'How long a job waited to be placed (from its submission, or from when a requeued job became pending again), observed when placed, by queue.',
    labelNames: ['queue'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400],
    registers: [registry],
  });
  const cycles = new Histogram({
    name: 'gantry_scheduler_cycle_duration_seconds',
    help: 'Scheduling cycles: planning and committing their changes (the commands go out after).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const admissions = new Counter({ name: 'gantry_scheduler_admissions_total', help: 'Jobs placed (admitted: their GPUs allocated), by queue.', labelNames: ['queue'], registers: [registry] });
  const preemptions = new Counter({ name: 'gantry_scheduler_preemptions_total', help: 'Jobs preempted (stopped and requeued for a job they were outranked by), by queue of the preempted job.', labelNames: ['queue'], registers: [registry] });
  const requeues = new Counter({ name: 'gantry_scheduler_requeues_total', help: 'Jobs requeued, by cause (a RequeueCause kind: rank-exited, node-lost, preempted, time-limit, ...).', labelNames: ['cause'], registers: [registry] });
  const gpuHours = new Counter({
    name: 'gantry_scheduler_gpu_hours_total',
    help: `GPU-hours of ranks that ended (GPUs x the rank's run, as its agent measured it), by queue and user; at most ${MAX_USAGE_SERIES} (queue, user) pairs, the rest as user _other.`,
    labelNames: ['queue', 'user'],
    registers: [registry],
  });
  for (const q of queues) {
    admissions.inc({ queue: q }, 0);
    preemptions.inc({ queue: q }, 0);
    pending.zero({ queue: q });
  }
  for (const c of REQUEUE_CAUSES) requeues.inc({ cause: c }, 0);
  const seen = new Set<string>();
  const queueOf = (q: string): string => (queues.includes(q) ? q : 'default');
  events.subscribe((e: GantryEvent) => {
    if (e.kind !== 'job') return;
    if (e.type === 'placed') {
      const j = src.find(e.job);
      const queue = queueOf(j?.spec.queue ?? 'default');
      admissions.inc({ queue });
      if (j) pending.observe({ queue }, Math.max(0, src.nowMs() - Math.max(j.submittedMs, j.requeueAtMs)) / 1000);
    } else if (e.type === 'requeued' && e.cause) {
      requeues.inc({ cause: e.cause.kind });
      if (e.cause.kind === 'preempted') preemptions.inc({ queue: queueOf(src.find(e.job)?.spec.queue ?? 'default') });
    }
  });
  return {
    observeCycle: (s) => cycles.observe(s),
    ranksEnded(entries) {
      for (const r of entries) {
        if (r.startMs <= 0 || r.endMs <= r.startMs) continue;
        let key = `${r.queue}\u0000${r.user}`;
        if (!seen.has(key)) {
          if (seen.size < MAX_USAGE_SERIES) seen.add(key);
          else key = `${r.queue}\u0000_other`;
        }
        const [queue, user] = key.split('\u0000') as [string, string];
        gpuHours.inc({ queue, user }, (r.gpus.length * (r.endMs - r.startMs)) / 3_600_000);
      }
    },
  };
}
