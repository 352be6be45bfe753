/**
 * Helpers for the agent's end-to-end tests: run the built CLI as a child process, read facts from
 * the real captures on our own (regular expressions, not the agent's parser), derive kernel-log
 * fixtures from the real XID lines, and find processes a test left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { requireBuilt, ROOT, FIXTURES, SIM_NVIDIA_SMI, INSECURE_CLI_ENV } from '../harness/cluster.js';

export { ROOT, FIXTURES, SIM_NVIDIA_SMI };
export const DERIVED = path.join(ROOT, 'test', 'fixtures', 'derived');

export interface CliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Environment for the children the agent tests start: without tap's NODE_OPTIONS (its process-info
 * hook adds ~0.2 s of start-up to every Node process, the stand-in nvidia-smi included, and coverage
 * is off), marked so leftovers can be found.
 */
export const CHILD_ENV: NodeJS.ProcessEnv = { NODE_OPTIONS: '' };

/**
 * Runs `node dist/cli/main.js ...args` to completion. A safety net, not a timing check: a run
 * still going after timeoutMs is killed (code null, signal SIGKILL) and the test fails on its code.
 */
export function runCli(t: Test, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
  const entry = requireBuilt();
  const child: ChildProcess = spawn(process.execPath, [entry, ...args], {
    // The schedulers of these tests serve plaintext (test/harness/cluster.ts): so does the CLI here.
    env: { ...process.env, GANTRY_LOG_FORMAT: 'json', ...CHILD_ENV, ...INSECURE_CLI_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A GPU as the capture itself says, in document order (= nvidia-smi's index). */
export interface CaptureGpu {
  index: number;
  busId: string;
  uuid: string;
  name: string;
  body: string;
}

export interface Capture {
  path: string;
  xml: string;
  driver: string;
  cuda: string;
  gpus: CaptureGpu[];
}

export function readCapture(file: string): Capture {
  const xml = readFileSync(file, 'utf8');
  const gpus: CaptureGpu[] = [];
  const re = /<gpu id="([^"]+)">([\s\S]*?)<\/gpu>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const body = m[2]!;
    gpus.push({
      index: gpus.length,
      busId: m[1]!,
      uuid: /<uuid>([^<]*)<\/uuid>/.exec(body)?.[1] ?? '',
      name: /<product_name>([^<]*)<\/product_name>/.exec(body)?.[1] ?? '',
      body,
    });
  }
  return {
    path: file,
    xml,
    driver: /<driver_version>([^<]+)<\/driver_version>/.exec(xml)?.[1] ?? '',
    cuda: /<cuda_version>([^<]+)<\/cuda_version>/.exec(xml)?.[1] ?? '',
    gpus,
  };
}

/** The UUID the stand-in gives GPU i of a node (documented: sha256(node + "/" + index)). */
export function simUuid(node: string, index: number): string {
  const h = createHash('sha256').update(`${node}/${index}`).digest('hex');
  return `GPU-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** "00000000:B9:00.0" -> "0000:b9:00", the way the driver names a GPU in an XID line. */
export function xidPci(busId: string): string {
  const [domain, bus, devfn] = busId.toLowerCase().split(':');
  return `${domain!.slice(-4)}:${bus}:${devfn!.split('.')[0]}`;
}

/** The first `NVRM: Xid` line of a real kernel log whose XID is `xid`. */
export function realXidLine(file: string, xid: number): string {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => new RegExp(`NVRM: Xid \\(PCI:[^)]+\\): ${xid},`).test(l));
  if (!line) throw new Error(`${file} has no Xid ${xid} line`);
  return line;
}

/** The same kernel-log line, naming another GPU. */
export function onGpu(line: string, busId: string): string {
  return line.replace(/\(PCI:[^)]+\)/, `(PCI:${xidPci(busId)})`);
}

/** Environment that marks every process a test starts (inherited by the stand-in and its children). */
export function marker(): { name: string; value: string } {
  return { name: 'GANTRY_TEST_MARKER', value: randomUUID() };
}

/** Processes (other than this one) whose environment carries the marker. */
export function processesWithMarker(m: { name: string; value: string }): string[] {
  const needle = `${m.name}=${m.value}`;
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(needle)) found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()}`);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** Polls until check returns a value (not undefined/false); throws with the last value seen. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last !== undefined ? `; last error: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** One sample of a Prometheus text exposition. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseProm(text: string): { samples: PromSample[]; types: Map<string, string> } {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const ty = /^# TYPE (\S+) (\S+)/.exec(line);
    if (ty) types.set(ty[1]!, ty[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    const lre = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let l = lre.exec(m[2] ?? ''); l; l = lre.exec(m[2] ?? '')) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

/** The value of the one sample with this name and (a subset of) these labels; undefined when absent. */
export function promValue(samples: readonly PromSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
