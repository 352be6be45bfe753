/** Parsers of the cgroup files usage is read from, pure (the texts are read by fs-manager.ts). */

/** A flat-keyed file ("key value" lines: v2 cpu.stat, memory.events, v1 memory.oom_control): the value of `key`; null if absent or not a number. */
export function flatKeyedValue(text: string | null, key: string): number | null {
  if (text === null) return null;
  for (const line of text.split('\n')) {
    const [k, v, ...rest] = line.trim().split(/\s+/);
    if (k === key && v !== undefined && rest.length === 0 && /^\d+$/.test(v)) return Number(v);
  }
  return null;
}

/** A single-number file (v1 cpuacct.usage, memory.max_usage_in_bytes, v2 memory.peak); null if absent or not a number. */
export function singleValue(text: string | null): number | null {
  if (text === null) return null;
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : null;
}

/** CPU ids or NUMA nodes as a cpuset list ("0-3,8"). */
export function formatCpuList(ids: number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] ?? 0) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
