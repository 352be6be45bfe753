/**
 * The node's diagnostic (issue 20, diagnostics and return): RunDiagnostic from the scheduler runs
 * health.diagnostic.command (default `dcgmi diag -r 1` where dcgmi is on PATH), one at a time, in
 * its own process group, killed as a group at health.diagnostic.timeoutMs. Exit status 0 passes.
 * On a pass, before the answer goes out: the prober forgets the XIDs it cleared and the health
 * evaluator's remembered state, the kmsg watermark is stored in the state directory, and a fresh
 * collection reports the cleared verdicts, so the scheduler sees them before the answer.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../shared/log/index.js';
import type { DiagnosticResultWireView } from '../shared/wire/index.js';
import { storeWatermark } from './kmsg-watermark.js';

/** The output kept for the answer: its last this many bytes. */
export const OUTPUT_TAIL_BYTES = 4096;
export const DEFAULT_DIAGNOSTIC = ['dcgmi', 'diag', '-r', '1'];
export const NO_DIAGNOSTIC_ERROR = 'no diagnostic configured (health.diagnostic.command)';

/** health.diagnostic.command as argv: a string is split on spaces; '' or [] is the default (null: none). */
export function diagnosticArgv(command: string | readonly string[], dcgmiFound: boolean): string[] | null {
  const argv = typeof command === 'string' ? command.split(/\s+/).filter((a) => a !== '') : [...command];
  if (argv.length > 0) return argv;
  return dcgmiFound ? [...DEFAULT_DIAGNOSTIC] : null;
}

/** One run of the diagnostic: the answer without its request id. */
export type DiagnosticRun = Omit<DiagnosticResultWireView, 'requestId'>;

/** Keeps the last `max` bytes of a stream of chunks. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.max && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

/** Runs argv once: exit 0 passes; a timeout kills its process group and is an error. */
export function runDiagnosticCommand(argv: readonly string[] | null, timeoutMs: number, nowMs: () => number): Promise<DiagnosticRun> {
  const startedMs = nowMs();
  if (!argv) return Promise.resolve({ passed: false, command: '', outputTail: '', startedMs, finishedMs: startedMs, error: NO_DIAGNOSTIC_ERROR });
  const command = argv.join(' ');
  return new Promise((resolve) => {
    const tail = new Tail(OUTPUT_TAIL_BYTES);
    let timedOut = false;
    let spawnError = '';
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => tail.push(b));
    child.stderr.on('data', (b: Buffer) => tail.push(b));
    child.on('error', (e) => (spawnError = e.message));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // What the diagnostic left in its group (a grandchild holding a GPU) goes with it.
      killGroup();
      const finishedMs = nowMs();
      const error = spawnError
        ? `could not run ${command}: ${spawnError}`
        : timedOut
          ? `timed out after ${timeoutMs} ms (health.diagnostic.timeoutMs); its process group was killed`
          : signal
            ? `killed by ${signal}`
            : '';
      resolve({ passed: !error && code === 0, command, outputTail: tail.text(), startedMs, finishedMs, error });
    });
  });
}

export interface NodeDiagnosticDeps {
  argv: string[] | null;
  timeoutMs: number;
  stateDir: string;
  bootId: string;
  /** The prober's side: the highest XID sequence number read, and the clearing on a pass. */
  prober: { readonly highestXidSeq: number | null; clearThrough(seq: number | null): void };
  /** Collects now (after any collection in progress) and reports a health change at once. */
  collectNow(): Promise<void>;
  /** Sends the answer (false: not connected now; the scheduler counts the try unanswered). */
  reply(r: DiagnosticResultWireView): unknown;
  /** gantry_agent_diagnostics_total{result}. */
  counted(result: 'passed' | 'failed' | 'error'): void;
  nowMs(): number;
  log: Logger;
}

/** RunDiagnostic's handler: one at a time (a second request while one runs is answered with an error). */
export function createNodeDiagnostic(deps: NodeDiagnosticDeps): { run(requestId: string, reason: string): Promise<void>; readonly running: boolean } {
  let running = false;
  const answer = (requestId: string, r: DiagnosticRun): void => {
    const result = r.error ? 'error' : r.passed ? 'passed' : 'failed';
    deps.counted(result);
    deps.reply({ requestId, ...r });
  };
  return {
    get running() {
      return running;
    },
    async run(requestId, reason) {
      if (running) {
        const now = deps.nowMs();
        answer(requestId, { passed: false, command: deps.argv?.join(' ') ?? '', outputTail: '', startedMs: now, finishedMs: now, error: 'a diagnostic is already running on this node' });
        return;
      }
      running = true;
      try {
        // Only the XIDs read before it started are the diagnostic's to clear.
        const through = deps.prober.highestXidSeq;
        deps.log.info({ command: deps.argv?.join(' ') ?? null, reason }, 'running the node diagnostic');
        const r = await runDiagnosticCommand(deps.argv, deps.timeoutMs, deps.nowMs);
        if (r.passed) {
          deps.prober.clearThrough(through);
          if (through !== null) {
            try {
              await storeWatermark(deps.stateDir, { bootId: deps.bootId, seq: through, atMs: deps.nowMs() });
            } catch (e) {
              r.passed = false;
              r.error = `passed, but the kmsg watermark could not be stored in ${deps.stateDir}: ${(e as Error).message}`;
            }
          }
          await deps.collectNow().catch((e: unknown) => deps.log.warn({ err: (e as Error).message }, 'collecting after the diagnostic failed'));
        }
        deps.log[r.passed ? 'info' : 'warn']({ command: r.command, passed: r.passed, error: r.error || undefined, ms: r.finishedMs - r.startedMs }, r.passed ? 'node diagnostic passed; sticky verdicts cleared' : 'node diagnostic did not pass');
        answer(requestId, r);
      } finally {
        running = false;
      }
    },
  };
}
