/**
 * Rank containment at agent start (docs/runner.md "Containment"): detect what the host's cgroups can
 * enforce, say it (a log line and gantry_agent_containment_enforced{feature,via}), make the rank
 * cgroups' base ready, and build the runner's RankContainment. `runner.containment`:
 * - `off`: nothing here runs; ranks live in process groups only.
 * - `auto`: whatever the host enforces; what it does not is said, never silent. An agent that is not
 *   root, or a base it cannot prepare, runs ranks uncontained and says why.
 * - `required`: the agent refuses to start (ConfigError naming runner.containment) unless kill,
 *   devices, memory, pids and cpuset are all enforced.
 */
import { existsSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';
import { ConfigError } from '../shared/errors/index.js';
import type { Logger } from '../shared/log/index.js';
import type { AgentConfig } from './config.js';
import {
  createDeferredDevices,
  createRankContainment,
  defaultDeviceHelperPath,
  describeEnforcement,
  detectHostLayout,
  FsCgroupManager,
  readNodeCpus,
  scanDevices,
  type AgentRankContainment,
  type ContainedGpu,
  type ContainmentFeature,
} from './runner/cgroup/index.js';

const GIB = 1024 ** 3;
/** What `required` asks for: cpuUsage is measured, not enforced, so it is not among them. */
const REQUIRED: readonly ContainmentFeature[] = ['kill', 'devices', 'memory', 'pids', 'cpuset'];

/**
 * A scan of /dev is shared by the starts within this long of it (a gang's ranks on a node start
 * together): device files appear with a driver's load, not between a gang's ranks.
 */
const DEVICE_SCAN_REUSE_MS = 1000;

function scanShared<T>(scan: () => Promise<T>, reuseMs: number): () => Promise<T> {
  let last: { at: number; result: Promise<T> } | undefined;
  return () => {
    const now = performance.now();
    if (!last || now - last.at > reuseMs) {
      const result = scan();
      last = { at: now, result };
      // A failed scan is not shared: the next start scans again.
      result.catch(() => {
        if (last?.result === result) last = undefined;
      });
    }
    return last.result;
  };
}

export interface ContainmentStartDeps {
  config: AgentConfig['runner'];
  log: Logger;
  registry: Registry;
  /** The node's GPUs from the latest probe. */
  gpus: () => readonly ContainedGpu[];
  /** Whether this process runs as root; default process.getuid() === 0. */
  isRoot?: boolean;
  /** The device program helper; default dist/agent/runner/gantry-devices. */
  deviceHelperPath?: string;
}

/** Undefined when ranks run uncontained (off, not root, or the base could not be prepared under auto). */
export async function startContainment(d: ContainmentStartDeps): Promise<AgentRankContainment | undefined> {
  const mode = d.config.containment;
  if (mode === 'off') return undefined;
  const gauge = new Gauge({
    name: 'gantry_agent_containment_enforced',
    help: 'Rank containment: 1 where the feature is enforced (via v2 or v1 cgroups); via="none" 0 where it is not.',
    labelNames: ['feature', 'via'],
    registers: [d.registry],
  });
  const uncontained = (why: string): undefined => {
    if (mode === 'required') throw new ConfigError('runner.containment', `is required, but ${why}`);
    for (const f of ['kill', 'devices', 'memory', 'pids', 'cpuset', 'cpuUsage']) gauge.set({ feature: f, via: 'none' }, 0);
    d.log.warn(`rank containment: none (${why}); ranks run in process groups only`);
    return undefined;
  };
  if (!(d.isRoot ?? process.getuid?.() === 0)) return uncontained('the agent does not run as root');

  const helperPath = d.deviceHelperPath ?? defaultDeviceHelperPath();
  const haveHelper = existsSync(helperPath);
  const detected = await detectHostLayout({ devicesApplier: haveHelper });
  // The supervisors attach each rank's device program (the native one in-process, the Node one with
  // the helper); both come from the same native build, so the helper's presence says they can.
  const deferred = haveHelper ? createDeferredDevices(d.config.deviceHelperTimeoutMs) : undefined;
  const manager = new FsCgroupManager({
    detected,
    cgroupRoot: d.config.cgroupRoot || null,
    applyDevices: deferred?.applier,
  });
  const described = describeEnforcement(manager.layout);
  for (const g of described.gauges) gauge.set({ feature: g.feature, via: g.via }, g.value);
  const missing = REQUIRED.filter((f) => manager.layout.enforced[f] === null);
  if (mode === 'required' && missing.length > 0) {
    throw new ConfigError('runner.containment', `is required, but this host does not enforce ${missing.join(', ')} (${described.line})`);
  }
  try {
    await manager.prepare();
  } catch (e) {
    return uncontained(`the rank cgroups' base cannot be prepared: ${(e as Error).message}`);
  }
  const log = missing.length > 0 ? d.log.warn.bind(d.log) : d.log.info.bind(d.log);
  log({ layout: manager.layout.kind, base: manager.plan, deviceHelper: haveHelper ? helperPath : null }, `rank containment: ${described.line}`);
  return createRankContainment({
    manager,
    gpus: d.gpus,
    nodeCpus: await readNodeCpus(),
    scanDevices: scanShared(() => scanDevices({ extraPaths: d.config.extraDevicePaths }), DEVICE_SCAN_REUSE_MS),
    extraDevicePaths: d.config.extraDevicePaths,
    defaultMemoryBytes: Math.round(d.config.defaultMemoryGiBPerRank * GIB),
    defaultMaxProcesses: d.config.defaultMaxProcesses,
    log: d.log,
    ...(deferred ? { deferredDevices: deferred } : {}),
  });
}
