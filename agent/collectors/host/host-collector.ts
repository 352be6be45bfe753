/**
 * Host inventory through systeminformation (CPU, memory, OS, kernel, BIOS, baseboard, system
 * serial) plus the NUMA node count from sysfs. systeminformation's graphics() is never called: it
 * runs nvidia-smi synchronously with no timeout, so one hung GPU would freeze the agent.
 *
 * systeminformation runs in a short-lived child Node process (`node --input-type=module -e ...`,
 * through the bounded probe runner), never in the agent:
 * - the agent's memory: loading and running it costs the agent ~5-10 MB of RSS it would keep for
 *   good, for facts read once at start and then every 60th cycle;
 * - the timeout: the child (and the helpers it spawns, like dmidecode, in its process group) is
 *   killed when it overruns, where in-process calls could only be abandoned.
 */
import { promises as fsp } from 'node:fs';
import type { HostInfo } from '../../../shared/domain/index.js';
import { ProbeFailedError, ProbeTimeoutError } from '../../../shared/errors/index.js';
import { defaultProbeRunner, type ProbeRunner } from '../runner.js';
import { parseHostFactsJson, toHostInfo } from '../../core/index.js';

export interface HostCollectorOptions {
  /** Default 15 000 ms. */
  timeoutMs?: number;
  /** Default '/sys/devices/system/node'. */
  numaRoot?: string;
  /** Runner for the child (default: the process-wide one). */
  runner?: ProbeRunner;
}

/** What the child prints: systeminformation's answers, as JSON on one line. */
function childScript(siUrl: string): string {
  return [
    `const si = (await import(${JSON.stringify(siUrl)})).default;`,
    'const [cpu, mem, os, bios, baseboard, system] = await Promise.all([si.cpu(), si.mem(), si.osInfo(), si.bios(), si.baseboard(), si.system()]);',
    'process.stdout.write(JSON.stringify({ cpu, mem, os, bios, baseboard, system }));',
  ].join('\n');
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
  const runner = options.runner ?? defaultProbeRunner();
  // Resolved here, where the agent's own node_modules are found; the child's cwd may be anywhere.
  const script = childScript(import.meta.resolve('systeminformation'));
  // The agent's NODE_OPTIONS (test-runner hooks, heap flags) are not the child's business.
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  return {
    name: 'host',
    probe: async () => {
      let out;
      try {
        out = await runner.run(process.execPath, ['--input-type=module', '-e', script], { timeoutMs, kind: 'host-probe', env });
      } catch (err) {
        if (err instanceof ProbeTimeoutError || err instanceof ProbeFailedError) throw err;
        throw new ProbeFailedError('systeminformation host probe', (err as Error).message, null, { cause: err });
      }
      return toHostInfo(parseHostFactsJson(out.stdout, await countNumaNodes(numaRoot)));
    },
  };
}
