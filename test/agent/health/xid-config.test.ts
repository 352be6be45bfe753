/**
 * The agent's health.xid keys (agent/config.ts) reach the XID rule: the lists take precedence over
 * NVIDIA's resolution class, actions override a node verdict's action; judged on the XID lines of the
 * derived log (test/fixtures/derived/dmesg-xid-classes.txt: 119, 13, 63, 79, 999). Bad values are
 * refused naming the key.
 */
import t from 'tap';
import { join } from 'node:path';
import { agentConfigFrom, refusedConfigCases } from './config-refusals.js';
import { healthConfigOf } from '../../../agent/main.js';
import { parseXidLog } from '../../../agent/core/index.js';
import { createHealthEvaluator, DEFAULT_XID_POLICY } from '../../../agent/health/index.js';
import { derivedFixtures, read } from '../collectors/fixtures.js';

const config = agentConfigFrom;
const xids = parseXidLog(read(join(derivedFixtures, 'dmesg-xid-classes.txt')));

function judged(sets: string[]): { verdicts: string[]; jobs: number; info: string[] } {
  const r = createHealthEvaluator({ config: healthConfigOf(config(sets)) }).evaluate({ xids }, 1_000);
  return {
    verdicts: r.verdicts.map((v) => `${/Xid (\d+)/.exec(v.evidence)?.[1]}:${v.severity}:${v.action ?? '-'}:${v.remedy ?? '-'}`).sort(),
    jobs: r.jobFindings.length,
    info: r.info.map((v) => /Xid (\d+)/.exec(v.evidence)?.[1] ?? '').sort(),
  };
}

t.test('defaults: the code defaults, and the catalog', async (t) => {
  const c = config([]);
  t.same(c.health.xid, { ...DEFAULT_XID_POLICY, actions: {}, ignoreAfterStopMs: 30_000 });
  t.same(judged([]), { verdicts: ['119:fail:evict:reset-gpu', '79:fail:evict:reboot', '999:warn:-:-'], jobs: 1, info: ['63'] });
});

t.test("an operator's lists win over the catalog; unknown info", async (t) => {
  t.same(judged(['health.xid.failGpu=[13]', 'health.xid.application=[]', 'health.xid.informational=[119, 79]', 'health.xid.unknown=info']), {
    verdicts: ['13:fail:evict:-'],
    jobs: 0,
    info: ['119', '63', '79', '999'],
  });
});

t.test('actions override the action of a node verdict, not the remedy', async (t) => {
  t.same(judged(['health.xid.actions={"79": drain, "999": cordon, "13": evict}']).verdicts, ['119:fail:evict:reset-gpu', '79:fail:drain:reboot', '999:warn:cordon:-']);
  t.equal(judged(['health.xid.actions={"13": evict}']).jobs, 1, 'a job finding takes no node action');
});

t.test('the fail list is what the agent keeps judged until reboot', async (t) => {
  t.same(healthConfigOf(config(['health.xid.failGpu=[79]'])).xid?.failGpu, [79]);
});

const bad: Array<[string, string, RegExp]> = [
  ['a code in two lists', 'health.xid.application=[13, 79]', /config health\.xid\.application\[1\]: XID 79 is also in health\.xid\.failGpu/],
  ['not a code', 'health.xid.failGpu=[0]', /config health\.xid\.failGpu\[0\]: /],
  ['not a number', 'health.xid.informational=[abc]', /config health\.xid\.informational\[0\]: /],
  ['unknown policy', 'health.xid.unknown=fail', /config health\.xid\.unknown: /],
  ['unknown action', 'health.xid.actions={"79": reboot}', /config health\.xid\.actions\.79: /],
  ['action key not an XID', 'health.xid.actions={"x79": drain}', /config health\.xid\.actions\.x79: .*XID number/],
  ['unknown key', 'health.xid.fail=[79]', /config health\.xid\.fail: unknown key/],
];
refusedConfigCases(bad);
