/**
 * The NVIDIA collector: runs `nvidia-smi -q -x` and `nvidia-smi topo -m` through the bounded runner
 * and joins the two parses (the full probe), and between full probes a light
 * `nvidia-smi --query-gpu=... --format=csv,noheader,nounits` that refreshes the per-GPU readings.
 * I/O lives here and in the runner only; parsing (and the light/full decision) is in parse-*.ts.
 */
import { performance } from 'node:perf_hooks';
import { ParseError, ProbeFailedError, ProbeTimeoutError } from '../../../shared/errors/index.js';
import type { GpuInfo, LinkGroup, LinkMatrix } from '../../../shared/domain/index.js';
import { defaultProbeRunner, type ProbeRunner } from '../runner.js';
import {
  parseNvidiaSmiXml,
  deriveLinkGroups,
  parseTopoMatrix,
  type NvidiaTopo,
  parseNvlinkStatus,
  type NvlinkGpuStatus,
  adaptFields,
  invalidQueryField,
  judgeLightAnswer,
  LIGHT_QUERY_FIELDS,
  METRIC_QUERY_FIELDS,
  parseQueryGpuCsv,
  type GpuCollector,
  type GpuProbe,
  type GpuSample,
} from '../../core/index.js';

export interface NvidiaCollectorOptions {
  /** Path or name (looked up on PATH) of nvidia-smi. Default 'nvidia-smi'. */
  binaryPath?: string;
  /** Limit for each nvidia-smi call. Default 10 000 ms. */
  timeoutMs?: number;
  /** Limit for `topo -m` (default timeoutMs). */
  topoTimeoutMs?: number;
  /** Cap on output bytes per call. Default 32 MiB. */
  maxOutputBytes?: number;
  /** Run `topo -m` too (default true). */
  topology?: boolean;
  /** Run `nvlink -s` too, for the NVLink health rule (default true). */
  nvlinkStatus?: boolean;
  /** Environment for the child (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Runner to use (default: the process-wide one, so probes of the same kind never overlap). */
  runner?: ProbeRunner;
  /**
   * The link matrix is static hardware: `topo -m` runs on the first probe, then every this many
   * probes, and whenever the set of GPUs changes (default 30).
   */
  topologyEveryProbes?: number;
  /** `nvlink -s` runs every this many probes (default 3); probes between reuse the last answer. */
  nvlinkEveryProbes?: number;
  /**
   * The full `-q -x` probe runs on the first probe, then every this many probes (default 30), and
   * at once whenever the light probe between shows what it cannot explain. 1 = full every probe
   * (no light probe).
   */
  fullProbeEvery?: number;
}

/**
 * Join topo -m facts onto GPUs: NUMA node (the CPU-side `NUMA Affinity`; `GPU NUMA ID` only when
 * that is absent) and link row (in the order of the returned matrix's
 * devices). GPUs are matched by index (`GPU<n>` row = nvidia-smi index n).
 */
export function applyTopology(gpus: readonly GpuInfo[], topo: NvidiaTopo): GpuInfo[] {
  const rowOf = new Map(topo.matrix.devices.map((d, i) => [d, topo.matrix.rows[i] ?? []] as const));
  const numaOf = new Map(topo.affinity.map((a) => [a.device, a.numaAffinity >= 0 ? a.numaAffinity : a.gpuNumaId] as const));
  return gpus.map((g) => {
    const dev = `GPU${g.index}`;
    return { ...g, linkRow: [...(rowOf.get(dev) ?? [])], numaNode: numaOf.get(dev) ?? g.numaNode };
  });
}

export function createNvidiaCollector(options: NvidiaCollectorOptions = {}): GpuCollector {
  const binary = options.binaryPath ?? 'nvidia-smi';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const topoTimeoutMs = options.topoTimeoutMs ?? timeoutMs;
  const maxOutputBytes = options.maxOutputBytes ?? 32 * 1024 * 1024;
  const runner = options.runner ?? defaultProbeRunner();
  const withTopology = options.topology ?? true;
  const withNvlink = options.nvlinkStatus ?? true;
  const env = options.env;
  const topoEvery = Math.max(1, options.topologyEveryProbes ?? 30);
  const nvlinkEvery = Math.max(1, options.nvlinkEveryProbes ?? 3);
  let probes = 0;
  let cachedTopo: { gpuKey: string; topo: NvidiaTopo; atProbe: number } | undefined;
  let cachedNvlink: { gpuKey: string; nvlink: NvlinkGpuStatus[]; atProbe: number } | undefined;

  const fullEvery = Math.max(1, options.fullProbeEvery ?? 30);
  /** The last full probe (inventory, topology, base samples); the 210 KB document itself is not kept. */
  let lastFull: { probe: GpuProbe; atProbe: number } | undefined;
  /** Samples of the previous probe when it was light (null after a full one). */
  let lastLight: GpuSample[] | null = null;
  let forceFull = true;
  // The readings only /metrics exports (clocks, encoder/decoder, reserved memory) come after the
  // ones health rules judge; a driver that refuses one drops it alone (adaptFields).
  let lightFields: string[] | null = fullEvery > 1 ? [...LIGHT_QUERY_FIELDS, ...METRIC_QUERY_FIELDS] : null;
  const lightNotes: string[] = [];

  const nvlinkFor = async (probeNo: number, gpuKey: string, count: number, warnings: string[]): Promise<NvlinkGpuStatus[] | null> => {
    if (!withNvlink || count === 0) return null;
    if (cachedNvlink && cachedNvlink.gpuKey === gpuKey && probeNo - cachedNvlink.atProbe < nvlinkEvery) return cachedNvlink.nvlink;
    try {
      const n = await runner.run(binary, ['nvlink', '-s'], {
        timeoutMs: topoTimeoutMs,
        maxOutputBytes,
        kind: `nvidia-smi-nvlink:${binary}`,
        // "all links are inactive" comes with a non-zero exit on some drivers; the text says what happened.
        allowNonZeroExit: true,
        ...(env ? { env } : {}),
      });
      const nvlink = parseNvlinkStatus(n.stdout);
      cachedNvlink = { gpuKey, nvlink, atProbe: probeNo };
      return nvlink;
    } catch (err) {
      if (err instanceof ProbeTimeoutError || err instanceof ProbeFailedError) warnings.push(`nvlink -s: ${err.message}`);
      else throw err;
      return null;
    }
  };

  /** The light probe: a GpuProbe over the last full one, or why the full probe must run now. */
  const light = async (probeNo: number, base: GpuProbe, fields: string[]): Promise<GpuProbe | string> => {
    const started = performance.now();
    let out: { stdout: string; stderr: string; exitCode: number };
    try {
      out = await runner.run(binary, [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'], {
        timeoutMs,
        maxOutputBytes,
        // The same kind as -q -x: never both at once, and a hung one fails the other fast.
        kind: `nvidia-smi-query:${binary}`,
        // A lost GPU makes nvidia-smi exit non-zero after printing the other GPUs' rows.
        allowNonZeroExit: true,
        ...(env ? { env } : {}),
      });
    } catch (err) {
      if (err instanceof ProbeFailedError) return `--query-gpu: ${err.message}`;
      throw err; // a timeout: the driver is stuck; the full probe would hang too
    }
    const refused = invalidQueryField(`${out.stdout}\n${out.stderr}`);
    if (refused !== null) {
      lightFields = adaptFields(fields, refused);
      lightNotes.push(
        lightFields === null
          ? `--query-gpu: nvidia-smi refused "${refused}"; light probe off, full probe every cycle`
          : `--query-gpu: nvidia-smi refused "${refused}"; asking for ${lightFields.length} fields from now on (${lightFields.filter((f) => !fields.includes(f)).join(', ') || 'without it'})`,
      );
      return `nvidia-smi refused field "${refused}"`;
    }
    const parsed = parseQueryGpuCsv(out.stdout, fields);
    if (parsed.rows.length === 0 && parsed.errors.length === 0) {
      return `--query-gpu gave no rows${out.stderr.trim() ? `: ${out.stderr.trim().split('\n')[0]}` : ''} (exit ${out.exitCode})`;
    }
    const verdict = judgeLightAnswer(parsed, base.samples, lastLight);
    if ('reason' in verdict) return verdict.reason;
    if (out.exitCode !== 0) return `--query-gpu exited ${out.exitCode}`;
    const warnings: string[] = lightNotes.splice(0);
    if (out.stderr.trim()) warnings.push(`nvidia-smi --query-gpu stderr: ${out.stderr.trim().split('\n')[0]}`);
    const gpuKey = base.gpus.map((g) => `${g.index}:${g.uuid}`).join(',');
    const nvlink = await nvlinkFor(probeNo, gpuKey, base.gpus.length, warnings);
    lastLight = verdict.samples;
    return {
      ...base,
      samples: verdict.samples,
      nvlink,
      warnings,
      durationMs: performance.now() - started,
      mode: 'light',
    };
  };

  const probe = async (): Promise<GpuProbe> => {
    const probeNo = probes++;
    let reason: string | undefined;
    if (lightFields !== null && lastFull && !forceFull && probeNo - lastFull.atProbe < fullEvery) {
      let r: GpuProbe | string;
      try {
        r = await light(probeNo, lastFull.probe, lightFields);
      } catch (err) {
        forceFull = true; // whatever comes back, look at everything next time
        throw err;
      }
      if (typeof r !== 'string') return r;
      reason = r;
    }
    forceFull = true; // until this full probe succeeds
    lastLight = null;
    const p = await full(probeNo);
    // A GPU that reads "GPU is lost" / "Unknown Error" stays under the full probe until it reads clean.
    forceFull = p.samples.some((s) => s.lost || s.unknownError);
    lastFull = { probe: { ...p, warnings: [] }, atProbe: probeNo };
    if (reason !== undefined) p.modeReason = reason;
    p.warnings.push(...lightNotes.splice(0));
    return p;
  };

  const full = async (probeNo: number): Promise<GpuProbe> => {
    const started = performance.now();
    const warnings: string[] = [];
    const q = await runner.run(binary, ['-q', '-x'], {
      timeoutMs,
      maxOutputBytes,
      kind: `nvidia-smi-query:${binary}`,
      ...(env ? { env } : {}),
    });
    const stderr = q.stderr.trim();
    if (!q.stdout.trim().startsWith('<')) {
      // nvidia-smi sometimes reports failure on stderr (or stdout) and still exits 0.
      const detail = stderr || q.stdout.trim() || 'no output';
      throw new ProbeFailedError(`${binary} -q -x`, `no XML in output: ${detail.split('\n')[0]}`, q.exitCode);
    }
    const parsed = parseNvidiaSmiXml(q.stdout);
    if (stderr) warnings.push(`nvidia-smi -q -x stderr: ${stderr.split('\n')[0]}`);

    let gpus = parsed.gpus;
    let linkMatrix: LinkMatrix = { devices: [], rows: [] };
    let linkGroups: LinkGroup[] = [];
    let nics: Record<string, string> = {};
    const gpuKey = gpus.map((g) => `${g.index}:${g.uuid}`).join(',');
    const topoFresh = cachedTopo && cachedTopo.gpuKey === gpuKey && probeNo - cachedTopo.atProbe < topoEvery;
    if (withTopology && gpus.length > 0 && topoFresh && cachedTopo) {
      gpus = applyTopology(gpus, cachedTopo.topo);
      linkMatrix = cachedTopo.topo.matrix;
      linkGroups = deriveLinkGroups(cachedTopo.topo);
      nics = cachedTopo.topo.nics;
    } else if (withTopology && gpus.length > 0) {
      try {
        const t = await runner.run(binary, ['topo', '-m'], {
          timeoutMs: topoTimeoutMs,
          maxOutputBytes,
          kind: `nvidia-smi-topo:${binary}`,
          ...(env ? { env } : {}),
        });
        const topo = parseTopoMatrix(t.stdout);
        cachedTopo = { gpuKey, topo, atProbe: probeNo };
        gpus = applyTopology(gpus, topo);
        linkMatrix = topo.matrix;
        linkGroups = deriveLinkGroups(topo);
        nics = topo.nics;
      } catch (err) {
        if (err instanceof ProbeTimeoutError || err instanceof ProbeFailedError || err instanceof ParseError) {
          warnings.push(`topo -m: ${err.message}`);
        } else {
          throw err;
        }
      }
    }
    const nvlink = await nvlinkFor(probeNo, gpuKey, gpus.length, warnings);
    return {
      vendor: 'nvidia',
      nvlink,
      gpus,
      firmware: { ...parsed.firmware, tool: 'nvidia-smi' },
      fabric: parsed.fabric,
      linkMatrix,
      linkGroups,
      nics,
      samples: parsed.samples,
      attachedGpus: parsed.attachedGpus,
      warnings,
      durationMs: performance.now() - started,
      mode: 'full',
    };
  };

  return { name: 'nvidia', probe };
}
