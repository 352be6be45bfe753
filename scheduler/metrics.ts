import { Counter, Gauge, Registry } from 'prom-client';
import { registerProcessMetrics } from '../shared/metrics/index.js';
import type { ClusterModel } from './cluster/index.js';
import type { EventBus } from './events/index.js';

export interface SchedulerMetrics {
  registry: Registry;
  reportsReceived: Counter;
  registrations: Counter;
  invalidMessages: Counter<'reason'>;
  agentStreams: Gauge;
}

export function createSchedulerMetrics(cluster: ClusterModel, events: EventBus): SchedulerMetrics {
  const registry = new Registry();
  registerProcessMetrics(registry, 'gantry_scheduler_');
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
    name: 'gantry_scheduler_events_pending',
    help: 'Events in the outbox: stored with their state change, not yet acknowledged by NATS JetStream.',
    registers: [registry],
    collect() {
      this.set(events.pending());
    },
  });
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
  };
}
