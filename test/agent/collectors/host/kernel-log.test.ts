import t from 'tap';
import { appendFileSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProbeFailedError } from '../../../../shared/errors/index.js';
import { createKernelLogReader } from '../../../../agent/collectors/index.js';
import { fixture } from '../fixtures.js';

t.test('reads a log file incrementally', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-kmsg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'kern.log');
  copyFileSync(fixture('gpud', 'dmesg-with-xid-119.log'), path);
  const r = createKernelLogReader({ path });
  t.teardown(() => r.close());
  const first = await r.poll();
  t.ok(first.length > 0, 'XIDs already in the log');
  t.ok(first.every((e) => e.xid === 119));
  t.same(await r.poll(), [], 'nothing new');
  appendFileSync(path, '[Mon Feb 24 10:00:00 2025] NVRM: Xid (PCI:0000:1a:00): 48, pid=1, name=python, An uncorrectable double bit error');
  t.same(await r.poll(), [], 'a line without its newline waits');
  appendFileSync(path, '\n');
  const next = await r.poll();
  t.equal(next.length, 1);
  t.equal(next[0]?.xid, 48);
});

t.test('an unreadable source is ProbeFailedError', async (t) => {
  const r = createKernelLogReader({ path: '/nonexistent/kmsg' });
  t.ok((await r.poll().catch((e) => e)) instanceof ProbeFailedError);
});
