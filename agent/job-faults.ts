/**
 * Application XIDs attached to jobs (issue 20 point 3), the shell around the pure attribution
 * (health/attribute-xid.ts). Each collection cycle it is handed the health evaluator's job findings
 * (application XIDs with the pid the driver named); for each (XID, pid) once it reads what /proc
 * still says of that pid (cgroups, process group, session), asks the attribution which rank it
 * belongs to, and sends a JobFault to the scheduler for an attributed one. It keeps a bounded
 * memory of the ranks it saw (their pids, when a stop was asked, when they ended), so an XID read
 * after its rank ended, or after the runner forgot the rank, is still attributed, and one from a
 * rank Gantry was stopping is still ignored.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Counter } from 'prom-client';
import type { Logger } from '../shared/log/index.js';
import type { JobFaultView } from '../shared/wire/index.js';
import { attributeXid, STOP_CLOCK_SLACK_MS, type BlamedProcess, type KnownRank } from './health/attribute-xid.js';
import type { XidEvent } from './core/index.js';
import type { JobFinding } from './health/index.js';
import { FILES, taskDir } from './runner/layout.js';
import { readJson, type SpecRecord, type StopRecord } from './runner/records.js';
import type { TaskStatus } from './runner/index.js';

/** Ranks remembered after they ended (or the runner forgot them): this long, at most MAX_REMEMBERED. */
export const RANK_MEMORY_MS = 10 * 60_000;
const MAX_REMEMBERED = 1024;
/** (XID, pid) pairs already handled, remembered at most this many (oldest dropped first). */
const MAX_SEEN = 4096;
/** Faults waiting for the scheduler while the agent is disconnected, at most this many (oldest dropped). */
const MAX_PENDING = 256;

export interface JobFaultsOptions {
  stateDir: string;
  /** health.xid.ignoreAfterStopMs. */
  ignoreAfterStopMs: number;
  /** Where /proc is (tests); default /proc. */
  procRoot?: string;
  /** The machine's uptime (s), to date kmsg records (tests); default os.uptime. */
  uptimeSeconds?: () => number;
}

export interface JobFaultsDeps {
  /** Every task the runner knows now. */
  tasks(): TaskStatus[];
  /** Sends one fault; false when the scheduler cannot be reached now (it is sent again next cycle). */
  send(fault: JobFaultView): boolean;
  /** gantry_agent_job_faults_total{xid,result}. */
  counter: Counter<'xid' | 'result'>;
  log: Logger;
}

interface Remembered {
  jobId: string;
  rank: number;
  epoch: number;
  pid: number | null;
  endedMs?: number;
  lastSeenMs: number;
  /** stop.json's request time: a StopTask or a fence. */
  stopRequestedMs?: number;
  /** spec.json's deadline (read once): its time limit's stop. */
  deadlineMs?: number;
  specRead?: boolean;
  /** It ended stopped (or at its time limit) at this time: the stop, when neither record could be read. */
  endedStoppedMs?: number;
}

/** The XID of a job finding: its evidence starts "Xid <n> on PCI ..." (health/rules/xid.ts). */
function xidOf(f: JobFinding): number | undefined {
  const m = /^Xid (\d+) /.exec(f.evidence);
  return m ? Number(m[1]) : undefined;
}

/** What /proc says of a pid now; null when it is gone or unreadable. Pure text handling after the reads. */
export function readBlamed(procRoot: string, pid: number): BlamedProcess | null {
  let stat: string;
  let cgroup = '';
  try {
    stat = readFileSync(path.join(procRoot, String(pid), 'stat'), 'utf8');
  } catch {
    return null;
  }
  try {
    cgroup = readFileSync(path.join(procRoot, String(pid), 'cgroup'), 'utf8');
  } catch {
    // no cgroups here, or gone meanwhile: the process group decides
  }
  // Fields after "(comm)": state ppid pgrp session ...
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const num = (s: string | undefined): number | null => (s !== undefined && /^\d+$/.test(s) ? Number(s) : null);
  const cgroupPaths = cgroup
    .split('\n')
    .map((l) => /^\d+:[^:]*:(.*)$/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined && p.startsWith('/'));
  return { cgroupPaths, pgid: num(rest[2]), sid: num(rest[3]) };
}

export class JobFaults {
  private readonly ranks = new Map<string, Remembered>();
  private readonly seen = new Set<string>();
  private pending: JobFaultView[] = [];

  constructor(
    private readonly opts: JobFaultsOptions,
    private readonly deps: JobFaultsDeps,
  ) {}

  /** A task changed (runner.onUpdate): remembered at once, so a rank forgotten soon after its exit is still known. */
  taskUpdated(t: TaskStatus, nowMs: number): void {
    this.remember(t, nowMs);
  }

  /**
   * One collection cycle's job findings (application XIDs); each (XID, pid) is handled once. `read`:
   * the XID events read this cycle, which date a finding by the kernel's clock (a kmsg record's time
   * since boot); a finding without one is dated when it was first seen.
   */
  async handle(findings: readonly JobFinding[], nowMs: number, read: readonly XidEvent[] = []): Promise<void> {
    const bootMs = nowMs - (this.opts.uptimeSeconds ?? os.uptime)() * 1000;
    const happened = new Map<string, number>();
    for (const e of read) {
      if (e.pid !== null && e.monotonicUs !== null) happened.set(`${e.xid}/${e.pid}`, Math.min(nowMs, Math.round(bootMs + e.monotonicUs / 1000)));
    }
    for (const t of this.deps.tasks()) this.remember(t, nowMs);
    this.prune(nowMs);
    const fresh: Array<{ f: JobFinding; xid: number }> = [];
    for (const f of findings) {
      const xid = xidOf(f);
      if (xid === undefined) continue;
      const id = f.pid !== undefined ? `${xid}/${f.pid}` : `${xid}/-/${f.gpu ?? ''}/${f.firstSeenMs}`;
      if (this.seen.has(id)) continue;
      this.seen.add(id);
      if (this.seen.size > MAX_SEEN) this.seen.delete(this.seen.values().next().value!);
      fresh.push({ f, xid });
    }
    // The task records are read only when there is something to attribute: a cycle without a new
    // application XID does no I/O here. (A rank's records stay while it runs; one that ended
    // stopped is known as such from its exit, even once forgotten.)
    if (fresh.length > 0) await this.readStops(nowMs);
    for (const { f, xid } of fresh) this.attribute(f, xid, (f.pid !== undefined ? happened.get(`${xid}/${f.pid}`) : undefined) ?? (f.firstSeenMs || nowMs));
    this.flush();
  }

  /** `atMs`: when the XID happened (as well as is known). */
  private attribute(f: JobFinding, xid: number, atMs: number): void {
    const blamed = f.pid !== undefined ? readBlamed(this.opts.procRoot ?? '/proc', f.pid) : null;
    const a = attributeXid({ pid: f.pid, blamed, ranks: this.known(atMs), nowMs: atMs, ignoreAfterStopMs: this.opts.ignoreAfterStopMs });
    this.deps.counter.inc({ xid: String(xid), result: a.result });
    const where = { xid, gpu: f.gpu, pid: f.pid, process: f.processName, evidence: f.evidence };
    if (a.result === 'unattributed') {
      this.deps.log.warn({ ...where, reason: a.reason }, 'application XID not attributed to a rank of this node');
      return;
    }
    const rank = { job: a.rank.jobId, rank: a.rank.rank, epoch: a.rank.epoch, by: a.by };
    if (a.result === 'ignored-stopping') {
      this.deps.log.info({ ...where, ...rank, stoppedAgoMs: a.stoppedAgoMs }, 'application XID from a rank being stopped: ignored');
      return;
    }
    this.deps.log.warn({ ...where, ...rank }, 'application XID attributed to a rank');
    this.pending.push({
      jobId: a.rank.jobId,
      rank: a.rank.rank,
      epoch: a.rank.epoch,
      xid,
      gpu: f.gpu ?? null,
      pid: f.pid!,
      processName: f.processName ?? '',
      evidence: f.evidence,
      atMs,
    });
    if (this.pending.length > MAX_PENDING) this.pending.shift();
  }

  private flush(): void {
    while (this.pending.length > 0 && this.deps.send(this.pending[0]!)) this.pending.shift();
  }

  private remember(t: TaskStatus, nowMs: number): void {
    const k = `${t.jobId}/${t.rank}/${t.epoch}`;
    const r = this.ranks.get(k) ?? { jobId: t.jobId, rank: t.rank, epoch: t.epoch, pid: null, lastSeenMs: nowMs };
    r.lastSeenMs = nowMs;
    if (t.pid !== null) r.pid = t.pid;
    const ended = t.state === 'exited' || t.state === 'failed-to-start';
    if (ended && r.endedMs === undefined) r.endedMs = t.finishedMs || nowMs;
    if (ended && (t.endedBy === 'stopped' || t.endedBy === 'timeout') && r.endedStoppedMs === undefined) {
      // Stopped by request or at its time limit: the end is the latest the stop can have been; its
      // records say when exactly, read now, while they are still there (the runner forgets a
      // finished rank once the scheduler saw its exit).
      r.endedStoppedMs = t.finishedMs || nowMs;
      void this.readRecords(r);
    }
    this.ranks.set(k, r);
  }

  /** spec.json's deadline (once) and stop.json's request time (until there is one). */
  private async readRecords(r: Remembered): Promise<void> {
    const dir = taskDir(this.opts.stateDir, r);
    if (!r.specRead) {
      r.specRead = true;
      const spec = await readJson<SpecRecord>(path.join(dir, FILES.spec)).catch(() => undefined);
      if (spec?.deadlineMs) r.deadlineMs = spec.deadlineMs;
    }
    if (r.stopRequestedMs !== undefined) return;
    const stop = await readJson<StopRecord>(path.join(dir, FILES.stop)).catch(() => undefined);
    if (stop && Number.isFinite(stop.requestedMs)) r.stopRequestedMs = stop.requestedMs;
  }

  /** The records of the ranks the runner knows now (a forgotten one's may be gone). */
  private async readStops(nowMs: number): Promise<void> {
    for (const r of this.ranks.values()) if (r.lastSeenMs === nowMs) await this.readRecords(r);
  }

  /**
   * The ranks as the attribution takes them, for an XID at `atMs`. The stop is the latest of its
   * stop request and its deadline up to the XID (else the earliest, after it: the XID came first);
   * without either, when it ended stopped.
   */
  private known(atMs: number): KnownRank[] {
    return [...this.ranks.values()].map((r) => {
      const precise = [r.stopRequestedMs, r.deadlineMs].filter((x): x is number => x !== undefined);
      const before = precise.filter((x) => x <= atMs + STOP_CLOCK_SLACK_MS);
      const stopMs = before.length > 0 ? Math.max(...before) : precise.length > 0 ? Math.min(...precise) : r.endedStoppedMs;
      return { jobId: r.jobId, rank: r.rank, epoch: r.epoch, pid: r.pid, ...(stopMs !== undefined ? { stopMs } : {}), ...(r.endedMs !== undefined ? { endedMs: r.endedMs } : {}) };
    });
  }

  private prune(nowMs: number): void {
    for (const [k, r] of this.ranks) {
      const since = r.endedMs ?? r.lastSeenMs;
      if (r.lastSeenMs !== nowMs && nowMs - since > RANK_MEMORY_MS) this.ranks.delete(k);
    }
    while (this.ranks.size > MAX_REMEMBERED) this.ranks.delete(this.ranks.keys().next().value!);
  }
}
