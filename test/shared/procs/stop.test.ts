/**
 * stopProcessesMentioning on real child processes: one that exits on SIGTERM goes at once, one
 * that ignores SIGTERM is killed after the grace period, and neither is left behind.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { processesMentioning, stopProcessesMentioning } from '../../../shared/procs/index.js';

function startMarked(marker: string, ignoreTerm: boolean): Promise<void> {
  // A Node process forks nothing (a shell loop's forked children would briefly carry its argv too).
  const script = `${ignoreTerm ? "process.on('SIGTERM', () => {}); " : ''}setInterval(() => {}, 1000); console.log('up');`;
  const child = spawn(process.execPath, ['-e', script, marker], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  child.unref();
  return new Promise((resolve) => child.stdout!.once('data', () => resolve()));
}

t.test('stops what mentions the marker: SIGTERM first, SIGKILL for what ignores it', async (t) => {
  const marker = `gantry-stop-test-${randomUUID()}`;
  await startMarked(`${marker}-polite`, false);
  await startMarked(`${marker}-stubborn`, true);
  t.equal(processesMentioning(marker).length, 2, 'both running');

  const t0 = Date.now();
  t.equal(await stopProcessesMentioning(`${marker}-polite`, 5000, 5000), 0);
  t.ok(Date.now() - t0 < 4000, 'a process that honours SIGTERM does not wait out the grace');
  t.equal(processesMentioning(marker).length, 1, 'only the named one stopped');

  const t1 = Date.now();
  t.equal(await stopProcessesMentioning(`${marker}-stubborn`, 300, 5000), 0);
  t.ok(Date.now() - t1 >= 300, 'SIGTERM ignored: SIGKILL only after the grace');
  t.same(processesMentioning(marker), [], 'nothing left');
  t.equal(await stopProcessesMentioning(marker), 0, 'nothing to stop is fine');
});
