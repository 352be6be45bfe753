/** Text forms of jobs for the CLI (JSON forms are JobView as is). */
import { servicePort } from '../jobspec/index.js';
import type { JobFaultRecord } from '../domain/index.js';
import type { JobView } from '../wire/index.js';
import { printable } from './printable.js';

function ago(iso: string, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  return s < 90 ? `${s}s` : s < 5400 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

/** CPU time for people: `0.4s`, `95s`, `12m05s`, `3h07m`. */
export function cpuTimeText(usec: number): string {
  const s = usec / 1e6;
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 600) return `${Math.round(s)}s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

/** Bytes for people, binary units: `512B`, `3.0KiB`, `1.5GiB`. */
export function bytesText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n}B` : `${v.toFixed(1)}${units[i]}`;
}

type RankView = JobView['ranks'][number];

/** An application XID on a rank, for people: `XID 13 on rank 1 (node n2, GPU 3, pid 4242 python)` (not escaped: the caller does). */
export function faultText(f: Pick<JobFaultRecord, 'xid' | 'rank' | 'node' | 'gpu' | 'pid' | 'processName'>): string {
  const gpu = f.gpu === null || f.gpu < 0 ? 'GPU ?' : `GPU ${f.gpu}`;
  return `XID ${f.xid} on rank ${f.rank} (node ${f.node}, ${gpu}, pid ${f.pid}${f.processName ? ` ${f.processName}` : ''})`;
}

/** An exited rank's state: how it ended (code, signal, never started) and, when not by its own exit, why. */
function rankStateText(r: RankView): string {
  if (r.state !== 'exited') return r.state;
  const how = r.startError !== null ? 'failed to start' : (r.signal ?? `code ${r.exitCode}`);
  return `exited (${how}${r.endedBy ? `, ${r.endedBy}` : ''})`;
}

/** The usage columns of a rank: '-' where not measured. */
function usageCells(r: RankView): string[] {
  const u = r.usage;
  const cell = (v: number | null | undefined, f: (n: number) => string): string => (v === null || v === undefined ? '-' : f(v));
  return [cell(u?.cpuUsec, cpuTimeText), cell(u?.memoryPeakBytes, bytesText), cell(u?.oomKills, String)];
}

export function jobsTable(jobs: readonly JobView[], nowMs: number): string {
  const header = ['ID', 'KIND', 'QUEUE', 'PRIO', 'STATE', 'RANKS', 'NODES', 'ATTEMPT', 'AGE', 'MESSAGE'];
  const rows = jobs.map((j) => [
    j.id,
    j.kind,
    j.queue,
    String(j.priority),
    j.held ? `${j.state} (held)` : j.state,
    String(j.ranks.length || (j.spec as { ranks?: number } | null)?.ranks || 0),
    String(new Set(j.ranks.map((r) => r.node)).size),
    String(j.attempt),
    ago(j.submitted, nowMs),
    j.message.length > 60 ? j.message.slice(0, 57) + '...' : j.message,
  ].map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function jobText(j: JobView, why: string | undefined): string {
  const out = [
    `job       ${printable(j.id)} (${j.kind}, queue ${printable(j.queue)}, priority ${j.priority}${j.owner ? `, owner ${printable(j.owner)}` : ''})`,
    `state     ${j.state}${j.message ? ` — ${printable(j.message)}` : ''}`,
    `attempt   ${j.attempt} (epoch ${j.epoch})`,
    `submitted ${j.submitted}${j.started ? `   started ${j.started}` : ''}${j.deadline ? `   deadline ${j.deadline}` : ''}${j.finished ? `   finished ${j.finished}` : ''}`,
  ];
  // Held out of scheduling (its prolog failed on too many nodes) until released; the nodes it avoids.
  if (j.held) out.push(`held      ${printable(j.held)}`);
  if (j.prologFailedOn?.length) out.push(`prolog    failed on ${printable(j.prologFailedOn.join(', '))} (not placed there again)`);
  if (j.ranks.length) {
    const unitPorts = new Map<number, number>();
    for (const r of j.ranks) if (!unitPorts.has(r.unit)) unitPorts.set(r.unit, r.masterPort);
    const masterPorts = new Set(unitPorts.values()).size <= 1 ? `MASTER_PORT ${j.masterPort}` : `MASTER_PORT per unit ${[...unitPorts].map(([u, p]) => `${u}:${p}`).join(' ')}`;
    out.push(`placement ${j.ranks.length} ranks on ${new Set(j.ranks.map((r) => r.node)).size} nodes, ${masterPorts}`);
    // An SLO service: each replica's GANTRY_SERVICE_PORT (README "Service ports").
    const slo = j.kind === 'Inference' ? (j.spec as { slo?: { port?: unknown } } | null)?.slo : undefined;
    const port = typeof slo?.port === 'number' ? { port: slo.port } : undefined;
    // Usage columns once any rank's agent measured something (CPU time, memory peak, OOM kills).
    const measured = j.ranks.some((r) => r.usage);
    const rows = j.ranks.map((r) => [
      String(r.rank),
      String(r.unit),
      r.node,
      r.gpus.join(','),
      r.topologyAddress,
      ...(port ? [String(servicePort(port, r.unit))] : []),
      rankStateText(r),
      ...(measured ? usageCells(r) : []),
    ].map(printable));
    const header = ['RANK', 'UNIT', 'NODE', 'GPUS', 'TOPOLOGY', ...(port ? ['PORT'] : []), 'STATE', ...(measured ? ['CPU', 'MEM PEAK', 'OOM KILLS'] : [])];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]): string => '  ' + r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    out.push(line(header), ...rows.map(line));
  }
  if (j.faults?.length) out.push('faults:', ...j.faults.map((f) => `  ${printable(faultText(f))} at ${f.at}`));
  if (why) out.push('why pending:', ...why.split('\n').map((l) => `  ${printable(l)}`));
  return out.join('\n') + '\n';
}
