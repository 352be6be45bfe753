/**
 * TaskRunner.holdings() (metrics.jobLabels): the GPUs a starting or running rank holds and the
 * account it runs as, kept in spec.json so a runner that adopts the rank still knows them; gone
 * once the rank ended.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { finished, keyOf, newRunner, setup, spec, waitForStatus, needs } from './helpers.js';

t.test("a rank's GPUs and account: while it runs, after adoption, not after its end", needs(), async (t) => {
  const { runner, stateDir, workdir } = setup(t);
  const s = spec({ command: ['bash', '-c', `while [ ! -e ${workdir}/go ]; do sleep 0.05; done`], gpus: [3, 1] });
  const cpuOnly = spec({ command: ['sleep', '30'] });
  await runner.start(s);
  await runner.start(cpuOnly);
  await waitForStatus(runner, s, (x) => x.state === 'running');
  const want = [
    { ...keyOf(s), gpus: [3, 1], owner: 'nobody' },
    { ...keyOf(cpuOnly), gpus: [], owner: 'nobody' },
  ].sort((a, b) => (a.jobId < b.jobId ? -1 : 1));
  t.same(runner.holdings(), want, 'both ranks, with the GPUs StartTask gave and the account they run as');
  await runner.close();

  const second = newRunner(t, stateDir);
  await second.adopt();
  t.same(second.holdings(), want, 'a runner that adopted them knows the same (spec.json)');
  writeFileSync(path.join(workdir, 'go'), '');
  await waitForStatus(second, s, finished);
  t.same(second.holdings(), [want.find((w) => w.jobId === cpuOnly.jobId)], 'the ended rank holds nothing');
  await second.stop(cpuOnly, 1, 'test over');
  t.same(second.holdings(), [], 'none once both ended');
});
