import { collectDefaultMetrics, Registry } from 'prom-client';

/** The default metrics of this process, one set per prefix (see registerProcessMetrics). */
const perProcess = new Map<string, Registry>();

/**
 * prom-client's default process and Node.js metrics, under a prefix, minus the three gauges whose
 * names end in `_total` (active handles, requests, resources), which promtool's lint refuses.
 *
 * They describe the process, so they are created once per process and prefix and the same metric
 * objects are registered in every registry asking for them. A process that runs many daemons (the
 * benchmark runs 128 agents in one) would otherwise observe every garbage collection and sample the
 * event loop once per daemon.
 */
export function registerProcessMetrics(registry: Registry, prefix: string): void {
  let shared = perProcess.get(prefix);
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared, prefix });
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      shared.removeSingleMetric(prefix + name);
    }
    perProcess.set(prefix, shared);
  }
  for (const { name } of shared.getMetricsAsArray()) registry.registerMetric(shared.getSingleMetric(name)!);
}
