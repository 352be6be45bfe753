/**
 * What the GPU-clean check reads from the node (the shell around agent/health/gpu-clean.ts):
 * the compute processes (`nvidia-smi --query-compute-apps`), the used memory per GPU
 * (`nvidia-smi --query-gpu=index,uuid,memory.used`), both through the collectors' bounded probe
 * runner (timeout, process-group kill, output cap), and the owner of a leftover pid (/proc/<pid>/status
 * Uid, named through getent passwd or /etc/passwd; the uid as text when it has no name; '' when the
 * process is gone).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { defaultProbeRunner, type ProbeRunner } from '../collectors/index.js';
import { COMPUTE_APPS_FIELDS, parseComputeAppsCsv, type GpuProcess } from '../core/index.js';
import { ParseError } from '../../shared/errors/index.js';
import { parsePasswdLine } from '../runner/index.js';

export interface GpuStateReader {
  processes(): Promise<GpuProcess[]>;
  /** Used memory per GPU index (bytes; null where the driver printed none). */
  memoryUsed(): Promise<Record<number, number | null>>;
  /** The user owning pid, by name ('' when the process is gone). */
  ownerOf(pid: number): Promise<string>;
}

export interface GpuStateReaderOptions {
  /** collectors.nvidia.binary */
  binary: string;
  /** collectors.nvidia.timeoutMs */
  timeoutMs: number;
  runner?: ProbeRunner;
}

const MIB = 1024 * 1024;

/** `--query-gpu=index,uuid,memory.used --format=csv,noheader,nounits` lines -> bytes per index. Pure. */
export function parseMemoryUsedCsv(text: string): Record<number, number | null> {
  const out: Record<number, number | null> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const [idx, , used] = line.split(',').map((c) => c.trim());
    if (idx === undefined || !/^\d+$/.test(idx)) throw new ParseError('nvidia-smi --query-gpu=index,uuid,memory.used', `line ${JSON.stringify(line.slice(0, 120))}: no GPU index`);
    const mib = used !== undefined && /^\d+(\.\d+)?$/.test(used) ? Number(used) : null;
    out[Number(idx)] = mib === null ? null : Math.round(mib * MIB);
  }
  return out;
}

function uidName(uid: number): Promise<string> {
  return new Promise((resolve) => {
    execFile('getent', ['passwd', String(uid)], { timeout: 5000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, (err, stdout) => {
      if (!err) {
        const e = parsePasswdLine(stdout.split('\n')[0] ?? '');
        if (e && e.uid === uid) return resolve(e.name);
      }
      readFile('/etc/passwd', 'utf8').then(
        (text) => {
          for (const line of text.split('\n')) {
            const e = parsePasswdLine(line);
            if (e && e.uid === uid) return resolve(e.name);
          }
          resolve(String(uid));
        },
        () => resolve(String(uid)),
      );
    });
  });
}

/** The owner of a process by name, from /proc/<pid>/status (real uid); '' when it is gone. */
export async function processOwner(pid: number, procRoot = '/proc'): Promise<string> {
  let status: string;
  try {
    status = await readFile(`${procRoot}/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
  const m = /^Uid:\s+(\d+)/m.exec(status);
  if (!m) return '';
  return uidName(Number(m[1]));
}

export function createGpuStateReader(opts: GpuStateReaderOptions): GpuStateReader {
  const runner = opts.runner ?? defaultProbeRunner();
  return {
    async processes() {
      const r = await runner.run(opts.binary, [`--query-compute-apps=${COMPUTE_APPS_FIELDS.join(',')}`, '--format=csv'], { timeoutMs: opts.timeoutMs, maxOutputBytes: 4 * MIB });
      return parseComputeAppsCsv(r.stdout);
    },
    async memoryUsed() {
      const r = await runner.run(opts.binary, ['--query-gpu=index,uuid,memory.used', '--format=csv,noheader,nounits'], { timeoutMs: opts.timeoutMs, maxOutputBytes: MIB });
      return parseMemoryUsedCsv(r.stdout);
    },
    ownerOf: (pid) => processOwner(pid),
  };
}
