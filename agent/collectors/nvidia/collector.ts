/**
 * The NVIDIA collector: runs `nvidia-smi -q -x` and `nvidia-smi topo -m` through the bounded runner
 * and joins the two parses. I/O lives here and in the runner only; parsing is in parse-*.ts.
 */
import { performance } from 'node:perf_hooks';
import { ParseError, ProbeFailedError, ProbeTimeoutError } from '../../../shared/errors/index.js';
import type { GpuInfo, LinkGroup, LinkMatrix } from '../../../shared/domain/index.js';
import { defaultProbeRunner, type ProbeRunner } from '../runner.js';
import type { GpuCollector, GpuProbe } from '../types.js';
import { parseNvidiaSmiXml } from './parse-xml.js';
import { deriveLinkGroups, parseTopoMatrix, type NvidiaTopo } from './parse-topo.js';
import { parseNvlinkStatus, type NvlinkGpuStatus } from './parse-nvlink.js';

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

  const probe = async (): Promise<GpuProbe> => {
    const probeNo = probes++;
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
    let nvlink: NvlinkGpuStatus[] | null = null;
    if (withNvlink && gpus.length > 0 && cachedNvlink && cachedNvlink.gpuKey === gpuKey && probeNo - cachedNvlink.atProbe < nvlinkEvery) {
      nvlink = cachedNvlink.nvlink;
    } else if (withNvlink && gpus.length > 0) {
      try {
        const n = await runner.run(binary, ['nvlink', '-s'], {
          timeoutMs: topoTimeoutMs,
          maxOutputBytes,
          kind: `nvidia-smi-nvlink:${binary}`,
          // "all links are inactive" comes with a non-zero exit on some drivers; the text says what happened.
          allowNonZeroExit: true,
          ...(env ? { env } : {}),
        });
        nvlink = parseNvlinkStatus(n.stdout);
        cachedNvlink = { gpuKey, nvlink, atProbe: probeNo };
      } catch (err) {
        if (err instanceof ProbeTimeoutError || err instanceof ProbeFailedError) warnings.push(`nvlink -s: ${err.message}`);
        else throw err;
      }
    }
    return {
      vendor: 'nvidia',
      nvlink,
      gpus,
      firmware: parsed.firmware,
      fabric: parsed.fabric,
      linkMatrix,
      linkGroups,
      nics,
      samples: parsed.samples,
      attachedGpus: parsed.attachedGpus,
      warnings,
      durationMs: performance.now() - started,
    };
  };

  return { name: 'nvidia', probe };
}
