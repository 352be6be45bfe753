/** `gantry node NAME`: one node in full, including the accounts its agent runs ranks as. */
import type { NodeRecord } from '../domain/index.js';
import { nodeFromPb } from '../wire/index.js';
import type { Command } from './command.js';
import { runClientCommand } from './client.js';
import { nodeJson, schedulingText } from './nodes.js';
import { printable } from './printable.js';
import { hardwareJson, hardwareRows } from './node-hardware.js';
import { verdictActionSuffix } from './verdict-text.js';

/**
 * What its agent runs ranks as: `nobody, svc-train (runner.allowedUsers); runner.allowRoot off`
 * (root needs both: listed, and allowRoot on).
 */
export function runAsLine(n: Pick<NodeRecord, 'allowedUsers' | 'allowRoot'>): string {
  const users = n.allowedUsers?.length ? n.allowedUsers.join(', ') : 'no account';
  return `${users} (runner.allowedUsers); runner.allowRoot ${n.allowRoot ? 'on' : 'off'}`;
}

export function nodeText(n: NodeRecord): string {
  const gpus = n.inventory.gpus;
  const rows: Array<[string, string]> = [
    ['name', n.name],
    ['address', n.address],
    ['state', n.connectivity],
    ['scheduling', schedulingText(n)],
    ['health', n.health],
    ['gpus', gpus.length ? `${gpus.length} × ${gpus[0]!.name}` : '0'],
    ['driver', `${n.inventory.firmware.driverVersion || '-'} (CUDA ${n.inventory.firmware.cudaVersion || '-'})`],
    ['domains', Object.entries(n.inventory.topology.domains).map(([k, v]) => `${k}=${v}`).join(', ') || '-'],
    ['labels', Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(', ') || '-'],
    ['runs ranks as', runAsLine(n)],
    ['agent', `${n.agentVersion || '-'}, registered ${new Date(n.registeredMs).toISOString()}, last seen ${new Date(n.lastSeenMs).toISOString()}`],
  ];
  rows.push(...hardwareRows(n));
  for (const v of n.verdicts) if (v.severity !== 'ok') rows.push(['verdict', `${v.severity} ${v.check}${v.gpu !== undefined ? ` gpu ${v.gpu}` : ''}${verdictActionSuffix(v)}: ${v.evidence}`]);
  const d = n.lastDiagnostic;
  if (d) {
    rows.push(['diagnostic', `${d.passed ? 'passed' : 'did not pass'} (try ${d.tries}) at ${new Date(d.atMs).toISOString()}${d.command ? `: ${d.command}` : ''}`]);
    if (d.summary) rows.push(['diagnostic output', d.summary]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${printable(v)}`).join('\n') + '\n';
}

/** `gantry node [show] NAME` (node-actions.ts's nodeCommand dispatches here). */
export const nodeShowCommand: Command = {
  name: 'node show',
  summary: 'one node: state, GPUs, labels, the accounts its agent runs ranks as',
  run: (argv, io) =>
    runClientCommand('node show', argv, io, { options: { json: { type: 'boolean' } }, positionals: 1, usage: 'NAME [--json]' }, async ({ scheduler, values, positionals }) => {
      const n = nodeFromPb(await scheduler.call('GetNode', { name: positionals[0] }));
      io.stdout(values.json ? JSON.stringify({ ...nodeJson(n), ...hardwareJson(n) }, null, 2) + '\n' : nodeText(n));
      return 0;
    }),
};
