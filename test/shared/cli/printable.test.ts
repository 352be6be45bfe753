/** Control characters in user-provided values are escaped wherever the CLI prints them as text. */
import t, { type Test } from 'tap';
import { printable } from '../../../shared/cli/printable.js';
import { jobText, jobsTable } from '../../../shared/cli/job-format.js';
import { nodeText } from '../../../shared/cli/node.js';
import { nodesTable } from '../../../shared/cli/nodes.js';
import type { JobView } from '../../../shared/wire/index.js';
import { emptyInventory, type NodeRecord } from '../../../shared/domain/index.js';

const HOSTILE = 'eve\nstate     succeeded\u0000\u001b[31mred\u001b[0m\u202egnp.exe\u0085\r';

t.test('printable escapes controls and keeps the rest', async (t) => {
  t.equal(printable('plain text, ünïcode ✓ and spaces'), 'plain text, ünïcode ✓ and spaces');
  t.equal(printable('a\nb\tc\rd'), 'a\\nb\\tc\\rd');
  t.equal(printable('\u0000\u001b[2J\u007f\u0085'), '\\x00\\x1b[2J\\x7f\\x85');
  t.equal(printable('\u202e\u2066\u2028'), '\\u202e\\u2066\\u2028', 'bidi overrides, isolates and line separators');
});

const clean = (t: Test, text: string, what: string): void => {
  // Only the printer's own newlines: every line starts as the printer lays it out.
  t.notMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/, `${what}: no control character but the line breaks`);
  t.notMatch(text, /^state\s+succeeded/m, `${what}: no forged line`);
};

t.test('job and jobs escape owner, message and node names', async (t) => {
  const view: JobView = {
    id: 'j-1', name: 'j', kind: 'Batch', queue: 'default', priority: 0, state: 'running', message: HOSTILE, attempt: 0, epoch: 1,
    submitted: '2026-01-01T00:00:00.000Z', started: null, finished: null, owner: HOSTILE, masterPort: 29500,
    ranks: [{ rank: 0, unit: 0, node: HOSTILE, gpus: [0], topologyAddress: 'a', state: 'running', exitCode: null, signal: null, startError: null, masterPort: 29500 }],
    faults: [{ xid: 13, rank: 0, epoch: 1, node: HOSTILE, gpu: 0, pid: 42, processName: HOSTILE, at: '2026-01-01T00:00:30.000Z', evidence: HOSTILE }],
    spec: { kind: 'Batch' },
  };
  const text = jobText(view, `waiting for ${HOSTILE}`);
  t.match(text, /^  XID 13 on rank 0 \(node eve\\nstate/m, 'the fault\'s node and process name are shown, escaped');
  clean(t, text, 'gantry job');
  t.match(text, /owner eve\\nstate     succeeded\\x00\\x1b\[31mred/, 'the owner is shown, escaped');
  clean(t, jobsTable([view], Date.parse('2026-01-01T00:01:00Z')), 'gantry jobs');
});

t.test('node and nodes escape names, labels and reasons', async (t) => {
  const node: NodeRecord = {
    name: HOSTILE, address: HOSTILE, connectivity: 'ready', schedulability: 'cordoned', schedulabilityReason: HOSTILE, health: 'healthy',
    inventory: emptyInventory(), labels: { rack: HOSTILE }, agentVersion: HOSTILE, verdicts: [], lastSeenMs: 0, registeredMs: 0,
    // What the agent ran and its output's last line come from the node.
    lastDiagnostic: { atMs: 0, passed: false, command: HOSTILE, summary: HOSTILE, tries: 1 },
  } as unknown as NodeRecord;
  const text = nodeText(node);
  clean(t, text, 'gantry node');
  t.match(text, /diagnostic output: eve\\nstate     succeeded/, 'the diagnostic output is shown, escaped');
  clean(t, nodesTable([node], 1000), 'gantry nodes');
});
