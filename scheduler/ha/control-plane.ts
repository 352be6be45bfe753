/**
 * What one scheduler says of its place in the control plane (GetControlPlane, `gantry status`),
 * and the HA metrics, which live in the HA daemon's own registry for the process's whole life:
 *
 *   gantry_scheduler_ha_leader                 1 while this scheduler leads (and may act), else 0
 *   gantry_scheduler_ha_term                   the term it leads in (0 unless leader)
 *   gantry_scheduler_ha_leader_changes_total   how often it took the lead or stepped down
 *   gantry_scheduler_ha_standby_lag_entries    the state stream's head minus what it applied
 *                                              (0 on the leader, which writes the head)
 *
 * The registry is served on metrics.listen by the standby's own small server while it is a
 * standby; the leader's scheduler serves it merged with its own (daemon.ts closes the standby's
 * server before the leader's starts on the same port, and the reverse when it steps down).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { ControlPlaneMember, ControlPlaneRole } from '../../shared/domain/index.js';

export type { ControlPlaneMember, ControlPlaneRole };

/** A scheduler without ha.enabled: the one scheduler of its cluster, its own leader (address asked when answering). */
export function singleMember(schedulerId: string, address: () => string, sinceUnixMs: number): () => ControlPlaneMember {
  return () => ({ schedulerId, address: address(), role: 'single', term: 0, roleSinceUnixMs: sinceUnixMs, appliedSeq: 0, headSeq: 0, leaderId: schedulerId, leaderAddress: address() });
}

/** A standby's lag: entries between what it applied and the stream's head (never negative). */
export function lagEntries(m: Pick<ControlPlaneMember, 'appliedSeq' | 'headSeq'>): number {
  return Math.max(0, m.headSeq - m.appliedSeq);
}

export interface HaMetrics {
  registry: Registry;
  leader: Gauge;
  term: Gauge;
  leaderChanges: Counter;
  standbyLag: Gauge;
}

/**
 * The HA registry. The gauges are read from `view` when scraped, so a leader paused past its
 * lease reports 0 from its first scrape after waking, before any timer has run.
 */
export function createHaMetrics(view: () => ControlPlaneMember): HaMetrics {
  const registry = new Registry();
  const mayLead = (m: ControlPlaneMember): boolean => m.role === 'leader' && m.term > 0;
  return {
    registry,
    leader: new Gauge({
      name: 'gantry_scheduler_ha_leader',
      help: '1 while this scheduler leads the control plane, else 0 (high availability)',
      registers: [registry],
      collect() {
        this.set(mayLead(view()) ? 1 : 0);
      },
    }),
    term: new Gauge({
      name: 'gantry_scheduler_ha_term',
      help: 'The term this scheduler leads in (the lease key revision), 0 unless leader',
      registers: [registry],
      collect() {
        const m = view();
        this.set(mayLead(m) ? m.term : 0);
      },
    }),
    leaderChanges: new Counter({ name: 'gantry_scheduler_ha_leader_changes_total', help: 'Times this scheduler took the lead or stepped down', registers: [registry] }),
    standbyLag: new Gauge({
      name: 'gantry_scheduler_ha_standby_lag_entries',
      help: 'State stream entries this scheduler has not applied yet, as of its last read of the head (0 on the leader)',
      registers: [registry],
      collect() {
        const m = view();
        this.set(m.role === 'leader' ? 0 : lagEntries(m));
      },
    }),
  };
}
