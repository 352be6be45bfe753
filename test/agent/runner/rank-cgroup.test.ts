/**
 * The supervisors' side of a rank's cgroups beyond the runner's tests: the pure parts of
 * rank-cgroup.ts (cgroup.procs, the spec's cgroup record, the time limit's wording), and both
 * supervisor binaries run directly on hand-written task directories: a cgroup record they cannot
 * read, or a supervisor leaf they cannot join, means the rank never runs and exit.json says why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { cgroupRecordOf, parseCgroupProcs, timedOutMessage } from '../../../agent/runner/rank-cgroup.js';
import { cgroupsMissing, testContainment } from './containment-helpers.js';
import { NATIVE_SUPERVISOR, SUPERVISOR, needs, tempDir } from './helpers.js';

t.test('parseCgroupProcs: one pid a line, nothing else', async (t) => {
  t.same(parseCgroupProcs(''), []);
  t.same(parseCgroupProcs('12\n345\n'), [12, 345]);
  t.same(parseCgroupProcs('7\n\nx\n-3\n0\n'), [7], 'words that are no pid are skipped');
});

t.test("cgroupRecordOf: absent, valid, or a message naming what is wrong", async (t) => {
  t.equal(cgroupRecordOf({}), undefined);
  t.equal(cgroupRecordOf({ cgroup: null }), undefined);
  t.same(cgroupRecordOf({ cgroup: { supervisor: ['/a/s'], rank: ['/a/r', '/b/r'], killFile: '/a/r/cgroup.kill' } }), {
    supervisor: ['/a/s'],
    rank: ['/a/r', '/b/r'],
    killFile: '/a/r/cgroup.kill',
  });
  t.same(cgroupRecordOf({ cgroup: { supervisor: [], rank: ['/a/r'], killFile: null } }), { supervisor: [], rank: ['/a/r'], killFile: null });
  for (const bad of [{ supervisor: ['/s'], rank: [], killFile: null }, { supervisor: ['rel'], rank: ['/r'] }, { supervisor: ['/s'], rank: ['/r'], killFile: 3 }, 'x', [1]]) {
    t.match(cgroupRecordOf({ cgroup: bad }), /cgroup record that is not/, `refused: ${JSON.stringify(bad)}`);
  }
});

t.test('timedOutMessage: the time in ISO form, then how the rank ended', async (t) => {
  t.equal(timedOutMessage(Date.UTC(2026, 11, 7, 1, 2, 3, 45), 'killed by SIGTERM'), "timed out: the job's time limit was reached at 2026-12-07T01:02:03.045Z; killed by SIGTERM");
});

const SUPERVISORS = [
  ['native', (dir: string) => spawnSync(NATIVE_SUPERVISOR, [dir], { encoding: 'utf8' })],
  ['node', (dir: string) => spawnSync(process.execPath, [SUPERVISOR, dir], { encoding: 'utf8' })],
] as const;

function taskDir(root: string, name: string, cgroup: unknown, command: string[]): string {
  const dir = path.join(root, name, '0', '1');
  mkdirSync(dir, { recursive: true });
  const spec = { version: 1, jobId: name, rank: 0, epoch: 1, command, env: { PATH: '/usr/bin:/bin' }, workdir: '/', runAs: '', user: null, graceSeconds: 1, logMaxBytes: 1 << 20, logKeep: 1, createdMs: Date.now(), cgroup };
  writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
  return dir;
}

const readExit = (dir: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(dir, 'exit.json'), 'utf8')) as Record<string, unknown>;

for (const [kind, run] of SUPERVISORS) {
  t.test(`${kind}: a cgroup record it cannot read: failed-to-start, the rank never runs`, needs(kind), async (t) => {
    const work = tempDir(t, 'gantry-cgrec-');
    const marker = path.join(work, 'ran');
    const dir = taskDir(path.join(work, 'tasks'), 'badcg', { supervisor: '/x', rank: [] }, ['touch', marker]);
    run(dir);
    t.match(readExit(dir), { failedToStart: true, message: /cgroup record that is not/, writer: 'supervisor' });
    t.notOk(existsSync(marker), 'the command never ran');
  });

  const noCgroups = cgroupsMissing();
  t.test(`${kind}: a supervisor leaf it cannot join: failed-to-start naming the file and errno`, noCgroups ? { skip: noCgroups } : needs(kind), async (t) => {
    const tc = testContainment(t);
    const work = tempDir(t, 'gantry-cgjoin-');
    const marker = path.join(work, 'ran');
    const missing = path.join(tc.base, 'no-such-leaf');
    const rank = path.join(tc.base, 'rank');
    mkdirSync(rank);
    const dir = taskDir(path.join(work, 'tasks'), 'nojoin', { supervisor: [missing], rank: [rank], killFile: path.join(rank, 'cgroup.kill') }, ['touch', marker]);
    run(dir);
    t.match(readExit(dir), {
      failedToStart: true,
      message: `cannot move the supervisor into its cgroup: write ${path.join(missing, 'cgroup.procs')}: `,
      writer: 'supervisor',
    });
    t.match(readExit(dir).message, /\(ENOENT\)$/, 'with the errno');
    t.notOk(existsSync(marker), 'the command never ran');
  });
}
