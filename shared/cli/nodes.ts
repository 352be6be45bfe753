import type { NodeRecord } from '../domain/index.js';
import { nodeFromPb } from '../wire/index.js';
import type { Command } from './command.js';
import { runClientCommand } from './client.js';
import { printable } from './printable.js';
import { nodeActionText } from './verdict-text.js';
import { verdictAction } from '../domain/index.js';
import { firmwareJson, firmwareTable } from './nodes-firmware.js';

/** The JSON form of a node: stable keys for scripts. */
export function nodeJson(n: NodeRecord): Record<string, unknown> {
  return {
    name: n.name,
    state: n.connectivity,
    schedulability: n.schedulability,
    schedulabilityReason: n.schedulabilityReason,
    /** Joined while the scheduler required approval, not approved yet: takes no work. */
    awaitingApproval: n.awaitingApproval === true,
    health: n.health,
    gpuCount: n.inventory.gpus.length,
    gpuModel: n.inventory.gpus[0]?.name ?? '',
    driver: n.inventory.firmware.driverVersion,
    cuda: n.inventory.firmware.cudaVersion,
    address: n.address,
    domains: n.inventory.topology.domains,
    /** The agent's labels (a job's nodeSelector matches them; gantry.io/node is the name). */
    labels: n.labels,
    /** The accounts its agent runs ranks as (runner.allowedUsers), and whether as root (runner.allowRoot). */
    allowedUsers: n.allowedUsers ?? [],
    allowRoot: n.allowRoot ?? false,
    lastSeen: new Date(n.lastSeenMs).toISOString(),
    registered: new Date(n.registeredMs).toISOString(),
    agentVersion: n.agentVersion,
    /** Each verdict's action is the one the scheduler applies (its own, or evict for fail). */
    verdicts: n.verdicts.map((v) => ({ ...v, action: verdictAction(v), firstSeen: new Date(v.firstSeenMs).toISOString() })),
    /** The last diagnostic of a node drained for health; null: none yet. */
    lastDiagnostic: n.lastDiagnostic ? { ...n.lastDiagnostic, at: new Date(n.lastDiagnostic.atMs).toISOString() } : null,
  };
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

/** The SCHEDULING column: awaiting approval first (it takes no work whatever else holds), then schedulability and its reason. */
export function schedulingText(n: NodeRecord): string {
  const own = n.schedulability + (n.schedulabilityReason ? ` (${n.schedulabilityReason})` : '');
  if (!n.awaitingApproval) return own;
  return n.schedulability === 'schedulable' ? 'awaiting-approval' : `awaiting-approval, ${own}`;
}

/** The DIAGNOSTIC column: the last diagnostic's result, its try and how long ago; '-' for none. */
export function diagnosticText(n: NodeRecord, nowMs: number): string {
  const d = n.lastDiagnostic;
  if (!d) return '-';
  const failedHow = d.summary.startsWith('timed out') ? 'timed-out' : 'failed';
  return `${d.passed ? 'passed' : failedHow} (try ${d.tries}) ${ago(nowMs - d.atMs)} ago`;
}

export function nodesTable(nodes: readonly NodeRecord[], nowMs: number): string {
  const header = ['NAME', 'STATE', 'SCHEDULING', 'HEALTH', 'ACTION', 'DIAGNOSTIC', 'GPUS', 'MODEL', 'DRIVER', 'DOMAINS', 'LAST SEEN'];
  const rows = nodes.map((n) => [
    n.name,
    n.connectivity,
    schedulingText(n),
    n.health,
    nodeActionText(n.verdicts),
    diagnosticText(n, nowMs),
    String(n.inventory.gpus.length),
    n.inventory.gpus[0]?.name ?? '-',
    n.inventory.firmware.driverVersion || '-',
    Object.entries(n.inventory.topology.domains).map(([k, v]) => `${k}=${v}`).join(',') || '-',
    `${ago(nowMs - n.lastSeenMs)} ago`,
  ].map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export const nodesCommand: Command = {
  name: 'nodes',
  summary: 'list nodes: state, schedulability, health, GPUs',
  run: (argv, io) =>
    runClientCommand('nodes', argv, io, { options: { json: { type: 'boolean' }, firmware: { type: 'boolean' } }, positionals: 0, usage: '[--json] [--firmware]' }, async ({ scheduler, values }) => {
      const res = await scheduler.call('ListNodes', {});
      const nodes = res.nodes.map(nodeFromPb);
      // --firmware: driver, CUDA, VBIOS, InfoROM, GSP, HCA firmware per node, drift marked (nodes-firmware.ts).
      if (values.firmware) io.stdout(values.json ? JSON.stringify(firmwareJson(nodes), null, 2) + '\n' : firmwareTable(nodes));
      else io.stdout(values.json ? JSON.stringify(nodes.map(nodeJson), null, 2) + '\n' : nodesTable(nodes, Date.now()));
      return 0;
    }),
};
