/** `gantry node NAME`: the node in full, with the accounts its agent runs ranks as. */
import t from 'tap';
import { nodeText, runAsLine } from '../../../shared/cli/node.js';
import { nodeJson, nodesTable } from '../../../shared/cli/nodes.js';
import { nodeActionText } from '../../../shared/cli/verdict-text.js';
import { emptyInventory, type NodeRecord } from '../../../shared/domain/index.js';

const node = (over: Partial<NodeRecord> = {}): NodeRecord => ({
  name: 'gpu-01', address: '10.0.0.1', connectivity: 'ready', schedulability: 'cordoned', schedulabilityReason: 'ops', health: 'warn',
  verdicts: [{ check: 'throttle', severity: 'warn', gpu: 2, evidence: 'hw slowdown', firstSeenMs: 0 }],
  inventory: emptyInventory('gpu-01'), labels: { pool: 'training' }, agentVersion: '0.1.0', registeredMs: 0, lastSeenMs: 0, reportsReceived: 0, ...over,
});

t.test('the accounts line: listed accounts and runner.allowRoot; none for a record from before allow-lists', async (t) => {
  t.equal(runAsLine({ allowedUsers: ['alice', 'root'], allowRoot: true }), 'alice, root (runner.allowedUsers); runner.allowRoot on');
  t.equal(runAsLine({}), 'no account (runner.allowedUsers); runner.allowRoot off');
});

t.test('nodeText: one aligned line per field, non-ok verdicts last', async (t) => {
  const text = nodeText(node({ allowedUsers: ['nobody'], allowRoot: false }));
  t.match(text, /^name:          gpu-01$/m);
  t.match(text, /^scheduling:    cordoned \(ops\)$/m);
  t.match(text, /^labels:        pool=training$/m);
  t.match(text, /^runs ranks as: nobody \(runner\.allowedUsers\); runner\.allowRoot off$/m);
  t.match(text, /^verdict:       warn throttle gpu 2: hw slowdown\n$/m);
  t.match(nodeJson(node()), { allowedUsers: [], allowRoot: false }, '--json: an old record lists none');
});

t.test('verdicts: the action the scheduler applies and the remedy, in text, the ACTION column and --json', async (t) => {
  const n = node({
    verdicts: [
      { check: 'xid', severity: 'fail', gpu: 0, evidence: 'Xid 79', firstSeenMs: 0, action: 'evict', remedy: 'reboot' },
      { check: 'gpu-recovery', severity: 'fail', gpu: 3, evidence: 'gpu_recovery_action Drain', firstSeenMs: 0, action: 'drain', remedy: 'reset-gpu' },
      { check: 'fabric', severity: 'fail', gpu: 1, evidence: 'fabric health Unhealthy', firstSeenMs: 0 },
      { check: 'throttle', severity: 'warn', gpu: 2, evidence: 'hw slowdown', firstSeenMs: 0 },
    ],
  });
  const text = nodeText(n);
  t.match(text, /^verdict:\s+fail xid gpu 0 \[evict, remedy reboot\]: Xid 79$/m);
  t.match(text, /^verdict:\s+fail gpu-recovery gpu 3 \[drain, remedy reset-gpu\]: gpu_recovery_action Drain$/m);
  t.match(text, /^verdict:\s+fail fabric gpu 1 \[evict\]: fabric health Unhealthy$/m, 'a fail without its own action: evict (verdictAction)');
  t.match(text, /^verdict:\s+warn throttle gpu 2: hw slowdown$/m, 'no action, no remedy: nothing added');
  t.equal(nodeActionText(n.verdicts), 'evict (reboot, reset-gpu)');
  t.equal(nodeActionText([{ severity: 'fail', action: 'drain', remedy: 'reset-gpu' }]), 'drain (reset-gpu)');
  t.equal(nodeActionText([{ severity: 'warn' }]), '-');
  t.equal(nodeActionText([]), '-');
  t.match(nodesTable([n], 0), /^NAME\s+STATE\s+SCHEDULING\s+HEALTH\s+ACTION\s+DIAGNOSTIC\s+GPUS/);
  t.match(nodesTable([n], 0), /\ngpu-01\s+ready\s+cordoned \(ops\)\s+warn\s+evict \(reboot, reset-gpu\)\s+-\s+0\s/);
  const json = nodeJson(n) as { verdicts: Array<{ action: string; remedy?: string }> };
  t.same(json.verdicts.map((v) => [v.action, v.remedy]), [['evict', 'reboot'], ['drain', 'reset-gpu'], ['evict', undefined], ['none', undefined]]);
});
