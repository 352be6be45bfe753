import { topologyFromPb, type ClusterTopologyView } from '../wire/index.js';
import type { Command } from './command.js';
import { runClientCommand } from './client.js';

/** The tree, indented by depth, with GPUs per domain and the domains whose east-west latency is degraded. */
export function topologyText(t: ClusterTopologyView): string {
  const depth = new Map<string, number>();
  const rows = t.domains.map((d) => {
    const key = `${d.level}/${d.name}`;
    const parentLevel = t.levels[t.levels.indexOf(d.level) + 1];
    const dp = d.parent && parentLevel ? (depth.get(`${parentLevel}/${d.parent}`) ?? -1) + 1 : 0;
    depth.set(key, dp);
    return [`${'  '.repeat(dp)}${d.level} ${d.name}`, String(d.nodes), String(d.gpusTotal), String(d.gpusUsed), String(d.gpusFree), String(d.gpusUnavailable), d.degraded ? 'degraded' : ''];
  });
  const header = ['DOMAIN', 'NODES', 'GPUS', 'USED', 'FREE', 'UNAVAILABLE', 'LATENCY'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export const topologyCommand: Command = {
  name: 'topology',
  summary: 'the topology tree with free and used GPUs per domain',
  run: (argv, io) =>
    runClientCommand('topology', argv, io, { options: { json: { type: 'boolean' } }, positionals: 0, usage: '[--json]' }, async ({ scheduler, values }) => {
      const t = topologyFromPb(await scheduler.call('GetTopology', {}));
      io.stdout(values.json ? JSON.stringify(t, null, 2) + '\n' : topologyText(t));
      return 0;
    }),
};
