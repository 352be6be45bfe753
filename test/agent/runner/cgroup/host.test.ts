/** detectHostLayout (agent/runner/cgroup/host.ts): the shell that reads the files the pure detection takes. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../../shared/procs/index.js';
import { detectHostLayout, detectLayout } from '../../../../agent/runner/cgroup/index.js';

t.test('this host: the same answer as the pure detection over the live files', async (t) => {
  const got = await detectHostLayout({ devicesApplier: true });
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const v2Mount = detectLayout({ mountinfo, procCgroup: readFileSync('/proc/self/cgroup', 'utf8'), v2Controllers: null, devicesApplier: true }).layout.v2Mount;
  const want = detectLayout({
    mountinfo,
    procCgroup: readFileSync('/proc/self/cgroup', 'utf8'),
    v2Controllers: v2Mount ? readFileSync(`${v2Mount}/cgroup.controllers`, 'utf8') : null,
    devicesApplier: true,
  });
  t.same(got, want);
  t.not(got.layout.kind, 'none', 'this CI machine has cgroups');
});

t.test('procSelf: the files of another host (v1-only, derived), no v2 controllers read', async (t) => {
  const dir = join(packageRoot(), 'fixtures', 'cgroup', 'derived', 'v1-only');
  const got = await detectHostLayout({ procSelf: dir });
  t.equal(got.layout.kind, 'v1');
  t.equal(got.layout.enforced.devices, null, 'no applier by default');
  t.equal(got.own.v1['memory'], '/system.slice/gantry-agent.service');
  await t.rejects(detectHostLayout({ procSelf: join(dir, 'missing') }), { code: 'FAILED_PRECONDITION', message: /missing\/mountinfo/ }, 'an unreadable file: an error naming it');
});
