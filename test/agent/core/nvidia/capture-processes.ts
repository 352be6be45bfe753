/**
 * Reads the processes and used memory out of the real captures with plain string splitting, without
 * the parsers under test, so the tests compare the parsers against the files themselves.
 */
import { readdirSync } from 'node:fs';
import { fixture, read } from '../../collectors/fixtures.js';

export const EXPORTER_CAPTURES: string[] = readdirSync(fixture('nvidia_gpu_exporter'))
  .filter((f) => f.endsWith('.txt'))
  .sort()
  .map((f) => fixture('nvidia_gpu_exporter', f));

/** The output lines of one section (`# idle :: query-compute-apps (per-process)` etc.) of an exporter capture, and its command's field list. */
export function exporterSection(path: string, state: 'idle' | 'load', title: string): { fields: string[]; output: string } {
  const text = read(path);
  const start = text.indexOf(`# ${state} :: ${title}`);
  if (start < 0) throw new Error(`${path}: no section "${state} :: ${title}"`);
  const cmd = /# \$ nvidia-smi --query-[a-z-]+=(\S+) --format=csv\n#+\n/.exec(text.slice(start))!;
  const after = text.slice(start + cmd.index + cmd[0].length);
  return { fields: cmd[1]!.split(','), output: after.slice(0, after.indexOf('\n\n')) };
}

/** Rows of a `--format=csv` section as header-name -> cell maps (split on ", "; the captures' names hold no commas). */
export function csvRecords(output: string): Array<Map<string, string>> {
  const [header, ...rows] = output.split('\n').filter((l) => l !== '');
  const names = header!.split(', ').map((h) => h.replace(/ \[.*\]$/, ''));
  return rows.map((r) => {
    const cells = r.split(', ');
    return new Map(names.map((n, i) => [n, cells[i]!]));
  });
}

export interface CaptureProcess {
  gpu: number;
  pid: number;
  type: string;
  name: string;
  usedMemory: string;
}

/** The `<process_info>` entries of a `-q -x` capture, by regular expression over the text, per `<gpu>` in order. */
export function xmlCaptureProcesses(path: string): CaptureProcess[] {
  const text = read(path);
  const out: CaptureProcess[] = [];
  text.split(/<gpu id=/).slice(1).forEach((block, gpu) => {
    for (const m of block.matchAll(/<process_info>([\s\S]*?)<\/process_info>/g)) {
      const tag = (name: string): string => new RegExp(`<${name}>([^<]*)</${name}>`).exec(m[1]!)?.[1] ?? '';
      out.push({ gpu, pid: Number(tag('pid')), type: tag('type'), name: tag('process_name'), usedMemory: tag('used_memory') });
    }
  });
  return out;
}
