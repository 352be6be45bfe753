/**
 * Events: a versioned union, serialised as JSON, published on NATS subjects built here only.
 * A name is always one subject token: characters other than letters, digits, '-' and '_' are
 * percent-encoded (so the dots of a hostname never split a subject).
 */
import type { Connectivity, JobFaultRecord, RequeueCause, Schedulability, Severity } from '../domain/index.js';

export const EVENT_SCHEMA_VERSION = 1 as const;
export const EVENTS_STREAM = 'GANTRY_EVENTS';
export const EVENTS_SUBJECT_ALL = 'gantry.events.>';

interface EventBase {
  v: typeof EVENT_SCHEMA_VERSION;
  /** Unique id, also used as Nats-Msg-Id for de-duplication. */
  id: string;
  /** ISO 8601 time of the transition. */
  at: string;
}

export type NodeEvent = EventBase & {
  kind: 'node';
  node: string;
} & (
    | { type: 'registered'; gpuCount: number; agentVersion: string }
    | { type: 'lost'; lastSeen: string }
    | { type: 'back'; downForMs: number }
    | { type: 'health'; health: Severity; checks: string[] }
    | { type: 'schedulability'; schedulability: Schedulability; reason: string }
    | { type: 'connectivity'; connectivity: Connectivity }
    /** Approved by an operator after joining while nodes.requireApproval was on. */
    | { type: 'approved' }
    /** Its record was deleted by an operator; the name joins afresh if it registers again. */
    | { type: 'deleted' }
    /** Left out of placement: its stored record cannot be used (the reason names the field); every other node goes on. */
    | { type: 'excluded'; reason: string }
    /**
     * A node drained for health ran its diagnostic (issue 20): result passed, failed or error (it
     * could not run, timed out, or went unanswered); `todo` says what a person should do when it did not pass.
     */
    | { type: 'diagnostic'; result: 'passed' | 'failed' | 'error'; command: string; summary: string; tries: number; todo?: string }
    /** Uncordoned by a passed diagnostic; `after` is the drain reason it had. */
    | { type: 'returned'; after: string }
    /**
     * The agent found the node unfit after (or before) a job (issue 20): its prolog or epilog failed,
     * or GPUs were left unclean (`leftovers`: the compute processes left, with their users).
     */
    | { type: 'incident'; source: string; jobId: string; reason: string; leftovers: IncidentLeftover[] }
    /**
     * The circuit breaker held back an automatic action on the node (health.maxAutoDrainShare):
     * `action` what was held back (cordon, drain, evict), `wanted` the reason it would have set, `why` the share.
     */
    | { type: 'breaker'; action: string; wanted: string; why: string }
    /**
     * A check the scheduler makes across nodes (issue 24: `nvlink-tray-domain`, NVL72 tray identity
     * against the NVLink domain) found a disagreement (`evidence`), or found it gone (evidence '').
     */
    | { type: 'hardware'; check: string; evidence: string }
  );

/** A compute process an incident found left on a job's GPUs. */
export interface IncidentLeftover {
  pid: number;
  /** Its owner's name ('' unknown). */
  user: string;
  name: string;
  gpu: number;
  usedMemoryBytes: number;
}

export type JobEvent = EventBase & {
  kind: 'job';
  job: string;
  /** The job's state after the transition. */
  /** replica: an inference replica was lost, replaced or placed; scaled: the replica target changed (the message says why). */
  /** fault: an application XID was attributed to one of its ranks (`fault` says which; the state is the job's after it). */
  type: 'submitted' | 'placed' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timeout' | 'requeued' | 'pending' | 'replica' | 'scaled' | 'fault';
  attempt: number;
  epoch: number;
  message: string;
  /** Nodes of the placement, for placed/running. */
  nodes?: string[];
  /** requeued, timeout, and failed for a cause: why the run ended, as data (the message words it). */
  cause?: RequeueCause;
  /** fault: the XID, rank, node, GPU and pid. */
  fault?: JobFaultRecord;
};

/**
 * A topology domain whose east-west tail latency stands out from its siblings' (degraded), or no
 * longer does (recovered). `level` is the tree level (`node`, `leaf`, `spine`, ...).
 */
export type DomainEvent = EventBase & {
  kind: 'domain';
  level: string;
  domain: string;
  type: 'degraded' | 'recovered';
  /** The domain's p99 RTT and its siblings' (median), in ms, when the state changed. */
  p99Ms: number;
  siblingsP99Ms: number;
};

/** Who acted, as the scheduler verified it (never a request field). */
export interface Actor {
  /** The user or node name from the certificate or token; 'anonymous' on a plaintext server. */
  name: string;
  kind: 'user' | 'node' | 'anonymous';
  via: 'certificate' | 'token' | 'none';
}

/**
 * An audit record: every state change made through the API, every refusal (PERMISSION_DENIED,
 * UNAUTHENTICATED) and every node join or impersonation attempt. `action` is the RPC or agent
 * protocol step (`SubmitJob`, `CancelJob`, `CordonNode`, `Connect`, `NodeJoined`...), `target`
 * what it acted on (a job id, a node name; '' for none).
 */
export type AuditEvent = EventBase & {
  kind: 'audit';
  type: 'allowed' | 'denied' | 'unauthenticated' | 'failed';
  actor: Actor;
  action: string;
  target: string;
  /** The permission checked (denied: the one missing); '' when none applies. */
  permission: string;
  /** The outcome in words: the denial's reason, the error's message, or what changed. */
  message: string;
  /** The caller's address (ip:port). */
  peer: string;
};

export type GantryEvent = NodeEvent | JobEvent | DomainEvent | AuditEvent;

/** Percent-encodes everything but [A-Za-z0-9_-] so a name is exactly one NATS subject token. */
export function subjectToken(name: string): string {
  if (name === '') return '%';
  let out = '';
  for (const ch of name) {
    if (/[A-Za-z0-9_-]/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function subjectTokenDecode(token: string): string {
  return token === '%' ? '' : decodeURIComponent(token);
}

export function nodeEventSubject(node: string): string {
  return `gantry.events.node.${subjectToken(node)}`;
}

export function jobEventSubject(jobId: string): string {
  return `gantry.events.job.${subjectToken(jobId)}`;
}

export function domainEventSubject(level: string, domain: string): string {
  return `gantry.events.domain.${subjectToken(level)}.${subjectToken(domain)}`;
}

export function auditEventSubject(action: string): string {
  return `gantry.events.audit.${subjectToken(action)}`;
}

/**
 * Telemetry subjects: `gantry.telemetry.<kind>.<node>`, where <node> is the publishing agent's own
 * node (one token). Every subject an agent publishes ends in its node, so one NATS permission,
 * nodeTelemetryPermission(node), confines an agent to its own telemetry; the scheduler reads the
 * node from the subject (telemetrySubjectNode), never from the payload.
 */
export const TELEMETRY_SUBJECT_ALL = 'gantry.telemetry.>';
const LATENCY_PREFIX = 'gantry.telemetry.latency.';
const SERVICE_PREFIX = 'gantry.telemetry.service.';

/** The one publish permission an agent needs: every telemetry kind, its own node only. */
export function nodeTelemetryPermission(node: string): string {
  return `gantry.telemetry.*.${subjectToken(node)}`;
}

const PLAIN_TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * The node a telemetry subject of `kind` names (its last token, decoded); undefined when the subject
 * is not `gantry.telemetry.<kind>.<one token>` or the token is not one subjectToken() builds (a
 * token no node's permission matches, e.g. an unencoded ':' or a stray '%').
 */
export function telemetrySubjectNode(subject: string, kind: 'latency' | 'service'): string | undefined {
  const prefix = kind === 'latency' ? LATENCY_PREFIX : SERVICE_PREFIX;
  if (!subject.startsWith(prefix)) return undefined;
  const token = subject.slice(prefix.length);
  if (PLAIN_TOKEN.test(token)) return token; // the common case: nothing was encoded
  let node: string;
  try {
    node = subjectTokenDecode(token);
  } catch {
    return undefined;
  }
  return token !== '' && subjectToken(node) === token ? node : undefined;
}

/** Where an agent publishes its east-west latency windows (core NATS, not JetStream). */
export function latencyTelemetrySubject(node: string): string {
  return LATENCY_PREFIX + subjectToken(node);
}

export const LATENCY_TELEMETRY_SUBJECT_ALL = 'gantry.telemetry.latency.*';

/** Where an agent publishes its SLO replicas' service windows: its own node (the payload names the service). */
export function serviceTelemetrySubject(node: string): string {
  return SERVICE_PREFIX + subjectToken(node);
}

export const SERVICE_TELEMETRY_SUBJECT_ALL = 'gantry.telemetry.service.*';

export function eventSubject(e: GantryEvent): string {
  switch (e.kind) {
    case 'node':
      return nodeEventSubject(e.node);
    case 'job':
      return jobEventSubject(e.job);
    case 'domain':
      return domainEventSubject(e.level, e.domain);
    case 'audit':
      return auditEventSubject(e.action);
  }
}
