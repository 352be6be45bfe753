/**
 * The agent's term fence (agent/term-fence.ts) on a real state dir: it remembers the highest term
 * across a restart (an atomic file), refuses a lower one (counted, logged), and accepts term 0;
 * the commands handler drops a deposed leader's StartTask and StopTask before the runner sees them.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { createAgentCommands } from '../../agent/commands.js';
import { createTermFence, loadTerm, TERM_FILE } from '../../agent/term-fence.js';
import { createLogger } from '../../shared/log/index.js';
import type { SchedulerMessage__Output } from '../../shared/proto/index.js';

const log = createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false });

function stateDir(t: Test): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'gantry-term-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function counter(): { inc(l: { message: string }): void; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  return { counts, inc: (l) => void (counts[l.message] = (counts[l.message] ?? 0) + 1) };
}

t.test('remembers the highest term across a restart; refuses a lower one; accepts 0', async (t) => {
  const dir = stateDir(t);
  const c = counter();
  const fence = createTermFence({ stateDir: dir, counter: c, log });
  t.equal(fence.highest, 0, 'nothing stored: 0');
  t.ok(fence.admit(5, 'registered'), 'term 5 accepted');
  t.same(JSON.parse(readFileSync(path.join(dir, TERM_FILE), 'utf8')), { term: 5 }, 'stored');
  t.same(readdirSync(dir), [TERM_FILE], 'no temp file left');
  const again = createTermFence({ stateDir: dir, counter: c, log });
  t.equal(again.highest, 5, 'a restarted agent remembers it');
  t.notOk(again.admit(3, 'start-task'), 'a lower term is refused');
  t.notOk(again.admit(4, 'registered'), 'also at registration');
  t.same(c.counts, { 'start-task': 1, registered: 1 }, 'counted by message');
  t.ok(again.admit(0, 'stop-task'), 'term 0 accepted');
  t.equal(again.highest, 5, 'and changes nothing');
  t.ok(again.admit(8, 'stop-task'), 'a newer leader accepted');
  t.equal(loadTerm(dir, () => undefined), 8, 'and stored');
});

t.test('a bad stored term is reported and read as 0', async (t) => {
  const dir = stateDir(t);
  writeFileSync(path.join(dir, TERM_FILE), '{"term":"x"}');
  const bad: string[] = [];
  t.equal(loadTerm(dir, (w) => bad.push(w)), 0);
  t.match(bad[0], /not a term/);
  t.notOk(existsSync(path.join(dir, 'nope', TERM_FILE)));
});

t.test("the commands handler drops a deposed leader's StartTask and StopTask", async (t) => {
  const dir = stateDir(t);
  const c = counter();
  const fence = createTermFence({ stateDir: dir, counter: c, log });
  fence.admit(10, 'registered');
  const seen: string[] = [];
  const commands = createAgentCommands({
    runner: {
      start: async (s) => (seen.push(`start ${s.jobId}`), { jobId: s.jobId, rank: s.rank, epoch: s.epoch, state: 'running' }) as never,
      stop: async (k) => void seen.push(`stop ${k.jobId}`),
      readLog: async () => ({ data: '', nextOffset: 0, eof: true }) as never,
    },
    replies: () => ({ sendTaskUpdate: () => undefined, sendLogChunk: () => undefined }),
    inventory: () => undefined,
    slo: () => undefined,
    latency: () => undefined,
    nowMs: () => 7,
    log,
    fence,
  });
  const start = (jobId: string, term: number): SchedulerMessage__Output =>
    ({ startTask: { jobId, rank: 0, epoch: 1, command: ['true'], env: {}, workdir: dir, runAs: 'nobody', gpus: [], graceSeconds: 5, slo: null, deadlineUnixMs: 0, resources: null, term } }) as SchedulerMessage__Output;
  const stop = (jobId: string, term: number): SchedulerMessage__Output => ({ stopTask: { jobId, rank: 0, epoch: 1, graceSeconds: 1, reason: 'x', term } }) as SchedulerMessage__Output;
  commands.handle(start('stale-start', 9));
  commands.handle(stop('stale-stop', 9));
  commands.handle(stop('current-stop', 10));
  commands.handle(stop('nonha-stop', 0));
  commands.handle(start('newer-start', 11));
  await new Promise((r) => setTimeout(r, 50));
  t.same(seen.sort(), ['start newer-start', 'stop current-stop', 'stop nonha-stop'], 'only the current, newer and non-HA commands reach the runner');
  t.same(c.counts, { 'start-task': 1, 'stop-task': 1 }, 'the stale ones counted');
  t.equal(fence.highest, 11);
});
