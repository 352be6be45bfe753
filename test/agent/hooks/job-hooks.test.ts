/**
 * createJobHooks in process, with a stand-in runner and GPU reader: the GPU-clean check's settle
 * window (processes that leave in time are no incident), its bounds on what an incident carries, and
 * a reader that fails (no verdict, no incident).
 */
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../../harness/cluster.js';
import { createJobHooks, MAX_LEFTOVERS, MAX_REASON_CHARS, type GpuStateReader, type GpuCleanResult } from '../../../agent/hooks/index.js';
import type { GpuProcess } from '../../../agent/core/index.js';
import type { IncidentView } from '../../../agent/reporter/index.js';
import type { TaskSpec, TaskStatus } from '../../../agent/runner/index.js';
import { createLogger } from '../../../shared/log/index.js';

const GPU0 = { index: 0, uuid: 'GPU-aaaa' };
const proc = (pid: number): GpuProcess => ({ gpuUuid: GPU0.uuid, gpuIndex: null, pid, type: 'C', name: `python-${'x'.repeat(60)}`, usedMemoryBytes: 2 ** 30, gpuInstanceId: null, computeInstanceId: null });

function setup(reader: GpuStateReader, settleMs: number) {
  const incidents: IncidentView[] = [];
  const results: GpuCleanResult[] = [];
  const hooks = createJobHooks(
    { nodeName: 'n1', prolog: '', epilog: '', timeoutMs: 1000, gpuClean: { enabled: true, marginBytes: 2 ** 30, settleMs } },
    {
      gpus: () => [GPU0],
      gpuState: reader,
      sendIncident: (i) => incidents.push(i),
      selfUser: () => 'root',
      metrics: { hookRun: () => undefined, gpuCleanCheck: (r) => results.push(r) },
      log: createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false }),
      nowMs: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))),
    },
  );
  hooks.observe([{ index: 0, memoryUsedBytes: 0 }]);
  // A runner whose ranks end at once.
  const runner = hooks.wrap({
    start: async (s: TaskSpec): Promise<TaskStatus> => ({ jobId: s.jobId, rank: s.rank, epoch: s.epoch, state: 'exited', exitCode: 0, signal: null, startedMs: 1, finishedMs: 2, message: '', pid: 10, checkpointMs: 0 }),
    stop: async () => undefined,
    readLog: async () => ({ data: '', nextOffset: 0, eof: true }),
  });
  const run = async (jobId: string) => {
    await runner.start({ jobId, rank: 0, epoch: 1, command: ['true'], env: {}, workdir: '', runAs: '', graceSeconds: 1, gpus: [0] });
    await hooks.idle();
  };
  return { incidents, results, run };
}

t.test('processes that leave within settleMs: clean, no incident', async (t) => {
  let calls = 0;
  const reader: GpuStateReader = {
    processes: async () => (++calls <= 2 ? [proc(101)] : []),
    memoryUsed: async () => ({ 0: 0 }),
    ownerOf: async () => 'alice',
  };
  const { incidents, results, run } = setup(reader, 60_000);
  await run('settle-1');
  t.equal(calls, 3, 'checked again until the process had left');
  t.same(results, ['clean']);
  t.same(incidents, []);
});

t.test('still there after settleMs: one incident, bounded', async (t) => {
  const many = Array.from({ length: 100 }, (_, i) => proc(1000 + i));
  const reader: GpuStateReader = { processes: async () => many, memoryUsed: async () => ({ 0: 0 }), ownerOf: async (pid) => (pid % 2 ? 'bob' : 'alice') };
  const { incidents, results, run } = setup(reader, 0);
  await run('dirty-1');
  t.same(results, ['unclean']);
  t.equal(incidents.length, 1);
  const inc = incidents[0]!;
  t.equal(inc.source, 'gpu-clean');
  t.equal(inc.leftovers.length, MAX_LEFTOVERS, `at most ${MAX_LEFTOVERS} leftovers on the wire`);
  t.same(inc.leftovers[1], { pid: 1001, user: 'bob', name: proc(0).name, gpu: 0, usedMemoryBytes: 2 ** 30 });
  t.ok(inc.reason.length <= MAX_REASON_CHARS, `the reason is bounded (${inc.reason.length})`);
  t.match(inc.reason, /^after job dirty-1: GPUs not clean: GPU 0: C process 1000 \(python-x+\) of alice left; /);
  t.match(inc.reason, /\.\.\. \(cut; 100 leftover processes\)$/);
});

t.test('a reader that fails: counted as error, no incident', async (t) => {
  const reader: GpuStateReader = {
    processes: async () => {
      throw new Error('nvidia-smi timed out');
    },
    memoryUsed: async () => ({ 0: 0 }),
    ownerOf: async () => '',
  };
  const { incidents, results, run } = setup(reader, 0);
  await run('err-1');
  t.same(results, ['error']);
  t.same(incidents, []);
});

t.test('close() kills a prolog still running; its ranks are refused', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-hooks-close-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const prolog = path.join(dir, 'prolog.sh');
  writeFileSync(prolog, `#!/bin/sh\necho $$ > "${dir}/pid"\nexec sleep 300\n`, { mode: 0o755 });
  const incidents: IncidentView[] = [];
  const hooks = createJobHooks(
    { nodeName: 'n1', prolog, epilog: '', timeoutMs: 600_000, gpuClean: { enabled: false, marginBytes: 0, settleMs: 0 } },
    {
      gpus: () => [GPU0],
      gpuState: undefined,
      sendIncident: (i) => incidents.push(i),
      selfUser: () => 'root',
      metrics: { hookRun: () => undefined, gpuCleanCheck: () => undefined },
      log: createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false }),
      nowMs: () => Date.now(),
    },
  );
  const runner = hooks.wrap({ start: async () => Promise.reject(new Error('must not start')), stop: async () => undefined, readLog: async () => ({ data: '', nextOffset: 0, eof: true }) });
  const started = runner.start({ jobId: 'close-1', rank: 0, epoch: 1, command: ['true'], env: {}, workdir: '', runAs: '', graceSeconds: 1, gpus: [0] });
  const pidFile = path.join(dir, 'pid');
  await waitFor('the prolog running', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 10_000);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  hooks.close();
  await t.rejects(started, { refusal: 'prolog-failed', message: /prolog .* was killed by SIGKILL/ });
  t.notOk(existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')), 'the prolog is gone');
  t.equal(incidents[0]?.source, 'prolog');
});
