/**
 * runAs: ranks run as the job's user from the allowed list, with HOME, USER and LOGNAME set;
 * users outside the list, unknown users and root (unless allowRoot) are refused naming runAs,
 * with the stable code run-as-refused that the agent's answer to the scheduler carries.
 * The uid switch needs root, which these tests run as; elsewhere those parts are skipped.
 */
import t from 'tap';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { lookupUser, parsePasswdLine, RunAsRefusedError } from '../../../agent/runner/index.js';
import type { TaskStatusView } from '../../../shared/wire/index.js';
import { IS_ROOT, agentCommandsOver, finished, needs, readWholeLog, setup, spec, supervisorMissing, waitFor, waitForStatus } from './helpers.js';

const idScript = ['bash', '-c', 'echo "uid=$(id -u) gid=$(id -g) groups=$(id -G) home=$HOME user=$USER logname=$LOGNAME"'];

t.test('runAs nobody runs the rank with the uid and gid of nobody', { skip: (!IS_ROOT && 'needs root to switch users') || supervisorMissing() }, async (t) => {
  const { runner, workdir } = setup(t);
  const nobody = await lookupUser('nobody');
  if (!nobody) throw new Error('this machine has no user nobody');
  const s = spec({ command: idScript, runAs: 'nobody', workdir });
  await runner.start(s);
  const end = await waitForStatus(runner, s, finished);
  t.match(end, { state: 'exited', exitCode: 0 });
  const log = await readWholeLog(runner, s);
  t.match(log, `uid=${nobody.uid} gid=${nobody.gid} groups=${nobody.gid} `, 'uid and gid of nobody, no supplementary groups of root');
  t.match(log, `home=${nobody.home} user=nobody logname=nobody`, 'HOME, USER and LOGNAME of nobody');
});

t.test('runAs outside the allowed list, or unknown, is refused naming runAs', needs(), async (t) => {
  const { runner } = setup(t, { allowedUsers: ['nobody', 'gantry-no-such-user'] });
  for (const runAs of ['daemon', 'gantry-no-such-user', 'bad user', 'root']) {
    const err = await runner.start(spec({ command: ['true'], runAs })).catch((e: unknown) => e);
    t.type(err, InvalidArgumentError, `${runAs} refused`);
    t.equal((err as InvalidArgumentError).field, 'runAs', 'the error names runAs');
    // A malformed name is bad input (the scheduler's spec check never lets one through), not a refused account.
    t.equal(err instanceof RunAsRefusedError && err.refusal, runAs === 'bad user' ? false : 'run-as-refused', `${runAs}: the refusal code`);
  }
  t.same(runner.list(), [], 'nothing was started');
});

t.test("the agent's answer to a refused StartTask: failed-to-start with run-as-refused; another refusal carries no code", needs(), async (t) => {
  const { runner, workdir } = setup(t, { allowedUsers: ['nobody'] });
  const updates: TaskStatusView[] = [];
  const commands = agentCommandsOver(runner, updates);
  const start = (jobId: string, runAs: string, dir: string): void =>
    commands.handle({ startTask: { jobId, rank: 0, epoch: 1, command: ['true'], env: {}, workdir: dir, runAs, gpus: [], graceSeconds: 5, slo: null, deadlineUnixMs: 0, resources: null, term: 0 } });
  start('refused-1', 'daemon', workdir);
  start('nodir-1', 'nobody', '/gantry-no-such-dir');
  await waitFor('two answers', () => updates.length === 2);
  const byJob = new Map(updates.map((u) => [u.jobId, u]));
  t.match(byJob.get('refused-1'), { state: 'failed-to-start', refusal: 'run-as-refused', message: /^runAs: "daemon" is not one of the agent's allowed users \(runner\.allowedUsers: nobody\)/ });
  t.match(byJob.get('nodir-1'), { state: 'failed-to-start', message: /^workdir: / });
  t.equal(byJob.get('nodir-1')!.refusal, undefined, 'a missing workdir is no refused account');
});

t.test('root is refused unless allowRoot', { skip: (!IS_ROOT && 'the agent is not root here') || supervisorMissing() }, async (t) => {
  const refusing = setup(t, { allowedUsers: ['nobody', 'root'], allowRoot: false });
  for (const runAs of ['root', '']) {
    const err = await refusing.runner.start(spec({ command: ['true'], runAs })).catch((e: unknown) => e);
    t.type(err, InvalidArgumentError, `runAs ${JSON.stringify(runAs)} refused without allowRoot`);
    t.equal((err as InvalidArgumentError).field, 'runAs');
    t.type(err, RunAsRefusedError, 'a refused account');
    t.match((err as Error).message, /runner\.allowRoot/, 'the message says which setting allows it');
  }

  const allowing = setup(t, { allowedUsers: ['root'], allowRoot: true });
  for (const runAs of ['root', '']) {
    const s = spec({ command: idScript, runAs, workdir: allowing.workdir });
    await allowing.runner.start(s);
    const end = await waitForStatus(allowing.runner, s, finished);
    t.equal(end.exitCode, 0);
    t.match(await readWholeLog(allowing.runner, s), /^uid=0 /m, `runAs ${JSON.stringify(runAs)} runs as root with allowRoot`);
  }
});

t.test('passwd lines parse; malformed ones are refused', async (t) => {
  t.same(parsePasswdLine('nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'), {
    name: 'nobody',
    uid: 65534,
    gid: 65534,
    home: '/nonexistent',
    shell: '/usr/sbin/nologin',
  });
  t.equal(parsePasswdLine('short:x:1'), undefined);
  t.equal(parsePasswdLine('neg:x:-1:0::/:/bin/sh'), undefined);
  t.equal(parsePasswdLine('empty:x::0::/:/bin/sh'), undefined);
  t.equal(await lookupUser('gantry-no-such-user'), undefined);
});
