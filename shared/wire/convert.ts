/**
 * The only code that touches generated protobuf types: domain <-> wire conversion.
 * Inbound conversion validates what a peer sent and throws InvalidArgumentError naming the field.
 */
import { rankFaultFromPb, rankFaultToPb, type RankFaultView } from './job-fault.js';
import type {
  Connectivity,
  HealthVerdict,
  HealthAction,
  Inventory,
  JobRecord,
  NodeRecord,
  Schedulability,
  RankUsage,
  Severity,
  GpuInfo,
} from '../domain/index.js';
import { servicePort, type JobSpec } from '../jobspec/index.js';
import { ACTIVE_JOB_STATES, HEALTH_ACTIONS, jobRunAs } from '../domain/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { PbLatencyEndpointOut, PbLatencyPeers, PbLatencyPeersOut, WatchEventsResponse, WatchEventsResponse__Output } from '../proto/index.js';
import { eventSubject, type GantryEvent } from '../events/index.js';
import { inventoryFromPb } from './inventory.js';
import { usageFromPb, usageToPb } from './usage.js';
import type {
  PbInventory,
  PbJob,
  PbJobOut,
  PbNode,
  PbNodeOut,
  PbServiceSlo,
  PbServiceSloOut,
  PbVerdict,
  PbVerdictOut,
} from '../proto/index.js';

const SEVERITY_TO_PB = { ok: 'SEVERITY_OK', warn: 'SEVERITY_WARN', fail: 'SEVERITY_FAIL' } as const;
const CONNECTIVITY_TO_PB = { ready: 'CONNECTIVITY_READY', lost: 'CONNECTIVITY_LOST' } as const;
const SCHEDULABILITY_TO_PB = {
  schedulable: 'SCHEDULABILITY_SCHEDULABLE',
  cordoned: 'SCHEDULABILITY_CORDONED',
  draining: 'SCHEDULABILITY_DRAINING',
} as const;

function invert<K extends string, V extends string>(m: Record<K, V>): Record<string, K> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [v, k])) as Record<string, K>;
}
const SEVERITY_FROM_PB = invert(SEVERITY_TO_PB);
const CONNECTIVITY_FROM_PB = invert(CONNECTIVITY_TO_PB);
const SCHEDULABILITY_FROM_PB = invert(SCHEDULABILITY_TO_PB);

export function severityFromPb(v: string, field: string): Severity {
  const s = SEVERITY_FROM_PB[v];
  if (!s) throw new InvalidArgumentError(field, `unknown severity ${JSON.stringify(v)}`);
  return s;
}
export function connectivityToPb(c: Connectivity): string {
  return CONNECTIVITY_TO_PB[c];
}
export function connectivityFromPb(v: string): Connectivity | undefined {
  return CONNECTIVITY_FROM_PB[v];
}
export function schedulabilityFromPb(v: string): Schedulability | undefined {
  return SCHEDULABILITY_FROM_PB[v];
}

export function verdictToPb(v: HealthVerdict): PbVerdict {
  return {
    check: v.check,
    severity: SEVERITY_TO_PB[v.severity],
    hasGpu: v.gpu !== undefined,
    gpu: v.gpu ?? 0,
    evidence: v.evidence,
    firstSeenUnixMs: v.firstSeenMs,
    action: v.action ?? '',
    remedy: v.remedy ?? '',
  };
}

export function verdictFromPb(v: PbVerdictOut, field: string): HealthVerdict {
  if (!v.check) throw new InvalidArgumentError(`${field}.check`, 'must not be empty');
  const out: HealthVerdict = {
    check: v.check,
    severity: severityFromPb(v.severity, `${field}.severity`),
    evidence: v.evidence,
    firstSeenMs: v.firstSeenUnixMs,
  };
  if (v.hasGpu) out.gpu = v.gpu;
  if (v.action) {
    if (!HEALTH_ACTIONS.has(v.action as HealthAction)) throw new InvalidArgumentError(`${field}.action`, `must be one of ${[...HEALTH_ACTIONS].join(', ')} (got ${JSON.stringify(v.action.slice(0, 40))})`);
    out.action = v.action as HealthAction;
  }
  if (v.remedy) out.remedy = v.remedy;
  return out;
}

/** A GPU to the wire: MIG instances and platform (issue 24) spelled out; minorNumber stays agent-local. */
function gpuToPb(g: GpuInfo): NonNullable<PbInventory["gpus"]>[number] {
  const { migInstances, platform, minorNumber: _local, ...rest } = g;
  return {
    ...rest,
    memoryMib: g.memoryMiB,
    ...(migInstances?.length ? { migInstances: migInstances.map((m) => ({ ...m, memoryMib: m.memoryMiB })) } : {}),
    ...(platform ? { platform: { ...platform } } : {}),
  };
}

export function inventoryToPb(inv: Inventory): PbInventory {
  return {
    host: { ...inv.host },
    firmware: { ...inv.firmware },
    gpus: inv.gpus.map(gpuToPb),
    hcas: inv.hcas.map((h) => ({ ...h, ports: h.ports.map((p) => ({ ...p })) })),
    topology: {
      linkMatrix: {
        devices: inv.topology.linkMatrix.devices,
        rows: inv.topology.linkMatrix.rows.map((cells) => ({ cells })),
      },
      linkGroups: inv.topology.linkGroups.map((g) => ({ kind: g.kind, gpus: g.gpus })),
      ...(inv.topology.fabric ? { fabric: { ...inv.topology.fabric } } : {}),
      domains: { ...inv.topology.domains },
      nics: { ...inv.topology.nics },
    },
  };
}

export function nodeToPb(n: NodeRecord): PbNode {
  return {
    name: n.name,
    address: n.address,
    connectivity: CONNECTIVITY_TO_PB[n.connectivity],
    schedulability: SCHEDULABILITY_TO_PB[n.schedulability],
    schedulabilityReason: n.schedulabilityReason,
    health: SEVERITY_TO_PB[n.health],
    verdicts: n.verdicts.map(verdictToPb),
    inventory: inventoryToPb(n.inventory),
    labels: n.labels,
    agentVersion: n.agentVersion,
    registeredUnixMs: n.registeredMs,
    lastSeenUnixMs: n.lastSeenMs,
    reportsReceived: n.reportsReceived,
    drainDeadlineUnixMs: n.drainDeadlineMs ?? 0,
    allowedUsers: n.allowedUsers ?? [],
    allowRoot: n.allowRoot ?? false,
    awaitingApproval: n.awaitingApproval === true,
    ...(n.lastDiagnostic
      ? { lastDiagnostic: { atUnixMs: n.lastDiagnostic.atMs, passed: n.lastDiagnostic.passed, command: n.lastDiagnostic.command, summary: n.lastDiagnostic.summary, tries: n.lastDiagnostic.tries } }
      : {}),
  };
}

export function nodeFromPb(pb: PbNodeOut): NodeRecord {
  return {
    name: pb.name,
    address: pb.address,
    connectivity: CONNECTIVITY_FROM_PB[pb.connectivity] ?? 'lost',
    schedulability: SCHEDULABILITY_FROM_PB[pb.schedulability] ?? 'schedulable',
    schedulabilityReason: pb.schedulabilityReason,
    health: SEVERITY_FROM_PB[pb.health] ?? 'ok',
    verdicts: pb.verdicts.map((v, i) => verdictFromPb(v, `verdicts[${i}]`)),
    inventory: inventoryFromPb(pb.inventory, 'inventory', false),
    labels: pb.labels,
    agentVersion: pb.agentVersion,
    registeredMs: pb.registeredUnixMs,
    lastSeenMs: pb.lastSeenUnixMs,
    reportsReceived: pb.reportsReceived,
    ...(Number(pb.drainDeadlineUnixMs) > 0 ? { drainDeadlineMs: Number(pb.drainDeadlineUnixMs) } : {}),
    allowedUsers: [...pb.allowedUsers],
    allowRoot: pb.allowRoot,
    ...(pb.awaitingApproval ? { awaitingApproval: true } : {}),
    ...(pb.lastDiagnostic
      ? { lastDiagnostic: { atMs: Number(pb.lastDiagnostic.atUnixMs), passed: pb.lastDiagnostic.passed, command: pb.lastDiagnostic.command, summary: pb.lastDiagnostic.summary, tries: pb.lastDiagnostic.tries } }
      : {}),
  };
}

export function jobToPb(j: JobRecord): PbJob {
  return {
    id: j.id,
    name: j.spec.name,
    kind: j.spec.kind,
    queue: j.spec.queue,
    priority: j.spec.priority,
    state: j.state,
    message: j.message,
    attempt: j.attempt,
    epoch: j.epoch,
    submittedUnixMs: j.submittedMs,
    updatedUnixMs: j.updatedMs,
    startedUnixMs: j.startedMs,
    finishedUnixMs: j.finishedMs,
    ranks: j.ranks.map((r) => ({
      rank: r.rank,
      unit: r.unit,
      node: r.node,
      gpus: r.gpus,
      topologyAddress: r.topologyAddress,
      state: r.state,
      exitCode: r.exitCode ?? 0,
      signal: r.signal ?? '',
      startError: r.startError ?? '',
      masterPort: r.masterPort ?? j.masterPort,
      endedBy: r.endedBy ?? '',
      ...(r.usage ? { usage: usageToPb(r.usage) } : {}),
    })),
    specJson: JSON.stringify(j.spec),
    owner: j.owner,
    masterPort: j.masterPort,
    submittedBy: j.submittedBy ?? '',
    runAs: jobRunAs(j),
    // The current run's deadline: while it runs, and once it timed out (a requeued run's is over).
    deadlineUnixMs: ACTIVE_JOB_STATES.has(j.state) || j.state === 'timeout' ? (j.deadlineMs ?? 0) : 0,
    faults: (j.faults ?? []).map(rankFaultToPb),
    heldReason: j.held?.reason ?? '',
    prologFailedOn: j.prologFailedOn ?? [],
  };
}

/** The CLI's view of a job: the wire message with the spec parsed back. */
export interface JobView {
  id: string;
  name: string;
  kind: string;
  queue: string;
  priority: number;
  state: string;
  message: string;
  attempt: number;
  epoch: number;
  submitted: string;
  started: string | null;
  finished: string | null;
  /** When this epoch's ranks are stopped for the time limit; null: none. */
  deadline?: string | null;
  /** Held out of scheduling until an operator releases it (gantry release): why; absent or null: not held. */
  held?: string | null;
  /** Nodes whose prolog failed for it (the planner avoids them); absent: none. */
  prologFailedOn?: string[];
  owner: string;
  masterPort: number;
  ranks: Array<{
    rank: number;
    unit: number;
    node: string;
    gpus: number[];
    topologyAddress: string;
    state: string;
    exitCode: number | null;
    signal: string | null;
    startError: string | null;
    masterPort: number;
    /** How a finished rank ended when not by its own exit: timeout, oom, stopped; null: its own exit. */
    endedBy?: string | null;
    /** What was measured of a finished rank; null: nothing (a value in it null: that one not measured). */
    usage?: RankUsage | null;
  }>;
  /** Application XIDs attributed to its ranks, oldest first (absent from views built before faults existed). */
  faults?: RankFaultView[];
  spec: unknown;
}

export function jobViewFromPb(pb: PbJobOut): JobView {
  const iso = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null);
  return {
    id: pb.id,
    name: pb.name,
    kind: pb.kind,
    queue: pb.queue,
    priority: pb.priority,
    state: pb.state,
    message: pb.message,
    attempt: pb.attempt,
    epoch: pb.epoch,
    submitted: new Date(pb.submittedUnixMs).toISOString(),
    started: iso(pb.startedUnixMs),
    finished: iso(pb.finishedUnixMs),
    deadline: iso(Number(pb.deadlineUnixMs)),
    ...(pb.heldReason ? { held: pb.heldReason } : {}),
    ...(pb.prologFailedOn.length ? { prologFailedOn: [...pb.prologFailedOn] } : {}),
    owner: pb.owner,
    masterPort: pb.masterPort,
    ranks: pb.ranks.map((r) => ({
      rank: r.rank,
      unit: r.unit,
      node: r.node,
      gpus: r.gpus,
      topologyAddress: r.topologyAddress,
      state: r.state,
      exitCode: r.state === 'exited' && !r.startError ? r.exitCode : null,
      signal: r.signal || null,
      startError: r.startError || null,
      masterPort: r.masterPort || pb.masterPort,
      endedBy: r.endedBy || null,
      usage: usageFromPb(r.usage) ?? null,
    })),
    faults: (pb.faults ?? []).map(rankFaultFromPb),
    spec: pb.specJson ? (JSON.parse(pb.specJson) as unknown) : null,
  };
}

/** What an agent scrapes for one SLO replica (StartTask.slo). */
export interface ServiceSloView {
  /** The service its windows name (on `gantry.telemetry.service.<node>`): the job id. */
  service: string;
  metric: string;
  port: number;
  /** Scrape and publish period; 0: the agent's slo.scrapeIntervalMs. */
  windowMs: number;
  replica: number;
}

/**
 * StartTask.slo for one rank: set only for an Inference job with an SLO, on the first rank of each
 * replica (the one that serves the replica's metrics port, slo.port + replica index), else undefined.
 */
export function serviceSloToPb(job: Pick<JobRecord, 'id' | 'spec' | 'ranks'>, rank: { rank: number; unit: number }, windowMs = 0): PbServiceSlo | undefined {
  return serviceSloView(job, rank, windowMs);
}

/** The same as a plain value (a StartTaskView's slo). */
export function serviceSloView(job: Pick<JobRecord, 'id' | 'spec' | 'ranks'>, rank: { rank: number; unit: number }, windowMs = 0): ServiceSloView | undefined {
  const slo: JobSpec['slo'] = job.spec.kind === 'Inference' ? job.spec.slo : undefined;
  if (!slo) return undefined;
  const first = job.ranks.filter((r) => r.unit === rank.unit).reduce((m, r) => Math.min(m, r.rank), rank.rank);
  if (first !== rank.rank) return undefined;
  return { service: job.id, metric: slo.metric, port: servicePort(slo, rank.unit), windowMs, replica: rank.unit };
}

export function serviceSloFromPb(pb: PbServiceSloOut | null | undefined, field: string): ServiceSloView | undefined {
  if (!pb) return undefined;
  if (!pb.service) throw new InvalidArgumentError(`${field}.service`, 'is required');
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(pb.metric)) throw new InvalidArgumentError(`${field}.metric`, `must be a Prometheus metric name, got ${JSON.stringify(pb.metric)}`);
  if (pb.port < 1 || pb.port > 65535) throw new InvalidArgumentError(`${field}.port`, `must be 1-65535, got ${pb.port}`);
  return { service: pb.service, metric: pb.metric, port: pb.port, windowMs: pb.windowMs, replica: pb.replica };
}

/** A node's latency echo endpoint (agent -> scheduler); null when latency probing is off. */
export interface LatencyEndpointView {
  address: string;
  port: number;
}

export function latencyEndpointFromPb(pb: PbLatencyEndpointOut | null | undefined, field: string): LatencyEndpointView | null {
  if (!pb || pb.port === 0) return null;
  if (pb.port > 65535) throw new InvalidArgumentError(`${field}.port`, `must be 1..65535, not ${pb.port}`);
  if (!pb.address) throw new InvalidArgumentError(`${field}.address`, 'is required with a port');
  return { address: pb.address, port: pb.port };
}

/** A peer a node's prober probes (scheduler -> agent). */
export interface LatencyPeerView {
  node: string;
  address: string;
  port: number;
}

export function latencyPeersToPb(peers: readonly LatencyPeerView[]): PbLatencyPeers {
  return { peers: peers.map((p) => ({ node: p.node, address: p.address, port: p.port })) };
}

export function latencyPeersFromPb(pb: PbLatencyPeersOut | null | undefined, field: string): LatencyPeerView[] {
  return (pb?.peers ?? []).map((p, i) => {
    if (!p.node) throw new InvalidArgumentError(`${field}.peers[${i}].node`, 'is required');
    if (!p.address) throw new InvalidArgumentError(`${field}.peers[${i}].address`, 'is required');
    if (p.port < 1 || p.port > 65535) throw new InvalidArgumentError(`${field}.peers[${i}].port`, `must be 1..65535, not ${p.port}`);
    return { node: p.node, address: p.address, port: p.port };
  });
}

/** One scheduler event on the WatchEvents stream: its subject, kind, type and time, and the whole event as JSON. */
export function eventToPb(e: GantryEvent): WatchEventsResponse {
  return { subject: eventSubject(e), kind: e.kind, type: e.type, at: e.at, json: JSON.stringify(e) };
}

/** The event carried by a WatchEvents response (the JSON is authoritative; the other fields must agree with it). */
export function eventFromPb(pb: WatchEventsResponse__Output): GantryEvent {
  let e: GantryEvent;
  try {
    e = JSON.parse(pb.json) as GantryEvent;
  } catch (err) {
    throw new InvalidArgumentError('json', `is not JSON: ${(err as Error).message}`);
  }
  if (e === null || typeof e !== 'object' || !['job', 'node', 'domain', 'audit'].includes((e as { kind?: unknown }).kind as string)) {
    throw new InvalidArgumentError('json.kind', 'must be job, node, domain or audit');
  }
  if (e.kind !== pb.kind) throw new InvalidArgumentError('kind', `is ${JSON.stringify(pb.kind)} but the event is ${JSON.stringify(e.kind)}`);
  return e;
}
