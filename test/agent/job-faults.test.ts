/**
 * The agent's shell around the attribution (agent/job-faults.ts), on a /proc and a task state dir
 * of its own (temp dirs laid out as the kernel and the runner lay them out): each (XID, pid) is
 * handled once; a fault waits while the scheduler is unreachable; a rank the runner forgot is still
 * known by its pid; a stop.json makes its rank's XIDs ignored; counted by result.
 */
import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Counter, Registry } from 'prom-client';
import { JobFaults, readBlamed } from '../../agent/job-faults.js';
import type { JobFinding } from '../../agent/health/index.js';
import type { XidEvent } from '../../agent/core/index.js';
import { taskDir } from '../../agent/runner/index.js';
import type { TaskStatus } from '../../agent/runner/index.js';
import { createLogger } from '../../shared/log/index.js';
import type { JobFaultView } from '../../shared/wire/index.js';

const NOW = 1_800_000_000_000;

function setup(t: Test) {
  const root = mkdtempSync(path.join(tmpdir(), 'gantry-job-faults-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const proc = path.join(root, 'proc');
  const stateDir = path.join(root, 'state');
  let tasks: TaskStatus[] = [];
  const sent: JobFaultView[] = [];
  let connected = true;
  const registry = new Registry();
  const counter = new Counter({ name: 'jf_total', help: 'h', labelNames: ['xid', 'result'], registers: [registry] });
  const jf = new JobFaults(
    { stateDir, ignoreAfterStopMs: 30_000, procRoot: proc, uptimeSeconds: () => 3600 },
    { tasks: () => tasks, send: (f) => connected && sent.push(f) > 0, counter, log: createLogger({ name: 'jf', level: 'silent', format: 'json', isTty: false }) },
  );
  return {
    jf,
    proc,
    stateDir,
    sent,
    setTasks: (ts: TaskStatus[]) => (tasks = ts),
    setConnected: (c: boolean) => (connected = c),
    /** A process in /proc: stat with its group and session, and its cgroup lines. */
    process(pid: number, pgid: number, sid: number, cgroups: string[] = []) {
      mkdirSync(path.join(proc, String(pid)), { recursive: true });
      writeFileSync(path.join(proc, String(pid), 'stat'), `${pid} (python3 x) S 1 ${pgid} ${sid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n`);
      writeFileSync(path.join(proc, String(pid), 'cgroup'), cgroups.map((c, i) => `${i === 0 ? 0 : i}:${i === 0 ? '' : 'memory'}:${c}`).join('\n') + '\n');
    },
    gone: (pid: number) => rmSync(path.join(proc, String(pid)), { recursive: true, force: true }),
    stopFile(task: TaskStatus, requestedMs: number) {
      const dir = taskDir(stateDir, task);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'stop.json'), JSON.stringify({ version: 1, reason: 'cancelled', graceSeconds: 1, requestedMs }));
    },
    count: async (xid: string, result: string) => (await counter.get()).values.find((v) => v.labels.xid === xid && v.labels.result === result)?.value ?? 0,
  };
}

const task = (jobId: string, rank: number, pid: number, over: Partial<TaskStatus> = {}): TaskStatus => ({
  jobId, rank, epoch: 1, state: 'running', exitCode: null, signal: null, startedMs: NOW - 60_000, finishedMs: 0, message: '', pid, checkpointMs: 0, ...over,
});
const finding = (xid: number, pid: number | undefined, at = NOW): JobFinding => ({
  check: 'xid', gpu: 3, ...(pid !== undefined ? { pid, processName: 'python3' } : {}), evidence: `Xid ${xid} on PCI 0000:9b:00 (pid ${pid ?? '?'} python3): msg`, firstSeenMs: at,
});

t.test('readBlamed: group and session from stat (a comm with spaces and parentheses), every cgroup line; null when gone', async (t) => {
  const h = setup(t);
  h.process(4242, 4200, 4100, ['/a/train-1.0.1/rank', '/b/train-1.0.1/rank']);
  t.same(readBlamed(h.proc, 4242), { cgroupPaths: ['/a/train-1.0.1/rank', '/b/train-1.0.1/rank'], pgid: 4200, sid: 4100 });
  t.equal(readBlamed(h.proc, 1), null, 'no such pid');
});

t.test('attributed through the cgroup; each (XID, pid) once; waits while the scheduler is unreachable', async (t) => {
  const h = setup(t);
  const r1 = task('train-1', 1, 5000);
  h.setTasks([task('train-1', 0, 4000), r1]);
  h.process(5123, 5123, 5123, ['/agent/train-1.1.1/rank']); // a child of rank 1 in its own session
  h.setConnected(false);
  await h.jf.handle([finding(13, 5123)], NOW);
  t.same(h.sent, [], 'not connected: nothing sent yet');
  await h.jf.handle([finding(13, 5123)], NOW + 500);
  t.same(h.sent, [], 'the same (XID, pid) again is not handled twice');
  h.setConnected(true);
  await h.jf.handle([finding(13, 5123)], NOW + 1000);
  t.same(h.sent, [{ jobId: 'train-1', rank: 1, epoch: 1, xid: 13, gpu: 3, pid: 5123, processName: 'python3', evidence: 'Xid 13 on PCI 0000:9b:00 (pid 5123 python3): msg', atMs: NOW }], 'sent once reconnected, once');
  t.equal(await h.count('13', 'attributed'), 1);
});

t.test('a rank the runner forgot is still known by its pid; a process of no rank is unattributed', async (t) => {
  const h = setup(t);
  h.setTasks([task('train-2', 0, 6000)]);
  await h.jf.handle([], NOW);
  h.setTasks([]); // exited and forgotten (the scheduler saw its exit)
  await h.jf.handle([finding(31, 6000), finding(13, 31337), finding(43, undefined)], NOW + 60_000);
  t.match(h.sent, [{ jobId: 'train-2', rank: 0, xid: 31, pid: 6000 }]);
  t.equal(h.sent.length, 1);
  t.equal(await h.count('13', 'unattributed'), 1, 'no rank');
  t.equal(await h.count('43', 'unattributed'), 1, 'no pid');
});

t.test("a rank with a stop request (stop.json) within the window: its XID 45 is ignored; after the window it counts", async (t) => {
  const h = setup(t);
  const r = task('eval-3', 0, 7000);
  h.setTasks([r]);
  h.process(7000, 7000, 7000);
  h.stopFile(r, NOW - 2000);
  await h.jf.handle([finding(45, 7000)], NOW);
  t.same(h.sent, [], 'not sent');
  t.equal(await h.count('45', 'ignored-stopping'), 1);
  await h.jf.handle([finding(13, 7000, NOW + 40_000)], NOW + 40_000);
  t.match(h.sent, [{ xid: 13, pid: 7000 }], 'an XID 40 s after the stop (the rank still running) is its own');
});

t.test('a rank that ended stopped (endedBy) and was forgotten at once: still ignored', async (t) => {
  const h = setup(t);
  const r = task('c-4', 0, 8000);
  h.jf.taskUpdated({ ...r, state: 'exited', signal: 'SIGTERM', finishedMs: NOW - 1000, endedBy: 'stopped' }, NOW - 1000);
  h.setTasks([]);
  await h.jf.handle([finding(45, 8000)], NOW);
  t.equal(await h.count('45', 'ignored-stopping'), 1);
  t.same(h.sent, []);
});

t.test('dated by the kernel: an XID from before the stop, read after it, is sent; one after it is ignored', async (t) => {
  const h = setup(t);
  const r = task('gang-5', 1, 9000);
  h.setTasks([r]);
  h.stopFile(r, NOW - 1000); // the gang was stopped 1 s ago (another rank failed first)
  // Boot was an hour before NOW (uptimeSeconds 3600): kmsg times are microseconds since then.
  const kmsgAt = (ms: number): XidEvent => ({ xid: 13, busDevice: '9b:00', pci: '0000:9b:00', pid: 9000, processName: 'python3', message: 'm', seq: 7, monotonicUs: (3600_000 - (NOW - ms)) * 1000, timestamp: '' });
  await h.jf.handle([finding(13, 9000)], NOW, [kmsgAt(NOW - 3000)]);
  t.match(h.sent, [{ xid: 13, pid: 9000, atMs: NOW - 3000 }], 'the XID 13 happened 2 s before the stop: sent, dated by the kernel');
  await h.jf.handle([finding(45, 9000)], NOW, [{ ...kmsgAt(NOW - 500), xid: 45 }]);
  t.equal(await h.count('45', 'ignored-stopping'), 1, 'the XID 45 after the stop: ignored');
  t.equal(h.sent.length, 1);
});

t.test("a rank that ended stopped: its stop is stop.json's request (read at its exit), not its end", async (t) => {
  const h = setup(t);
  const r = task('d-6', 0, 9100);
  h.stopFile(r, NOW - 5000); // asked to stop 5 s ago; it took 4 s to go (a long grace)
  h.jf.taskUpdated({ ...r, state: 'exited', signal: 'SIGKILL', finishedMs: NOW - 1000, endedBy: 'stopped' }, NOW - 1000);
  await new Promise((resolve) => setTimeout(resolve, 100)); // the records are read in the background
  rmSync(taskDir(h.stateDir, r), { recursive: true, force: true }); // forgotten and cleaned up
  h.setTasks([]); // forgotten
  const kmsgAt = (xid: number, ms: number): XidEvent => ({ xid, busDevice: '9b:00', pci: '0000:9b:00', pid: 9100, processName: 'python3', message: 'm', seq: 1, monotonicUs: (3600_000 - (NOW - ms)) * 1000, timestamp: '' });
  await h.jf.handle([finding(45, 9100), finding(13, 9100)], NOW, [kmsgAt(45, NOW - 3000), kmsgAt(13, NOW - 8000)]);
  t.equal(await h.count('45', 'ignored-stopping'), 1, 'the XID 45 between the request and the end: ignored');
  t.match(h.sent, [{ xid: 13, atMs: NOW - 8000 }], 'the XID 13 before the request: the rank\'s');
  t.equal(h.sent.length, 1);
});
