/**
 * The AMD collector: `rocm-smi --json` through the bounded runner for inventory and readings, and
 * the KFD sysfs topology for XGMI links and NUMA. Where amd-smi is installed, `amd-smi static --json`
 * (first probe, then every AMD_SMI_EVERY_PROBES) gives the static facts instead (issue 24; rocm-smi
 * keeps the readings: no real `amd-smi metric --json` capture exists yet); the inventory's
 * `firmware.tool` says which answered. I/O lives here; parsing is in parse-*.ts.
 */
import { performance } from 'node:perf_hooks';
import { defaultProbeRunner, type ProbeRunner } from '../runner.js';
import { readKfdTopology } from './kfd.js';
import { mergeAmdStatic, parseAmdSmiStatic, parseRocmSmiJson, renderMinorOf, type AmdSmiStatic, type GpuCollector, type GpuProbe } from '../../core/index.js';
import { ParseError, ProbeFailedError, ProbeTimeoutError } from '../../../shared/errors/index.js';

export interface AmdCollectorOptions {
  /** Default 'rocm-smi'. */
  binaryPath?: string;
  /** Default 10 000 ms. */
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** KFD topology root (directory holding nodes/); default '/sys/class/kfd/kfd/topology'. null skips it. */
  kfdRoot?: string | null;
  env?: NodeJS.ProcessEnv;
  runner?: ProbeRunner;
  /** amd-smi (a name in PATH or a path) for static facts; null or absent: rocm-smi's alone. */
  amdSmiPath?: string | null;
}

/** `amd-smi static` runs on the first probe and then every this many (static facts; default 30, as the NVIDIA full probe). */
export const AMD_SMI_EVERY_PROBES = 30;

/** The flag set telegraf's amd_rocm_smi input uses, which the shared captures were taken with. */
export const ROCM_SMI_ARGS = [
  '-o', '-l', '-m', '-M', '-g', '-c', '-t', '-u', '-i', '-f', '-p', '-P', '-s', '-S', '-v',
  '--showreplaycount', '--showpids', '--showdriverversion', '--showmemvendor', '--showfwinfo',
  '--showproductname', '--showserial', '--showuniqueid', '--showbus', '--showpendingpages',
  '--showpagesinfo', '--showmeminfo', 'all', '--showretiredpages', '--showunreservablepages',
  '--showmemuse', '--showvoltage', '--showtopo', '--showtopoweight', '--showtopohops',
  '--showtopotype', '--showtoponuma', '--json',
] as const;

export function createAmdCollector(options: AmdCollectorOptions = {}): GpuCollector {
  const binary = options.binaryPath ?? 'rocm-smi';
  const runner = options.runner ?? defaultProbeRunner();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const kfdRoot = options.kfdRoot === undefined ? '/sys/class/kfd/kfd/topology' : options.kfdRoot;
  const amdSmi = options.amdSmiPath ?? null;
  let probes = 0;
  let lastStatic: AmdSmiStatic | null = null;
  /** amd-smi's static facts: fresh on the first probe and every AMD_SMI_EVERY_PROBES, else the last answer; null when it failed. */
  const staticFacts = async (probeNo: number, warnings: string[]): Promise<AmdSmiStatic | null> => {
    if (amdSmi === null) return null;
    if (probeNo % AMD_SMI_EVERY_PROBES !== 0 && lastStatic) return lastStatic;
    try {
      const s = await runner.run(amdSmi, ['static', '--json'], {
        timeoutMs,
        kind: `amd-smi:${amdSmi}`,
        ...(options.maxOutputBytes !== undefined ? { maxOutputBytes: options.maxOutputBytes } : {}),
        ...(options.env ? { env: options.env } : {}),
      });
      lastStatic = parseAmdSmiStatic(s.stdout);
    } catch (err) {
      if (!(err instanceof ProbeFailedError || err instanceof ProbeTimeoutError || err instanceof ParseError)) throw err;
      warnings.push(`amd-smi static: ${err.message}; static facts from rocm-smi`);
      lastStatic = null;
    }
    return lastStatic;
  };
  return {
    name: 'amd',
    probe: async (): Promise<GpuProbe> => {
      const started = performance.now();
      const warnings: string[] = [];
      const r = await runner.run(binary, ROCM_SMI_ARGS, {
        timeoutMs,
        kind: `rocm-smi:${binary}`,
        ...(options.maxOutputBytes !== undefined ? { maxOutputBytes: options.maxOutputBytes } : {}),
        ...(options.env ? { env: options.env } : {}),
      });
      const report = parseRocmSmiJson(r.stdout);
      let { gpus, linkMatrix } = report;
      const fromAmdSmi = await staticFacts(probes++, warnings);
      if (fromAmdSmi) gpus = mergeAmdStatic(gpus, fromAmdSmi);
      const firmware = fromAmdSmi
        ? { ...report.firmware, driverVersion: fromAmdSmi.firmware.driverVersion || report.firmware.driverVersion, tool: 'amd-smi' }
        : { ...report.firmware, tool: 'rocm-smi' };
      let linkGroups: GpuProbe['linkGroups'] = [];
      if (kfdRoot !== null) {
        try {
          const kfd = await readKfdTopology({ root: kfdRoot });
          linkMatrix = kfd.linkMatrix;
          linkGroups = kfd.linkGroups;
          gpus = gpus.map((g) => {
            const i = kfd.linkMatrix.devices.indexOf(`GPU${g.index}`);
            const node = kfd.nodes.find((n) => n.gpuIndex === g.index);
            return {
              ...g,
              linkRow: i >= 0 ? [...(kfd.linkMatrix.rows[i] ?? [])] : g.linkRow,
              numaNode: g.numaNode >= 0 ? g.numaNode : (node?.numaNode ?? -1),
              // The render node a rank on this GPU may open (its device rules).
              minorNumber: node ? renderMinorOf(node) : null,
            };
          });
        } catch (err) {
          if (!(err instanceof ProbeFailedError)) throw err;
          warnings.push(`kfd topology: ${err.message}`);
        }
      }
      return {
        vendor: 'amd',
        gpus,
        firmware,
        fabric: null,
        nvlink: null,
        linkMatrix,
        linkGroups,
        nics: {},
        samples: report.samples,
        attachedGpus: gpus.length,
        warnings,
        durationMs: performance.now() - started,
      };
    },
  };
}
