import t from 'tap';
import { join } from 'node:path';
import { ProbeTimeoutError } from '../../../shared/errors/index.js';
import { parseNvidiaSmiXml, parseXidLog, type GpuProbe } from '../../../agent/core/index.js';
import { createHealthEvaluator } from '../../../agent/health/index.js';
import { derivedFixtures, probeOf, read, fixture } from '../collectors/fixtures.js';

const k8s = (f: string) => fixture('k8s-test-infra', f);

t.test('healthy node: no verdicts, severity ok', async (t) => {
  const ev = createHealthEvaluator();
  const r = ev.evaluate({ probe: probeOf(fixture('nvidia', 'qx-h100.xml')) }, 1_000);
  t.same(r.verdicts, []);
  t.equal(r.severity, 'ok');
});

t.test('first-seen times persist while a condition lasts and restart after it clears', async (t) => {
  const ev = createHealthEvaluator();
  const bad = probeOf(k8s('qx-gb200-ecc-injected.xml'));
  const good = probeOf(k8s('qx-gb200-healthy.xml'));
  const r1 = ev.evaluate({ probe: bad }, 1_000);
  t.equal(r1.severity, 'fail');
  t.same(
    r1.verdicts.map((v) => [v.check, v.severity, v.gpu, v.firstSeenMs]),
    [
      ['ecc-uncorrectable', 'fail', 0, 1_000],
      ['row-remap', 'fail', 0, 1_000],
    ],
  );
  const r2 = ev.evaluate({ probe: probeOf(k8s('qx-gb200-ecc-injected.xml')) }, 31_000);
  t.same(r2.verdicts.map((v) => v.firstSeenMs), [1_000, 1_000], 'kept');
  t.same(ev.evaluate({ probe: good }, 61_000).verdicts, [], 'cleared');
  t.same(ev.evaluate({ probe: bad }, 91_000).verdicts.map((v) => v.firstSeenMs), [91_000, 91_000], 'a recurrence is new');
});

t.test('the evaluator feeds the previous probe and the interval to delta rules', async (t) => {
  const ev = createHealthEvaluator();
  ev.evaluate({ probe: probeOf(k8s('qx-gb200-throttle-counters.xml')) }, 0);
  const r = ev.evaluate({ probe: probeOf(join(derivedFixtures, 'qx-gb200-hw-thermal-slowdown.xml')) }, 30_000);
  t.same(r.verdicts.map((v) => [v.check, v.severity, v.gpu]), [['throttle', 'warn', 0]]);
  t.match(r.verdicts[0]?.evidence, /2\.5 s of the last 30\.0 s/);
});

t.test('expected GPU count defaults to the most seen', async (t) => {
  const ev = createHealthEvaluator();
  ev.evaluate({ probe: probeOf(fixture('nvidia', 'qx-h100.xml')) }, 0);
  const r = ev.evaluate({ probe: probeOf(join(derivedFixtures, 'qx-h100-gpu3-missing.xml')) }, 30_000);
  t.same(r.verdicts.map((v) => v.check), ['gpu-count']);
  t.match(r.verdicts[0]?.evidence, /7 of 8/);
  const configured = createHealthEvaluator({ config: { expectedGpus: 8 } });
  t.same(configured.evaluate({ probe: probeOf(join(derivedFixtures, 'qx-h100-gpu3-missing.xml')) }, 0).verdicts.map((v) => v.check), ['gpu-count']);
});

t.test('application XIDs go to the job, informational ones are recorded only', async (t) => {
  const ev = createHealthEvaluator();
  const probe = probeOf(fixture('nvidia', 'qx-h100.xml'));
  const gpus = probe.gpus.map((g, i) => (i === 7 ? { ...g, pciBusId: '00000000:9B:00.0' } : g));
  const r = ev.evaluate({ probe: { ...probe, gpus }, xids: parseXidLog(read(join(derivedFixtures, 'dmesg-xid-classes.txt'))) }, 5_000);
  t.same(
    r.verdicts.map((v) => [v.check, v.severity, v.gpu]),
    [
      ['xid', 'fail', 0],
      ['xid', 'fail', 7],
      ['xid', 'warn', 7],
    ],
  );
  t.same(r.jobFindings.map((j) => [j.check, j.gpu, j.pid, j.processName, j.firstSeenMs]), [['xid', 7, 31337, 'python3', 5_000]]);
  t.same(r.info.map((v) => [v.check, v.severity, v.gpu]), [['xid', 'ok', 7]]);
});

t.test('a timed-out probe fails the node; verdicts are ordered worst first', async (t) => {
  const ev = createHealthEvaluator();
  const r = ev.evaluate({ probeError: new ProbeTimeoutError('nvidia-smi -q -x', 10_000), probe: probeOf(join(derivedFixtures, 'qx-a100-remap-pending.xml')) }, 0);
  t.same(r.verdicts.map((v) => [v.check, v.severity]), [
    ['gpu-probe', 'fail'],
    ['row-remap', 'warn'],
  ]);
  t.equal(r.severity, 'fail');
});
