/** Agent options, compiled once at start. Defaults are documented in the README's config reference. */
import { z } from 'zod';
import { hostPortSchema, logSchema, natsAndLogEnv, clientTlsSchema, type EnvBinding, type FlagBinding } from '../shared/config/index.js';
import { natsClientShape } from '../shared/natsconn/index.js';
import { DEFAULT_XID_POLICY } from './health/index.js';

/** An XID code as the driver numbers them. */
const xidCode = z.number().int().min(1).max(9999);

const autoBool = z.union([z.literal('auto'), z.boolean()]);

/** scheduler.address: 'a:7070', 'a:7070,b:7070' or ['a:7070', 'b:7070'] → the non-empty list, each once. */
const schedulerAddressesSchema = z.union([z.string(), z.array(z.string())]).transform((v, ctx) => {
  const list = [...new Set((typeof v === 'string' ? v.split(',') : v).map((s) => s.trim()).filter(Boolean))];
  if (list.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must name at least one scheduler host:port' });
    return z.NEVER;
  }
  return list;
});

export const agentConfigSchema = z.strictObject({
  /** The node's name in the cluster; default: the host name. */
  nodeName: z.string().default(''),
  /** The node's address on the fabric interface (MASTER_ADDR for rank 0); default: the node name. */
  address: z.string().default(''),
  scheduler: z
    .strictObject({
      /**
       * The scheduler's gRPC host:port, or several (a list, or one comma-separated string): the HA
       * schedulers (docs/high-availability.md). The reporter dials one; a standby's refusal names
       * the leader, which it dials next. Output: the list, each once, in order.
       */
      address: schedulerAddressesSchema.default(['127.0.0.1:7070']),
      /** Plaintext gRPC to the scheduler: no TLS, no node certificate (logs a warning at start). Development and tests only. */
      insecure: z.boolean().default(false),
      tls: clientTlsSchema,
      /** Largest message the agent reads from the scheduler (its commands); larger ones end the stream, which reconnects. */
      maxReceiveMessageBytes: z.number().int().min(65_536).max(256 * 1024 * 1024).default(4 * 1024 * 1024),
      /** Largest message the agent sends (reports, log chunks); keep it at most the scheduler's grpc.maxReceiveMessageBytes. */
      maxSendMessageBytes: z.number().int().min(65_536).max(256 * 1024 * 1024).default(4 * 1024 * 1024),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      listen: hostPortSchema.prefault('0.0.0.0:9471'),
      /** Also expose dcgm-exporter's metric names and labels. */
      dcgmCompat: z.boolean().default(false),
      /**
       * Add `job_id`, `rank` and `owner` labels to the per-GPU series of the GPUs a rank holds (empty
       * on the others): one series per GPU and metric at a time, values cut at 128 characters.
       */
      jobLabels: z.boolean().default(false),
    })
    .prefault({}),
  /** How often to report to the scheduler; 0 = the interval the scheduler asks for. */
  reportIntervalMs: z.number().int().min(0).default(0),
  /** How often to probe the hardware. */
  collectIntervalMs: z.number().int().min(100).default(10_000),
  reconnect: z
    .strictObject({
      initialDelayMs: z.number().int().min(1).default(500),
      maxDelayMs: z.number().int().min(1).default(15_000),
    })
    .prefault({}),
  /** Where the node sits: level -> domain name, e.g. {leaf: leaf-3, spine: spine-1}. */
  topology: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'level names are lower-case words'), z.string().min(1)).default({}),
  /** At most 64; keys up to 317 and values up to 253 characters, no control characters (the scheduler refuses a registration with more). */
  labels: z
    .record(
      z.string().min(1).max(317).regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'label keys must not contain control characters'),
      z.string().max(253).regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'label values must not contain control characters'),
    )
    .refine((l) => Object.keys(l).length <= 64, 'at most 64 labels')
    .default({}),
  collectors: z
    .strictObject({
      nvidia: z
        .strictObject({
          /** 'auto': when the binary is found. */
          enabled: autoBool.default('auto'),
          binary: z.string().min(1).default('nvidia-smi'),
          timeoutMs: z.number().int().min(100).default(10_000),
          /**
           * The full `nvidia-smi -q -x` probe (inventory, firmware, fabric, every reading) runs at start,
           * every this many collection cycles, and at once when the light per-cycle probe
           * (`--query-gpu` CSV) shows something it cannot explain. 1 = full probe every cycle.
           */
          fullProbeEveryCycles: z.number().int().min(1).default(30),
        })
        .prefault({}),
      amd: z
        .strictObject({
          enabled: autoBool.default('auto'),
          binary: z.string().min(1).default('rocm-smi'),
          /** amd-smi for static facts (issue 24): used when found; '' never. rocm-smi keeps the readings. */
          amdSmiBinary: z.string().default('amd-smi'),
          timeoutMs: z.number().int().min(100).default(10_000),
          kfdRoot: z.string().default('/sys/class/kfd/kfd/topology'),
        })
        .prefault({}),
      host: z
        .strictObject({
          enabled: z.boolean().default(true),
          timeoutMs: z.number().int().min(100).default(15_000),
        })
        .prefault({}),
      infiniband: z
        .strictObject({ enabled: z.boolean().default(true), root: z.string().min(1).default('/sys/class/infiniband') })
        .prefault({}),
      kernelLog: z
        .strictObject({
          enabled: z.boolean().default(true),
          path: z.string().default('/dev/kmsg'),
        })
        .prefault({}),
    })
    .prefault({}),
  runner: z
    .strictObject({
      /** Task records, supervisor state and rank logs. */
      stateDir: z.string().min(1).default('/var/lib/gantry/agent'),
      /** Users ranks may run as (a job's runAs). */
      allowedUsers: z.array(z.string().min(1)).default([]),
      /** Whether ranks may run as root (also an empty runAs when the agent runs as root). */
      allowRoot: z.boolean().default(false),
      /**
       * Device files ranks may open besides the built-in set (agent/runner/cgroup/devices.ts), read
       * and write: an exact path under /dev (e.g. /dev/fuse), or `<dir>/*` for every device file in
       * that directory. Enforced where the rank's cgroup limits devices.
       */
      extraDevicePaths: z
        .array(z.string().regex(/^\/dev\/[^\0]*[^/]$/, 'must be a path under /dev/ (a file, or <dir>/*)').refine((p) => !p.split('/').includes('..'), 'must not contain ..'))
        .max(256)
        .default([]),
      /** Where the Node supervisor runs ranks, its gantry-devices run (a rank's device program) is killed after this long (ms); the native supervisor attaches the program itself. */
      deviceHelperTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
      logMaxBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
      logKeep: z.number().int().min(0).default(3),
      /**
       * Which supervisor runs each rank: 'native' (gantry-supervisor, built from C by npm run build;
       * one launcher process per agent forks one per rank), 'node' (supervisor.js), or 'auto':
       * native when it was built, else node.
       */
      supervisor: z.enum(['auto', 'native', 'node']).default('auto'),
      /**
       * Node supervisor only: idle, already booted rank supervisors kept ready, so a start hands
       * its task to one instead of booting a node process (~50 ms of CPU each); refilled once
       * starts go quiet. 0: every start spawns its supervisor. Each idle one holds about 10 MiB.
       */
      warmSupervisors: z.number().int().min(0).max(64).default(1),
      /** How long after the last start (or after losing an idle one) the warm pool is refilled; a burst of starts is never slowed by refills. */
      warmRefillDelayMs: z.number().int().min(0).max(600_000).default(5000),
      /**
       * Rank containment in cgroups (docs/runner.md "Containment"): 'auto' (default) contains each
       * rank with whatever the host's cgroups can enforce and says at start what is not; 'required'
       * refuses to start the agent unless kill, devices, memory, pids and cpuset are all enforced;
       * 'off' runs ranks in process groups only.
       */
      containment: z.enum(['auto', 'required', 'off']).default('auto'),
      /**
       * Where rank cgroups go, as a path inside each hierarchy (e.g. /gantry.slice/agent), for hosts
       * where systemd is not PID 1 or does not delegate; '' (default): under the agent's own cgroup
       * (under systemd: the unit's, with Delegate=yes), or /gantry when that is a hierarchy's root.
       */
      cgroupRoot: z.union([z.literal(''), z.string().regex(/^\/[A-Za-z0-9._\/-]*$/, 'an absolute path of [A-Za-z0-9._-] segments')]).default(''),
      /** A rank's memory limit when its job sets no resources.memoryGiBPerRank; 0 (default): unlimited. */
      defaultMemoryGiBPerRank: z.number().min(0).max(1 << 20).default(0),
      /** A rank's process limit (pids.max) when its job sets no resources.maxProcesses; 0 (default): unlimited. */
      defaultMaxProcesses: z.number().int().min(0).max(4_194_304).default(0),
    })
    .prefault({}),
  /** Prolog and epilog (docs/runner.md "Prolog and epilog"): run as the agent's account before a job run's first rank and after its last on this node. */
  hooks: z
    .strictObject({
      /** Absolute path of the prolog executable; '' (default): none. A failure refuses the job's ranks here (prolog-failed) and reports a NodeIncident. */
      prolog: z.union([z.literal(''), z.string().regex(/^\/[^\0]*$/, 'an absolute path')]).default(''),
      /** Absolute path of the epilog executable; '' (default): none. A failure reports a NodeIncident. */
      epilog: z.union([z.literal(''), z.string().regex(/^\/[^\0]*$/, 'an absolute path')]).default(''),
      /** A hook running longer is killed (its process group) and counts as failed. */
      timeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
    })
    .prefault({}),
  health: z
    .strictObject({
      /** GPUs this node must have; 0 = the most seen since start. */
      expectedGpus: z.number().int().min(0).default(0),
      /** The GPU-clean check after each job run on this node (docs/agent-collectors.md "GPU-clean check"). */
      gpuClean: z
        .strictObject({
          /** false: no check after jobs. */
          enabled: z.boolean().default(true),
          /** Used memory above the GPU's learned idle level by more than this (MiB) is not clean. */
          memoryMarginMiB: z.number().int().min(0).max(1 << 20).default(1024),
          /** How long processes get to leave after the last rank ended: unclean only if still unclean after this (ms). */
          settleMs: z.number().int().min(0).max(600_000).default(5000),
        })
        .prefault({}),
      /** The InfiniBand rule (docs/agent-collectors.md): which HCAs and ports it watches, and the rate it expects. */
      ib: z
        .strictObject({
          /** HCAs watched (e.g. the GPU-facing NICs, `mlx5_0`); empty (default): all. */
          devices: z.array(z.string().regex(/^[A-Za-z0-9._-]+$/, 'an HCA name such as mlx5_0')).default([]),
          /** Port link layers watched; default InfiniBand only (RoCE NICs report Ethernet: add it to watch them). */
          linkLayers: z.array(z.enum(['InfiniBand', 'Ethernet'])).min(1).default(['InfiniBand']),
          /** An active port below this rate (Gb/s) is a warning; 0 (default): no rate check. */
          minRateGbps: z.number().min(0).max(100_000).default(0),
        })
        .prefault({}),
      /**
       * The XID rule's lists (docs/agent-collectors.md "Actions and remedies"): a listed code is judged
       * by its list, before NVIDIA's resolution class; the fail list is also kept judged until reboot.
       * A code may be in one list only.
       */
      xid: z
        .strictObject({
          /** Fail the GPU (action and remedy from the code's class when it fails too, else evict). */
          failGpu: z.array(xidCode).max(256).default([...DEFAULT_XID_POLICY.failGpu]),
          /** The application's: recorded against the job on that GPU, not the node. */
          application: z.array(xidCode).max(256).default([...DEFAULT_XID_POLICY.application]),
          /** Recorded only. */
          informational: z.array(xidCode).max(256).default([...DEFAULT_XID_POLICY.informational]),
          /** Codes in no list and not in NVIDIA's catalog table: warn (the node) or info. */
          unknown: z.enum(['warn', 'info']).default(DEFAULT_XID_POLICY.unknown),
          /** Per-XID action override for its node verdicts (e.g. {"74": drain}); the remedy stays the class's. */
          actions: z
            .record(z.string(), z.enum(['none', 'cordon', 'drain', 'evict']))
            .superRefine((m, ctx) => {
              const keys = Object.keys(m);
              if (keys.length > 256) ctx.addIssue({ code: 'custom', message: 'at most 256 XIDs' });
              for (const k of keys) if (!/^[1-9]\d{0,3}$/.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'must be an XID number (1-9999)' });
            })
            .default({}),
          /**
           * An application XID from a rank Gantry was stopping (StopTask, a fence, its time limit) is
           * ignored for this long after the stop (ms): XID 45 follows every kill of a CUDA process.
           */
          ignoreAfterStopMs: z.number().int().min(0).max(3_600_000).default(30_000),
        })
        .superRefine((x, ctx) => {
          const seen = new Map<number, string>();
          for (const list of ['failGpu', 'application', 'informational'] as const) {
            x[list].forEach((code, i) => {
              const other = seen.get(code);
              if (other !== undefined && other !== list) ctx.addIssue({ code: 'custom', path: [list, i], message: `XID ${code} is also in health.xid.${other}: a code may be in one list only` });
              seen.set(code, list);
            });
          }
        })
        .prefault({}),
      /** The diagnostic the scheduler has a node drained for health run (RunDiagnostic); a pass returns the node. */
      diagnostic: z
        .strictObject({
          /**
           * An argv list, or a string split on spaces (no shell); exit status 0 passes. '' or []
           * (default): `dcgmi diag -r 1` when dcgmi is on PATH, else none (the node stays drained).
           */
          command: z.union([z.string().max(4096), z.array(z.string().min(1).max(4096)).max(256)]).default(''),
          /** The diagnostic's process group is killed after this long, and the try is an error. */
          timeoutMs: z.number().int().min(100).max(3_600_000).default(600_000),
        })
        .prefault({}),
    })
    .prefault({}),
  /** NATS, for telemetry the agent publishes (east-west latency, service SLO histograms). */
  nats: z
    .strictObject({
      /** false: no NATS connection and no telemetry. */
      enabled: z.boolean().default(false),
      ...natsClientShape,
    })
    .prefault({}),
  /** Scraping SLO replicas' latency histograms (published through the nats block; off when it is). */
  slo: z
    .strictObject({
      /** false: SLO replicas are not scraped (the scheduler's autoscaler then gets no windows from this node). */
      enabled: z.boolean().default(true),
      /** Scrape and publish period per replica, unless the scheduler sets one (StartTask.slo.windowMs). */
      scrapeIntervalMs: z.number().int().min(100).default(10_000),
      /** A scrape that takes longer is a failed one. */
      scrapeTimeoutMs: z.number().int().min(10).default(2_000),
    })
    .prefault({}),
  /** East-west latency probing (needs nats.enabled: windows go to NATS). */
  latency: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** The UDP echo responder (the only inbound port besides /metrics); port 0 = any free port. */
      listen: hostPortSchema.prefault('0.0.0.0:9472'),
      /** Netdev whose IPv4 address probes use and the scheduler hands to peers (ib0, the RoCE netdev); '' = `address`. */
      interface: z.string().default(''),
      /** Probes per second to each peer. */
      probeRateHz: z.number().positive().max(1000).default(10),
      /** One latency window published per this long. */
      windowMs: z.number().int().min(50).default(10_000),
      /** A probe with no reply after this long is lost. */
      timeoutMs: z.number().int().min(1).default(1_000),
      /** Fault injection and tests only: delay every echo reply by this much. */
      echoDelayMs: z.number().int().min(0).default(0),
      /** Fault injection and tests only: a file holding an echo delay in ms, read every window ('' = none). */
      echoDelayFile: z.string().default(''),
    })
    .prefault({}),
  log: logSchema,
});

export type AgentConfig = z.infer<typeof agentConfigSchema>;

export const agentEnv: readonly EnvBinding[] = [
  { env: 'GANTRY_NODE_NAME', key: 'nodeName' },
  { env: 'GANTRY_NODE_ADDRESS', key: 'address' },
  { env: 'GANTRY_SCHEDULER_ADDRESS', key: 'scheduler.address' },
  { env: 'GANTRY_METRICS_LISTEN', key: 'metrics.listen' },
  { env: 'GANTRY_AGENT_STATE_DIR', key: 'runner.stateDir' },
  ...natsAndLogEnv(),
];

export const agentFlags: readonly FlagBinding[] = [
  { flag: 'node-name', key: 'nodeName' },
  { flag: 'address', key: 'address' },
  { flag: 'scheduler', key: 'scheduler.address' },
  { flag: 'metrics-listen', key: 'metrics.listen' },
  { flag: 'nvidia-smi', key: 'collectors.nvidia.binary' },
  { flag: 'report-interval-ms', key: 'reportIntervalMs' },
  { flag: 'collect-interval-ms', key: 'collectIntervalMs' },
  { flag: 'state-dir', key: 'runner.stateDir' },
  { flag: 'nats-url', key: 'nats.servers' },
  { flag: 'log-level', key: 'log.level' },
];
