import { readFileSync } from 'node:fs';
import { parseProcStat, type ProcStat } from '../agent/runner/index.js';

/** What a benchmark suite is: named, runs, returns rows for the table and details for the JSON. */
export interface BenchRow {
  scenario: string;
  metric: string;
  value: number | string;
  unit: string;
  /** The target, as text (e.g. ">= 50,000"), when there is one. */
  target?: string;
  /** Whether the value meets the target (absent when there is no target). */
  ok?: boolean;
  /** The public anchor figure this is measured against, as text. */
  anchor?: string;
}

export interface SuiteResult {
  rows: BenchRow[];
  details: Record<string, unknown>;
}

export interface BenchOptions {
  /** Fewer repetitions and smaller mixes, for a smoke run. */
  quick: boolean;
  /** Run only the scenarios whose label starts with one of these (empty: all). */
  only: string[];
  log: (line: string) => void;
  /** Suite-specific sizes from the command line (--agents, --stored-jobs, --submits, --clients, --light-n). */
  params: Record<string, string | undefined>;
}

export interface BenchSuite {
  name: string;
  description: string;
  run(options: BenchOptions): SuiteResult | Promise<SuiteResult>;
}

/** Percentile (nearest rank) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}

/** A process's /proc/<pid>/stat, parsed; undefined when it is gone (or there is no /proc). */
export function procStat(pid: number | undefined): ProcStat | undefined {
  if (!pid) return undefined;
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms (clock ticks of 10 ms); NaN when unknown. */
export function processCpuMs(pid: number | undefined): number {
  const st = procStat(pid);
  return st ? st.cpuTicks * 10 : NaN;
}

/**
 * CPU time the whole machine spent busy (all CPUs, user + system + interrupts), and the time a
 * virtual machine's CPUs were ready but the host ran something else (steal), from /proc/stat, in ms.
 */
export function machineCpuMs(): { busy: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return { busy: (user + nice + system + irq + softirq) * 10, steal: steal * 10 };
}
