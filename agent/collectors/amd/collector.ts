/**
 * The AMD collector: `rocm-smi --json` through the bounded runner for inventory and readings, and
 * the KFD sysfs topology for XGMI links and NUMA. I/O lives here; parsing is in parse-*.ts.
 * (amd-smi's JSON is not parsed yet: no capture of it is in the shared set.)
 */
import { performance } from 'node:perf_hooks';
import { ProbeFailedError } from '../../../shared/errors/index.js';
import { defaultProbeRunner, type ProbeRunner } from '../runner.js';
import { readKfdTopology } from './kfd.js';
import { parseRocmSmiJson, renderMinorOf, type GpuCollector, type GpuProbe } from '../../core/index.js';

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
}

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
        firmware: report.firmware,
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
