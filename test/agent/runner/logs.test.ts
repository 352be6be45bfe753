/**
 * Rank logs: size-based rotation keeps at most logKeep old files; readLog pieces together the whole
 * output by offsets that stay valid across rotation, also while the rank is still writing (follow).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { NotFoundError } from '../../../shared/errors/index.js';
import { utf8CompleteLength } from '../../../agent/runner/index.js';
import { finished, readWholeLog, setup, spec, waitForStatus, needs } from './helpers.js';

/** Lines "line-0001" .. "line-NNNN", as the rank prints them. */
function expected(n: number): string {
  let s = '';
  for (let i = 1; i <= n; i++) s += `line-${String(i).padStart(4, '0')}\n`;
  return s;
}
const printLines = (n: number, sleep = ''): string[] => [
  'bash',
  '-c',
  `for i in $(seq 1 ${n}); do printf 'line-%04d\\n' $i; ${sleep} done`,
];

function logFiles(stateDir: string, s: { jobId: string; rank: number; epoch: number }): Array<{ name: string; size: number }> {
  const dir = path.join(stateDir, 'tasks', s.jobId, String(s.rank), String(s.epoch));
  return readdirSync(dir)
    .filter((n) => /^log(\.\d+)?$/.test(n))
    .sort()
    .map((name) => ({ name, size: statSync(path.join(dir, name)).size }));
}

t.test('rotation at logMaxBytes keeps at most logKeep old files; readLog returns what is kept', needs(), async (t) => {
  const { runner, stateDir } = setup(t, { logMaxBytes: 300, logKeep: 2 });
  const s = spec({ command: printLines(200) }); // 2000 bytes
  await runner.start(s);
  t.match(await waitForStatus(runner, s, finished), { state: 'exited', exitCode: 0 });
  const files = logFiles(stateDir, s);
  t.same(files.map((f) => f.name), ['log', 'log.1', 'log.2'], 'the current log and logKeep rotated files');
  t.ok(files.every((f) => f.size <= 300), `no file over logMaxBytes (${JSON.stringify(files)})`);
  t.equal(files.find((f) => f.name === 'log.1')?.size, 300, 'rotated files are full');
  const kept = files.reduce((n, f) => n + f.size, 0);

  const first = await runner.readLog(s, { offset: 0, maxBytes: 10 });
  t.equal(first.nextOffset, 2000 - kept + 10, 'an offset rotated away reads from the oldest byte kept');
  const tail = await readWholeLog(runner, s, 77);
  t.equal(tail, expected(200).slice(2000 - kept), 'what is kept is the tail of the output, in order');
  const end = await runner.readLog(s, { offset: 2000 });
  t.same(end, { data: '', nextOffset: 2000, eof: true }, 'at the end: nothing, eof');
});

t.test('readLog with offsets returns the whole output in pieces, across rotations, while it is written', needs(), async (t) => {
  const { runner } = setup(t, { logMaxBytes: 256, logKeep: 1000 });
  const n = 300;
  const s = spec({ command: printLines(n, '[ $((i % 50)) -eq 0 ] && sleep 0.05;') });
  await runner.start(s);
  let out = '';
  let offset = 0;
  let pieces = 0;
  for (;;) {
    const done = runner.get(s)?.state === 'exited';
    const c = await runner.readLog({ jobId: s.jobId, rank: s.rank }, { offset, maxBytes: 100 });
    t.equal(c.nextOffset, offset + Buffer.byteLength(c.data), 'each piece continues where the last ended');
    out += c.data;
    offset = c.nextOffset;
    pieces++;
    if (c.eof && done) break;
    if (c.eof) await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(out, expected(n), 'the whole output, nothing lost or doubled');
  t.ok(pieces >= 30, `read in pieces (${pieces})`);
});

t.test('readLog without an epoch reads the latest epoch; unknown ranks are NotFound', needs(), async (t) => {
  const { runner } = setup(t);
  const one = spec({ command: ['echo', 'epoch one'] });
  const two = { ...one, epoch: 2, command: ['echo', 'epoch two'] };
  await runner.start(one);
  await waitForStatus(runner, one, finished);
  await runner.start(two);
  await waitForStatus(runner, two, finished);
  t.equal((await runner.readLog({ jobId: one.jobId, rank: 0 })).data, 'epoch two\n');
  t.equal((await runner.readLog(one)).data, 'epoch one\n');
  await t.rejects(runner.readLog({ jobId: one.jobId, rank: 9 }), NotFoundError);
  await t.rejects(runner.readLog({ jobId: 'no-such-job', rank: 0 }), NotFoundError);
  await t.rejects(runner.readLog({ jobId: one.jobId, rank: 0, epoch: 7 }), NotFoundError);
});

t.test('multi-byte characters are not split by maxBytes', needs(), async (t) => {
  const { runner } = setup(t);
  const text = 'äöü€😀'.repeat(20) + '\n';
  const s = spec({ command: ['printf', '%s', text] });
  await runner.start(s);
  await waitForStatus(runner, s, finished);
  t.equal(await readWholeLog(runner, s, 5), text, 'pieces of 5 bytes join to the same text');
  t.equal(utf8CompleteLength(Buffer.from('a€').subarray(0, 3)), 1, 'a cut € waits for the next read');
  t.equal(utf8CompleteLength(Buffer.from('a€')), 4);
  t.equal(utf8CompleteLength(Buffer.from('€').subarray(0, 2)), 2, 'a lone partial character is returned rather than stalling');
});
