/**
 * The runAs filter: a rank goes only to a node whose agent runs ranks as the job's account
 * (runner.allowedUsers; root also runner.allowRoot), with a counted reason per refusing node; ''
 * (the agent's own account) passes everywhere; a request without runAs (gantry plan) filters nothing.
 */
import t from 'tap';
import { explainText, place, placeJob, releaseAll, requestFromJobSpec, runAsRefusal, type GangRequest, type PlacementResult, type Reason } from '../../../scheduler/placement/index.js';
import { nodeInputFromRecord } from '../../../scheduler/topology/index.js';
import { emptyInventory, type NodeRecord } from '../../../shared/domain/index.js';
import { validateJobSpec } from '../../../shared/jobspec/index.js';
import { cluster, hgxNode } from '../../builders/cluster.js';
import { jobSpec } from '../../builders/job.js';

const c = cluster(
  ['rack'],
  [
    hgxNode('a1', { rack: 'r1' }, { allowedUsers: ['alice', 'nobody'] }),
    hgxNode('a2', { rack: 'r1' }, { allowedUsers: ['nobody'] }),
    hgxNode('b1', { rack: 'r2' }, { allowedUsers: ['root', 'nobody'], allowRoot: true }),
    hgxNode('b2', { rack: 'r2' }, { allowedUsers: ['root'], allowRoot: false }),
    hgxNode('b3', { rack: 'r2' }),
  ],
);

const nodes = (r: PlacementResult): string[] => (r.fits ? [...new Set(r.placement.ranks.map((x) => x.node))].sort() : []);
const nodeReasons = (r: PlacementResult): Reason[] => (r.fits ? [] : r.reasons.filter((x) => x.level === 'node' && !x.reason.startsWith('none holds')));
const gang = (extra: Partial<GangRequest>): GangRequest => ({ ranks: 1, gpusPerRank: 8, ...extra });

t.test('only nodes whose agent allows the account take its ranks', async (t) => {
  t.same(nodes(place(c.snapshot, gang({ runAs: 'alice' }))), ['a1'], 'alice: a1 alone lists her');
  t.same(nodes(place(c.snapshot, gang({ ranks: 3, runAs: 'nobody' }))), ['a1', 'a2', 'b1'], 'nobody: the three nodes that list it');
  t.same(nodes(place(c.snapshot, gang({ runAs: 'root' }))), ['b1'], 'root: listed and runner.allowRoot (b2 lists root without allowRoot)');
  t.same(nodes(place(c.snapshot, gang({ ranks: 5, runAs: '' }))), ['a1', 'a2', 'b1', 'b2', 'b3'], "'': the agent's own account, every node (the agent checks)");
  t.same(nodes(place(c.snapshot, gang({ ranks: 5 }))), ['a1', 'a2', 'b1', 'b2', 'b3'], 'no runAs: every node');
});

t.test('a refusing node is a counted reason that explain shows', async (t) => {
  const r = place(c.snapshot, gang({ ranks: 2, runAs: 'alice' }));
  t.equal(r.fits, false);
  t.same(nodeReasons(r), [{ level: 'node', reason: 'runAs alice not allowed on the node', count: 4 }], 'one line for the four nodes that refuse alice');
  t.match(explainText(r), /\n  4 nodes: runAs alice not allowed on the node\n/);
  const root = place(c.snapshot, gang({ ranks: 2, runAs: 'root' }));
  t.same(nodeReasons(root), [
    { level: 'node', reason: 'runAs root not allowed on the node', count: 3 },
    { level: 'node', reason: 'runAs root not allowed on the node (runner.allowRoot off)', count: 1 },
  ], 'root listed without runner.allowRoot says so');
});

t.test('runAsRefusal mirrors the agent: listed, and root also needs allowRoot', async (t) => {
  const users = new Set(['alice', 'root']);
  t.equal(runAsRefusal(users, false, 'alice'), null);
  t.equal(runAsRefusal(users, false, 'bob'), 'runAs bob not allowed on the node');
  t.equal(runAsRefusal(users, false, 'root'), 'runAs root not allowed on the node (runner.allowRoot off)');
  t.equal(runAsRefusal(users, true, 'root'), null);
  t.equal(runAsRefusal(new Set(['alice']), true, 'root'), 'runAs root not allowed on the node', 'allowRoot alone is not enough: root must be listed too');
  t.equal(runAsRefusal(new Set(), false, ''), null, "'' is the agent's to judge");
});

t.test('a job spec with its account: requestFromJobSpec carries runAs only when given', async (t) => {
  const spec = validateJobSpec({ ...jobSpec(), name: 'j', ranks: 1, gpusPerRank: 8, runAs: 'alice' });
  t.equal(requestFromJobSpec(spec).gang.runAs, undefined, 'gantry plan (no account given): no filter');
  t.equal(requestFromJobSpec(spec, 'alice').gang.runAs, 'alice');
  t.equal(requestFromJobSpec(spec, '').gang.runAs, undefined, "'': nothing to filter");
  const out = placeJob(c.snapshot, requestFromJobSpec(spec, 'alice'));
  t.ok(out.fits);
  t.same(out.placements.flatMap((p) => p.ranks.map((r) => r.node)), ['a1']);
  releaseAll(c.snapshot, out.placements);
});

t.test("a node record's allow-list reaches the tree; an old record without one allows nobody", async (t) => {
  const rec = (name: string, extra: Partial<NodeRecord>): NodeRecord => ({
    name, address: name, connectivity: 'ready', schedulability: 'schedulable', schedulabilityReason: '', health: 'ok', verdicts: [],
    inventory: emptyInventory(name), labels: {}, agentVersion: '1', registeredMs: 0, lastSeenMs: 0, reportsReceived: 0, ...extra,
  });
  t.match(nodeInputFromRecord(rec('n1', { allowedUsers: ['alice'], allowRoot: true }), []), { allowedUsers: ['alice'], allowRoot: true });
  t.match(nodeInputFromRecord(rec('n0', {}), []), { allowedUsers: [], allowRoot: false }, 'a record from before allow-lists: none, false');
});
