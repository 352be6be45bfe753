import { Counter, Gauge, Registry } from 'prom-client';
import { registerEventLoopDelay, registerProcessMetrics } from '../shared/metrics/index.js';
import type { ClusterModel } from './cluster/index.js';
import { isHealthDrained } from './diagnostics/policy.js';
import type { EventBus } from './events/index.js';
import type { DomainStatus } from './telemetry/index.js';
import { CONNECT_REFUSAL_REASONS } from './api/agent-identity.js';
import { registerHardwareMetrics } from './hardware-metrics.js';

export interface SchedulerMetrics {
  registry: Registry;
  reportsReceived: Counter;
  registrations: Counter;
  invalidMessages: Counter<'reason'>;
  agentStreams: Gauge;
  /** Calls refused: reason unauthenticated or permission-denied, action the RPC. */
  authDenied: Counter<'reason' | 'action'>;
  /** Agent streams refused for their identity, by reason (api/agent-identity.ts). */
  nodeIdentityRefused: Counter<'reason'>;
  /** Nodes left out of placement because their stored records cannot be used (the job manager's cluster view). */
  nodesExcluded: Gauge;
  nodeExclusions: Counter;
  /** Calls refused by the per-caller rate limit (grpc.rateLimit), by action (the RPC). */
  rateLimited: Counter<'action'>;
  /** Application XIDs recorded on jobs, by XID (jobs/faults.ts). */
  jobFaults: Counter<'xid'>;
  /** gantry_scheduler_node_diagnostics_total{result}. */
  nodeDiagnostics: Counter<'result'>;
  /** Health policy (issue 20): gangs stopped and requeued because a node failed its health checks (action evict). */
  healthEvictions: Counter;
  /** Node incidents agents reported (NodeIncident), by source (prolog, epilog, gpu-clean). */
  nodeIncidents: Counter<'source'>;
  /** 1 while the circuit breaker holds back an automatic action on some node, else 0. */
  breakerOpen: Gauge;
  /** Automatic actions the circuit breaker held back. */
  breakerHeldBack: Counter<'action'>;
}

/**
 * `domains`: the east-west latency verdicts per topology domain (the latency telemetry's
 * aggregator); empty while telemetry is off, so the domain gauges are always served, without samples.
 */
export function createSchedulerMetrics(cluster: ClusterModel, events: EventBus, domains: () => readonly DomainStatus[] = () => []): SchedulerMetrics {
  const registry = new Registry();
  registerProcessMetrics(registry, 'gantry_scheduler_');
  registerEventLoopDelay(registry, 'gantry_scheduler_');
  const byState = (name: string, help: string, states: readonly string[]): void => {
    new Gauge({
      name,
      help,
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const c = cluster.countBy() as Record<string, number>;
        for (const s of states) this.set({ state: s }, c[s] ?? 0);
      },
    });
  };
  byState('gantry_scheduler_nodes', 'Nodes by connectivity state (ready, lost).', ['ready', 'lost']);
  byState('gantry_scheduler_nodes_schedulability', 'Nodes by schedulability (schedulable, cordoned, draining).', [
    'schedulable',
    'cordoned',
    'draining',
  ]);
  byState('gantry_scheduler_nodes_health', 'Nodes by health (ok, warn, fail).', ['ok', 'warn', 'fail']);
  new Gauge({
    name: 'gantry_scheduler_nodes_drained_for_health',
    help: "Nodes cordoned or draining for health (reason 'health: ...'), waiting for their diagnostic or for a person.",
    registers: [registry],
    collect() {
      this.set(cluster.list().filter((n) => isHealthDrained(n.schedulability, n.schedulabilityReason)).length);
    },
  });
  new Gauge({
    name: 'gantry_scheduler_node_diagnostic_failed',
    help: 'Per node drained for health: 1 while its last diagnostic did not pass (it stays drained; see gantry node NAME).',
    labelNames: ['node'],
    registers: [registry],
    collect() {
      this.reset();
      for (const n of cluster.list()) {
        if (isHealthDrained(n.schedulability, n.schedulabilityReason) && n.lastDiagnostic && !n.lastDiagnostic.passed) this.set({ node: n.name }, 1);
      }
    },
  });
  new Gauge({
    name: 'gantry_scheduler_nodes_awaiting_approval',
    help: 'Nodes that joined while nodes.requireApproval was on and take no work until approved (gantry node approve).',
    registers: [registry],
    collect() {
      this.set(cluster.countBy().awaitingApproval);
    },
  });
  new Gauge({
    name: 'gantry_scheduler_events_pending',
    help: 'Events in the outbox: stored with their state change, not yet acknowledged by NATS JetStream.',
    registers: [registry],
    collect() {
      this.set(events.pending());
    },
  });
  new Gauge({
    name: 'gantry_scheduler_domain_degraded',
    help: 'Whether a topology domain is marked degraded (east-west p99 above its siblings’), by level and domain.',
    labelNames: ['level', 'domain'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of domains()) this.set({ level: d.level, domain: d.name }, d.degraded ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gantry_scheduler_domain_latency_p99_seconds',
    help: 'East-west RTT p99 of a topology domain over the sliding window (lower median over its domain pairs).',
    labelNames: ['level', 'domain'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of domains()) if (d.samples > 0) this.set({ level: d.level, domain: d.name }, d.p99Us / 1e6);
    },
  });
  const nodeIdentityRefused = new Counter({
    name: 'gantry_scheduler_node_identity_refused_total',
    help: "Agent streams refused for their identity: unauthenticated (no usable certificate), user-identity (a user's certificate on the agent protocol), name-mismatch (a node certificate registering another node's name).",
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of CONNECT_REFUSAL_REASONS) nodeIdentityRefused.inc({ reason }, 0);
  registerHardwareMetrics(registry, cluster);
  return {
    registry,
    reportsReceived: new Counter({
      name: 'gantry_scheduler_reports_received_total',
      help: 'Agent reports received.',
      registers: [registry],
    }),
    registrations: new Counter({
      name: 'gantry_scheduler_registrations_total',
      help: 'Agent registrations (first connects and reconnects).',
      registers: [registry],
    }),
    invalidMessages: new Counter({
      name: 'gantry_scheduler_invalid_agent_messages_total',
      help: 'Agent messages refused as invalid.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    agentStreams: new Gauge({
      name: 'gantry_scheduler_agent_streams',
      help: 'Open agent streams.',
      registers: [registry],
    }),
    authDenied: new Counter({
      name: 'gantry_scheduler_auth_denied_total',
      help: 'API calls refused, by reason (unauthenticated, permission-denied) and action (the RPC).',
      labelNames: ['reason', 'action'],
      registers: [registry],
    }),
    nodeIdentityRefused,
    nodesExcluded: new Gauge({
      name: 'gantry_scheduler_nodes_excluded',
      help: 'Nodes left out of placement because their stored records cannot be used (a node event of type excluded says why); every other node goes on being scheduled.',
      registers: [registry],
    }),
    nodeExclusions: new Counter({
      name: 'gantry_scheduler_node_exclusions_total',
      help: 'Times a node was left out of placement for its record (or for a new reason).',
      registers: [registry],
    }),
    nodeDiagnostics: new Counter({
      name: 'gantry_scheduler_node_diagnostics_total',
      help: 'Diagnostics of nodes drained for health, by result (passed, failed, error: could not run, timed out or went unanswered).',
      labelNames: ['result'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'gantry_scheduler_rate_limited_total',
      help: 'API calls refused with RESOURCE_EXHAUSTED by the per-caller rate limit (grpc.rateLimit), by action (the RPC).',
      labelNames: ['action'],
      registers: [registry],
    }),
    jobFaults: new Counter({
      name: 'gantry_scheduler_job_faults_total',
      help: 'Application XIDs agents attributed to ranks, recorded on their jobs (a running gang requeued), by XID.',
      labelNames: ['xid'],
      registers: [registry],
    }),
    healthEvictions: new Counter({
      name: 'gantry_scheduler_health_evictions_total',
      help: 'Gangs stopped and requeued (no retry used) because a node they ran on failed its health checks (a verdict whose action is evict).',
      registers: [registry],
    }),
    nodeIncidents: withZero(
      new Counter({
        name: 'gantry_scheduler_node_incidents_total',
        help: 'Node incidents agents reported (a prolog or epilog that failed, GPUs left unclean), by source; each drains its node unless the circuit breaker holds it back.',
        labelNames: ['source'],
        registers: [registry],
      }),
      'source',
      ['prolog', 'epilog', 'gpu-clean'],
    ),
    breakerOpen: new Gauge({
      name: 'gantry_scheduler_health_breaker_open',
      help: 'Is the health circuit breaker holding back an automatic cordon, drain or eviction (1) or not (0): more than health.maxAutoDrainShare of the nodes would be out.',
      registers: [registry],
    }),
    breakerHeldBack: withZero(
      new Counter({
        name: 'gantry_scheduler_health_breaker_held_back_total',
        help: 'Automatic cordons, drains and evictions the health circuit breaker held back, by action.',
        labelNames: ['action'],
        registers: [registry],
      }),
      'action',
      ['cordon', 'drain', 'evict'],
    ),
  };
}

/** A labelled counter with its known series at 0, so rate() and alerts see them from the start. */
function withZero<L extends string>(c: Counter<L>, label: L, values: readonly string[]): Counter<L> {
  for (const v of values) c.inc({ [label]: v } as Partial<Record<L, string>>, 0);
  return c;
}
