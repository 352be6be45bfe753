/**
 * gpu_recovery_action -> verdicts. Golden from the real captures (every one reads None or N/A: no
 * finding) and from the derived GB200 captures (Reset, Reboot, Drain; test/fixtures/derived/README.md).
 */
import t from 'tap';
import { basename, join } from 'node:path';
import { createHealthEvaluator, gpuRecoveryRule, DEFAULT_HEALTH_CONFIG } from '../../../agent/health/index.js';
import { allNvidiaXmlCaptures, derivedFixtures, probeOf } from '../collectors/fixtures.js';

t.test('real captures: None or N/A, no finding', async (t) => {
  const captures = allNvidiaXmlCaptures();
  t.ok(captures.length >= 25);
  let reporting = 0;
  for (const path of captures) {
    const probe = probeOf(path);
    if (probe.samples.some((s) => s.recoveryAction)) reporting++;
    t.same(gpuRecoveryRule({ probe }, DEFAULT_HEALTH_CONFIG), [], basename(path));
  }
  t.ok(reporting >= 10, `${reporting} captures report gpu_recovery_action as None`);
});

const CASES: Array<[string, number, string, string, string]> = [
  ['qx-gb200-recovery-reset.xml', 1, 'fail', 'evict', 'reset-gpu'],
  ['qx-gb200-recovery-reboot.xml', 2, 'fail', 'evict', 'reboot'],
  ['qx-gb200-recovery-drain.xml', 3, 'fail', 'drain', 'reset-gpu'],
];

for (const [file, gpu, severity, action, remedy] of CASES) {
  t.test(`derived ${file}: GPU ${gpu} ${severity}, action ${action}, remedy ${remedy}`, async (t) => {
    const r = createHealthEvaluator().evaluate({ probe: probeOf(join(derivedFixtures, file)) }, 5_000);
    t.same(
      r.verdicts.map((v) => ({ check: v.check, severity: v.severity, gpu: v.gpu, action: v.action, remedy: v.remedy })),
      [{ check: 'gpu-recovery', severity, gpu, action, remedy }],
    );
    t.match(r.verdicts[0]?.evidence, /gpu_recovery_action (Reset|Reboot|Drain)/);
    t.equal(r.severity, 'fail');
  });
}

t.test('a word the rule cannot read warns, with no action', async (t) => {
  const probe = probeOf(join(derivedFixtures, 'qx-gb200-recovery-reset.xml'));
  probe.samples[1] = { ...probe.samples[1]!, recoveryAction: 'Replace Board' };
  t.same(
    gpuRecoveryRule({ probe }, DEFAULT_HEALTH_CONFIG).map((f) => [f.severity, f.gpu, f.action, f.key]),
    [['warn', 1, undefined, 'unknown']],
  );
});
