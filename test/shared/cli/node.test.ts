/** `gantry node NAME`: the node in full, with the accounts its agent runs ranks as. */
import t from 'tap';
import { nodeText, runAsLine } from '../../../shared/cli/node.js';
import { nodeJson } from '../../../shared/cli/nodes.js';
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
