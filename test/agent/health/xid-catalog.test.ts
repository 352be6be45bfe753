/**
 * NVIDIA's XID resolution classes -> (severity, scope, action, remedy), table-driven; the policy's
 * lists taking precedence over the catalog; XID 154 and the NVLink 5 family read from the message.
 */
import t from 'tap';
import { parseXidLog, type XidEvent } from '../../../agent/core/index.js';
import {
  DEFAULT_HEALTH_CONFIG,
  DEFAULT_XID_POLICY,
  XID_CATALOG,
  catalogOutcome,
  createHealthEvaluator,
  judgeXid,
  recoveryKindOf,
  xid154Kind,
  xidRule,
  type XidPolicy,
} from '../../../agent/health/index.js';
import { fixture, read } from '../collectors/fixtures.js';

const NO_LISTS: XidPolicy = { failGpu: [], application: [], informational: [], unknown: 'warn' };
const j = (xid: number, message = 'msg', policy: XidPolicy = NO_LISTS) => {
  const o = judgeXid({ xid, message }, policy);
  return [o.severity, o.scope, o.action ?? '-', o.remedy ?? '-'].join(' ');
};

/** xid, message, expected "severity scope action remedy" by the catalog alone. */
const CATALOG_CASES: Array<[number, string, string]> = [
  [13, 'Graphics SM Warp Exception', 'warn job - -'],
  [31, 'MMU Fault', 'warn job - -'],
  [43, 'Ch 00000010 reset channel verif error', 'ok info - -'],
  [45, 'Ch 00000010', 'warn job - -'],
  [48, 'An uncorrectable double bit error', 'fail node evict reset-gpu'],
  [54, 'aux power', 'fail node cordon check-mechanicals'],
  [61, 'PMU breakpoint', 'fail node evict reset-gpu'],
  [62, 'PMU halt', 'fail node evict reset-gpu'],
  [63, 'Row Remapper: New row marked for remapping', 'ok info - -'],
  [64, 'Row Remapper: failure', 'fail node evict reset-gpu'],
  [68, 'NVDEC0 exception', 'fail node evict reset-gpu'],
  [69, 'Class Error', 'fail node evict reset-gpu'],
  [74, 'NVLink: fatal error detected on link 3', 'fail node evict reset-gpu'],
  [79, 'GPU has fallen off the bus.', 'fail node evict reboot'],
  [92, 'High single-bit ECC error rate', 'ok info - -'],
  [94, 'Contained: SM (0x1)', 'warn job - -'],
  [95, 'Uncontained: LTC TAG (0x2,0x0)', 'fail node evict reset-gpu'],
  [109, 'errorString CTX SWITCH TIMEOUT', 'fail node evict reset-gpu'],
  [119, 'Timeout after 6s of waiting for RPC response from GPU4 GSP!', 'fail node evict reset-gpu'],
  [120, 'GSP task exception', 'fail node evict reset-gpu'],
  [121, 'C2C link corrected error', 'fail node drain reset-gpu'],
  [136, 'link training failed', 'fail node evict reset-gpu'],
  [140, 'ECC unrecovered error', 'fail node evict reset-gpu'],
  [143, 'GPU init error', 'fail node evict reset-gpu'],
  [144, 'NETIR_LINK_EVT Fatal XC0 i0 Link 04 (0x004505c6 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000)', 'fail node evict reset-gpu'],
  [145, 'RLW_REMAP NonFatal XC0 i0 Link 11 (0x00000000 0x00000001)', 'warn node - -'],
  [150, 'MSE_WATCHDOG Fatal XC0 i0 Link -1', 'fail node evict reset-gpu'],
  [151, 'Key rotation error', 'fail node evict reboot'],
  [154, 'GPU recovery action changed from 0x0 (None) to 0x1 (GPU Reset Required)', 'fail node evict reset-gpu'],
  [154, 'GPU recovery action changed from 0x0 (None) to 0x2 (Node Reboot Required)', 'fail node evict reboot'],
  [154, 'GPU recovery action changed from 0x0 (None) to 0x3 (Drain P2P)', 'fail node drain reset-gpu'],
  [154, 'GPU recovery action changed from 0x0 (None) to 0x4 (Drain and Reset)', 'fail node drain reset-gpu'],
  [154, 'GPU recovery action changed from 0x1 (GPU Reset Required) to 0x0 (None)', 'ok info - -'],
  [154, 'GPU recovery action changed from 0x0 to 0x2', 'fail node evict reboot'],
  [157, 'resource retirement failure', 'fail node evict contact-support'],
  [158, 'GPU fatal timeout', 'fail node evict reset-gpu'],
  // Not in the catalog: XidPolicy.unknown.
  [999, 'made-up code', 'warn node - -'],
  [154, 'no action named', 'warn node - -'],
];

t.test('catalog classes -> severity, scope, action, remedy', async (t) => {
  for (const [xid, message, want] of CATALOG_CASES) t.equal(j(xid, message), want, `${xid}: ${message}`);
});

t.test('every XID the brief names is in the catalog', async (t) => {
  for (const x of [13, 31, 43, 45, 48, 61, 62, 63, 64, 68, 69, 74, 79, 92, 94, 95, 109, 119, 120, 121, 136, 140, 143, 144, 145, 146, 147, 148, 149, 150, 154]) {
    t.ok(XID_CATALOG.has(x), `XID ${x}`);
  }
  t.equal(catalogOutcome(999, ''), null);
});

t.test('the default lists agree with the catalog (43 kept as application)', async (t) => {
  for (const x of DEFAULT_XID_POLICY.failGpu) t.match(j(x, 'm'), /^fail node (evict|drain)/, `failGpu ${x}`);
  for (const x of DEFAULT_XID_POLICY.application.filter((x) => x !== 43)) t.equal(j(x), 'warn job - -', `application ${x}`);
  for (const x of DEFAULT_XID_POLICY.informational) t.equal(j(x), 'ok info - -', `informational ${x}`);
  t.equal(j(43, 'm', DEFAULT_XID_POLICY), 'warn job - -', '43: the list wins over the catalog IGNORE');
});

t.test("an operator's list wins over the catalog", async (t) => {
  const policy: XidPolicy = { failGpu: [13, 79], application: [48], informational: [119], unknown: 'info' };
  t.equal(j(13, 'm', policy), 'fail node evict -', 'failGpu for a RESTART_APP code: evict, no remedy the catalog knows');
  t.equal(j(79, 'm', policy), 'fail node evict reboot', 'failGpu for a catalog-fail code keeps its remedy');
  t.equal(j(48, 'm', policy), 'warn job - -', 'application');
  t.equal(j(119, 'm', policy), 'ok info - -', 'informational');
  t.equal(j(95, 'm', policy), 'fail node evict reset-gpu', 'unlisted: the catalog');
  t.equal(j(999, 'm', policy), 'ok info - -', 'unknown: info');
});

t.test('recovery action words', async (t) => {
  const cases: Array<[string, string | null]> = [
    ['None', 'none'], ['Reset', 'reset'], ['GPU Reset Required', 'reset'], ['Reboot', 'reboot'], ['Node Reboot Required', 'reboot'],
    ['Drain', 'drain'], ['Drain P2P', 'drain'], ['Drain and Reset', 'drain'], ['N/A', null], ['', null], ['Something New', null],
  ];
  for (const [text, want] of cases) t.equal(recoveryKindOf(text), want, text);
  t.equal(xid154Kind('GPU recovery action changed from 0x0 (None) to 0x2 (Node Reboot Required)'), 'reboot');
  t.equal(xid154Kind('GPU recovery action changed'), null);
});

const ev = (xid: number, message: string, busDevice = '9b:00'): XidEvent => ({
  xid, pci: `0000:${busDevice}`, busDevice, pid: null, processName: '', message, seq: null, monotonicUs: null, timestamp: '',
});

t.test('xid rule: findings carry action and remedy; XID 154 counts only its latest per GPU', async (t) => {
  const out = xidRule(
    {
      xids: [
        ev(79, 'GPU has fallen off the bus.', '53:00'),
        ev(154, 'GPU recovery action changed from 0x0 (None) to 0x2 (Node Reboot Required)'),
        ev(154, 'GPU recovery action changed from 0x2 (Node Reboot Required) to 0x4 (Drain and Reset)'),
      ],
    },
    DEFAULT_HEALTH_CONFIG,
  );
  t.same(
    out.map((f) => [f.key, f.severity, f.action, f.remedy]),
    [
      ['79', 'fail', 'evict', 'reboot'],
      ['154', 'fail', 'drain', 'reset-gpu'],
    ],
  );
});

t.test('evaluator: verdicts carry action and remedy (real XID 119 capture); job findings none', async (t) => {
  const xids = parseXidLog(read(fixture('gpud', 'dmesg-with-xid-119.log')));
  const r = createHealthEvaluator().evaluate({ xids: [...xids, ev(13, 'Graphics SM Warp Exception', '9b:00')] }, 1_000);
  t.same(
    r.verdicts.map((v) => [v.check, v.severity, v.action, v.remedy]),
    [['xid', 'fail', 'evict', 'reset-gpu']],
  );
  t.equal(r.jobFindings.length, 1, 'the RESTART_APP code is the job\'s');
  t.notOk('action' in (r.jobFindings[0] as object));
});
