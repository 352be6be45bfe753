/** Scheduler options, compiled once at start. Defaults are documented in the README's config reference. */
import { z } from 'zod';
import { hostPortSchema, logSchema, natsAndLogEnv, serverTlsSchema, type EnvBinding, type FlagBinding } from '../shared/config/index.js';
import { natsClientShape } from '../shared/natsconn/index.js';
import { authConfigSchema } from './auth/config.js';
import { SPEC_FIELD_LIMITS } from '../shared/jobspec/index.js';

export const schedulerConfigSchema = z.strictObject({
  /** Identifies this scheduler to agents and in events. */
  schedulerId: z.string().min(1).default('gantry-scheduler'),
  /** LMDB environment directory. */
  dataDir: z.string().min(1).default('/var/lib/gantry/scheduler'),
  /**
   * SIGTERM: the cycle in flight ends, gRPC drains (<= 2 s), the event outbox is flushed to NATS
   * (<= 2 s; the rest stays in the outbox for the next start), LMDB is closed. A stop still running
   * after this long is abandoned and the process exits with status 1. Keep it under the unit's TimeoutStopSec.
   */
  shutdownTimeoutMs: z.number().int().min(1000).default(10_000),
  grpc: z
    .strictObject({
      listen: hostPortSchema.prefault('127.0.0.1:7070'),
      /** Plaintext gRPC, with no TLS and no client certificates (logs a warning at start). Loopback development and tests only. */
      insecure: z.boolean().default(false),
      tls: serverTlsSchema,
      /** Largest request message the server reads; larger ones get RESOURCE_EXHAUSTED unread. */
      maxReceiveMessageBytes: z.number().int().min(65_536).max(256 * 1024 * 1024).default(4 * 1024 * 1024),
      /** Largest response message the server sends (ListJobs, ListNodes and ReadLogs answers). */
      maxSendMessageBytes: z.number().int().min(65_536).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
      /**
       * A connection with no call open this long is closed (GOAWAY; a client reconnects on its next
       * call). It also frees the connections a protocol error left half-open: Node's HTTP/2 stops
       * reading once it has sent its GOAWAY, and would hold them until the keepalive ping timed
       * out (50 s). An agent's Connect stream and open WatchEvents are calls: never idle.
       */
      maxConnectionIdleMs: z.number().int().min(100).default(10_000),
      /**
       * Requests per second each caller may make to SchedulerService (a token bucket per verified
       * identity, per client address for anonymous callers); excess calls get RESOURCE_EXHAUSTED
       * with a retry-after-ms hint. 0: no limit.
       */
      rateLimit: z
        .strictObject({
          requestsPerSecond: z.number().min(0).default(50),
          /** Calls a caller may make at once after being idle (the bucket's size). */
          burst: z.number().int().min(1).default(100),
        })
        .prefault({}),
    })
    .prefault({}),
  metrics: z.strictObject({ listen: hostPortSchema.prefault('127.0.0.1:9470') }).prefault({}),
  nats: z
    .strictObject({
      /** false: events are kept in memory only (no NATS). */
      enabled: z.boolean().default(true),
      ...natsClientShape,
      streamMaxBytes: z.number().int().positive().default(1024 * 1024 * 1024),
      streamMaxAgeMs: z.number().int().positive().default(7 * 24 * 3600 * 1000),
    })
    .prefault({}),
  nodes: z
    .strictObject({
      /** A node that has not reported for this long is lost. */
      lostAfterMs: z.number().int().min(100).default(15_000),
      /** After a scheduler restart, stored ready nodes have at least this long to reconnect before they are lost. */
      restartGraceMs: z.number().int().min(0).default(30_000),
      /** Report interval the scheduler asks agents to use. */
      reportIntervalMs: z.number().int().min(50).default(5_000),
      /** A node name never seen before takes no work until `gantry node approve NAME`. */
      requireApproval: z.boolean().default(false),
    })
    .prefault({}),
  /** Health policy (issue 20): what a node's failed checks and incidents do, the circuit breaker on it, and diagnostics. */
  health: z
    .strictObject({
      /** A verdict whose action is evict stops the gangs on its node within this long (the stop's grace is the job's, at most this) and requeues them, no retry used. */
      evictWithinMs: z.number().int().min(0).max(3_600_000).default(30_000),
      /** A job whose prolog failed on this many distinct nodes is held until an operator releases it (gantry release). */
      prologFailuresToHold: z.number().int().min(1).max(1000).default(3),
      /** Automatic cordons, drains and evictions stop while more than this share of the nodes would be out (cordoned, draining, lost or unhealthy); at least one node may always be out unless it is 0. */
      maxAutoDrainShare: z.number().min(0).max(1).default(0.1),
      /** Diagnostics and return: a node drained for health ('health: ...') with no ranks runs the agent's diagnostic; a pass uncordons it. */
      diagnostic: z
        .strictObject({
          /** Tries per drain (a drain ends when the node is schedulable again); 0: never run diagnostics, nodes stay drained until uncordoned by hand. */
          maxTries: z.number().int().min(0).max(100).default(3),
          /** Between two tries of one drain, and after a return before the node's next diagnostic (anti-flap). */
          holdDownMs: z.number().int().min(0).max(7 * 24 * 3_600_000).default(600_000),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Usage accounting (issue 23): rank usage entries and node history, `gantry usage`. */
  usage: z
    .strictObject({
      /** Usage entries that ended more than this many days ago are pruned (hourly); a node's state at the cutoff is kept. */
      retentionDays: z.number().int().min(1).max(36_500).default(90),
    })
    .prefault({}),
  topology: z
    .strictObject({
      /** Levels above the node, finest first (e.g. [nvlink, leaf, spine]); agents report their domain per level. */
      levels: z.array(z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'level names are lower-case words')).default(['nvlink', 'leaf', 'spine']),
    })
    .prefault({}),
  jobs: z
    .strictObject({
      /** MASTER_PORT values reserved per node, so two gangs never share one. */
      masterPortMin: z.number().int().min(1024).max(65535).default(29500),
      masterPortMax: z.number().int().min(1024).max(65535).default(29999),
      /** Backoff before a requeued gang is tried again: initial × 2^(retry-1), capped. */
      requeueInitialMs: z.number().int().min(0).default(2_000),
      requeueMaxMs: z.number().int().min(0).default(60_000),
      /** Timer-driven scheduling cycles (besides those on submit, node change and task exit). */
      cycleIntervalMs: z.number().int().min(50).default(2_000),
      /** Fair share: a queue's past GPU usage weighs half after this long. */
      fairShareHalfLifeMs: z.number().int().min(1000).default(24 * 3600 * 1000),
      /** Pending jobs a scheduling cycle looks at, in admission order; the rest wait, not tried this cycle. 0: all. */
      queueDepthJobs: z.number().int().min(0).max(1_000_000).default(500), // planner.ts DEFAULT_QUEUE_DEPTH_JOBS
      /** A stopped rank's GPUs stay taken until its exit is reported, or its grace period plus this. */
      stopSlackMs: z.number().int().min(0).default(15_000),
      /** Largest job spec accepted, in bytes of UTF-8 (at most 1 MiB). */
      maxSpecBytes: z.number().int().min(1024).max(1024 * 1024).default(1024 * 1024),
      /** Deepest nesting of a job spec, checked before it is parsed. */
      maxSpecDepth: z.number().int().min(4).max(1000).default(64),
      /** YAML aliases a job spec may expand. */
      maxSpecAliases: z.number().int().min(0).max(10_000).default(100),
      /** YAML nodes (values, collections, entries) a spec may hold, counted before it is parsed (the parser's work grows with them). */
      maxSpecNodes: z.number().int().min(100).max(1_000_000).default(20_000),
      /** Most ranks in one unit of a job (a training gang, an inference replica, a batch shard). */
      maxRanksPerJob: z.number().int().min(1).max(100_000).default(16_384),
      /** Most shards of one Batch job. */
      maxShardsPerJob: z.number().int().min(1).max(1_000_000).default(100_000),
      /** Highest replicas.max of one Inference job. */
      maxReplicasPerJob: z.number().int().min(1).max(10_000).default(1_000),
      /** Most arguments in a spec's `command` (the default is also the ceiling). */
      maxCommandArgs: z.number().int().min(1).max(SPEC_FIELD_LIMITS.commandMaxArgs).default(SPEC_FIELD_LIMITS.commandMaxArgs),
      /** Bytes of UTF-8 in one argument of `command` (ceiling: Linux's MAX_ARG_STRLEN, 128 KiB). */
      maxCommandArgBytes: z.number().int().min(1).max(SPEC_FIELD_LIMITS.commandArgMaxBytes).default(SPEC_FIELD_LIMITS.commandArgMaxBytes),
      /** Bytes of every argument of `command` together. */
      maxCommandBytes: z.number().int().min(1).max(SPEC_FIELD_LIMITS.commandMaxBytes).default(SPEC_FIELD_LIMITS.commandMaxBytes),
      /** Most variables in a spec's `env`. */
      maxEnvVars: z.number().int().min(0).max(SPEC_FIELD_LIMITS.envMaxKeys).default(SPEC_FIELD_LIMITS.envMaxKeys),
      /** Bytes of one variable name in `env`. */
      maxEnvNameBytes: z.number().int().min(1).max(SPEC_FIELD_LIMITS.envNameMaxBytes).default(SPEC_FIELD_LIMITS.envNameMaxBytes),
      /** Bytes of one value in `env`. */
      maxEnvValueBytes: z.number().int().min(0).max(SPEC_FIELD_LIMITS.envValueMaxBytes).default(SPEC_FIELD_LIMITS.envValueMaxBytes),
      /** Bytes of every name and value of `env` together. */
      maxEnvBytes: z.number().int().min(0).max(SPEC_FIELD_LIMITS.envMaxBytes).default(SPEC_FIELD_LIMITS.envMaxBytes),
    })
    .prefault({}),
  /** Named queues: priority, GPU quota (nominal + borrowing limit) and fair-share weight. */
  queues: z
    .record(
      z.string().regex(/^[a-z0-9-]{1,63}$/, 'queue names are 1-63 characters of a-z, 0-9 and -'),
      z.strictObject({
        /** Higher priority queues are served first and may preempt lower ones. */
        priority: z.number().int().min(0).max(1000).default(0),
        /** GPUs guaranteed to this queue (reclaimed from borrowers by preemption); null: no quota. */
        nominalGpus: z.number().int().min(0).nullable().default(null),
        /** GPUs above nominal it may borrow while others leave them idle; null: no limit. */
        borrowingLimitGpus: z.number().int().min(0).nullable().default(null),
        /** Fair-share weight among queues of equal priority. */
        weight: z.number().positive().default(1),
        /** The groups whose members may submit to this queue; null: every user. */
        groups: z.array(z.string().min(1)).nullable().default(null),
      }),
    )
    .default({ default: { priority: 0, nominalGpus: null, borrowingLimitGpus: null, weight: 1, groups: null } }),
  /** Identity and authorization: roles, tokens, runAs, revoked certificates (README "Security"). */
  auth: authConfigSchema,
  /** SLO autoscaling of Inference jobs from service telemetry on NATS (needs nats.enabled). */
  autoscale: z
    .strictObject({
      /** false: service telemetry is not read and no scaling decisions are made. */
      enabled: z.boolean().default(true),
      /** Sliding window the p99 is computed over, from every replica's windows. */
      windowMs: z.number().int().min(100).default(60_000),
      /** Scale up when p99 > slo.p99Ms × upFactor ... */
      upFactor: z.number().positive().default(1),
      /** ... for this long. */
      upAfterMs: z.number().int().min(0).default(30_000),
      /** Scale down when p99 < slo.p99Ms × downFactor ... */
      downFactor: z.number().positive().default(0.5),
      /** ... for this long. */
      downAfterMs: z.number().int().min(0).default(120_000),
      /** At least this long between two steps of one service. */
      cooldownMs: z.number().int().min(0).default(60_000),
      /** Observations the window must hold before the autoscaler acts. */
      minSamples: z.number().int().min(1).default(50),
    })
    .prefault({}),
  /** East-west latency telemetry from agents (needs nats.enabled) and degraded-domain detection. */
  telemetry: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Latency windows are merged over this sliding window. */
      slidingWindowMs: z.number().int().min(100).default(60_000),
      /** How often domains are re-evaluated (and peer lists refreshed). */
      evaluateIntervalMs: z.number().int().min(50).default(5_000),
      /** A domain is above when its p99 exceeds this many times its siblings' p99. */
      degradeFactor: z.number().min(1).default(3),
      /** Above for this long: degraded. */
      degradeAfterMs: z.number().int().min(0).default(30_000),
      /** Not above (or no data) for this long: recovered. */
      clearAfterMs: z.number().int().min(0).default(60_000),
      /** Fewest samples (RTTs and lost probes) in the sliding window for a domain to be judged. */
      minSamples: z.number().int().min(1).default(100),
      /** Siblings' p99 below this counts as this, so microsecond jitter marks nothing. */
      p99FloorMs: z.number().min(0).default(0.2),
      /** Peers each agent probes per step up the tree, finest first: same leaf, another leaf of the spine, another spine. */
      peersPerLevel: z.array(z.number().int().min(0).max(64)).default([2, 1, 1]),
    })
    .prefault({}),
  /**
   * High availability (scheduler/ha, docs/high-availability.md): schedulers of one cluster elect a
   * leader on a JetStream KV lease and keep their state on a replicated stream (needs nats.enabled
   * and a 3-server JetStream cluster for replicas 3).
   */
  ha: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** The lease's time to live: a dead leader is replaced within about this long. Keep it above a nats-server's stream-leader election (4-6 s measured). */
      leaseTtlMs: z.number().int().min(1000).max(300_000).default(10_000),
      /** Replicas of the lease bucket, the state stream and the snapshot store (1 for a single nats-server). */
      replicas: z.number().int().min(1).max(5).default(3),
      /** The address (host:port) clients reach this scheduler at, which a standby names as the leader's; default grpc.listen. */
      advertise: z.string().default(''),
      /** How often a standby applies the state stream's new entries. */
      followIntervalMs: z.number().int().min(10).default(500),
      /** The leader snapshots the state and compacts the stream after this many entries. */
      snapshotEveryEntries: z.number().int().min(10).default(10_000),
    })
    .prefault({}),
  placement: z
    .strictObject({
      /** Degraded domains: avoid (only when nothing as good by objectives 1-3 is healthy), exclude (never), ignore. */
      degradedDomains: z.enum(['avoid', 'exclude', 'ignore']).default('avoid'),
      /**
       * Locality wait (issue 22, scheduler/jobs/locality-wait.ts): a Training gang that fits now only
       * above its minimal level (the finest level that could hold it on the empty cluster) may wait
       * for a minimal domain. off: start at once (as before); bounded: wait, holding nothing, until
       * min(first could-spread + bound, pending since + capMs), then spread; reserve: as bounded, and
       * hold the minimal domain that frees soonest by the running jobs' time limits (spread at once
       * when it is due only after that deadline). bound = maxWaitMs + agingPerGpuMs × the gang's GPUs
       * − agingPerQueuedJobMs × other pending jobs, never below 0 (agingPerGpuMs may be negative:
       * large gangs spread sooner).
       */
      localityWait: z
        .strictObject({
          mode: z.enum(['off', 'bounded', 'reserve']).default('reserve'),
          maxWaitMs: z.number().int().min(0).max(7 * 24 * 3_600_000).default(25_600_000),
          agingPerGpuMs: z.number().int().min(-3_600_000).max(3_600_000).default(-100_000),
          agingPerQueuedJobMs: z.number().int().min(0).max(3_600_000).default(0),
          capMs: z.number().int().min(0).max(30 * 24 * 3_600_000).default(14_400_000),
        })
        .prefault({}),
    })
    .prefault({}),
  log: logSchema,
});

export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;

export const schedulerEnv: readonly EnvBinding[] = [
  { env: 'GANTRY_DATA_DIR', key: 'dataDir' },
  { env: 'GANTRY_GRPC_LISTEN', key: 'grpc.listen' },
  { env: 'GANTRY_METRICS_LISTEN', key: 'metrics.listen' },
  ...natsAndLogEnv(),
];

export const schedulerFlags: readonly FlagBinding[] = [
  { flag: 'data-dir', key: 'dataDir' },
  { flag: 'grpc-listen', key: 'grpc.listen' },
  { flag: 'metrics-listen', key: 'metrics.listen' },
  { flag: 'nats-url', key: 'nats.servers' },
  { flag: 'lost-after-ms', key: 'nodes.lostAfterMs' },
  { flag: 'report-interval-ms', key: 'nodes.reportIntervalMs' },
  { flag: 'log-level', key: 'log.level' },
];
