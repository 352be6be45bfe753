/**
 * Host inventory through systeminformation (CPU, memory, OS, kernel, BIOS, baseboard, system
 * serial) plus the NUMA node count from sysfs. systeminformation's graphics() is never called: it
 * runs nvidia-smi synchronously with no timeout, so one hung GPU would freeze the agent.
 *
 * systeminformation may spawn helpers (dmidecode) we cannot kill, so the whole probe is bounded by
 * a timeout that rejects with ProbeTimeoutError (late results are dropped).
 */
import { promises as fsp } from 'node:fs';
import si from 'systeminformation';
import type { HostInfo } from '../../../shared/domain/index.js';
import { ProbeFailedError, ProbeTimeoutError } from '../../../shared/errors/index.js';
import { toHostInfo, type HostFacts } from './host-info.js';

export interface HostCollectorOptions {
  /** Default 15 000 ms. */
  timeoutMs?: number;
  /** Default '/sys/devices/system/node'. */
  numaRoot?: string;
}

export interface HostCollector {
  readonly name: string;
  probe(): Promise<HostInfo>;
}

async function countNumaNodes(root: string): Promise<number> {
  try {
    return (await fsp.readdir(root)).filter((n) => /^node\d+$/.test(n)).length;
  } catch {
    return 0;
  }
}

export function createHostCollector(options: HostCollectorOptions = {}): HostCollector {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const numaRoot = options.numaRoot ?? '/sys/devices/system/node';
  const gather = async (): Promise<HostFacts> => {
    const [cpu, mem, os, bios, baseboard, system, numaNodes] = await Promise.all([
      si.cpu(),
      si.mem(),
      si.osInfo(),
      si.bios(),
      si.baseboard(),
      si.system(),
      countNumaNodes(numaRoot),
    ]);
    return { cpu, mem, os, bios, baseboard, system, numaNodes };
  };
  return {
    name: 'host',
    probe: async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ProbeTimeoutError('systeminformation host probe', timeoutMs)), timeoutMs);
      });
      try {
        return toHostInfo(await Promise.race([gather(), timeout]));
      } catch (err) {
        if (err instanceof ProbeTimeoutError) throw err;
        throw new ProbeFailedError('systeminformation host probe', (err as Error).message, null, { cause: err });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
