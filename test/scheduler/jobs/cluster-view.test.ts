import t from 'tap';
import { ClusterModel } from '../../../scheduler/cluster/index.js';
import { buildUsableTopology, ClusterView, nodeInputs } from '../../../scheduler/jobs/cluster-view.js';
import { emptyInventory, type NodeRecord } from '../../../shared/domain/index.js';
import { parseJobSpec } from '../../../shared/jobspec/index.js';
import { gpuInfo } from '../../builders/inventory.js';
import { jobYaml } from '../../builders/job.js';

function record(name: string, gpus: number, leaf: string, edit: (r: NodeRecord) => void = () => {}): NodeRecord {
  const inventory = emptyInventory(name);
  for (let i = 0; i < gpus; i++) inventory.gpus.push(gpuInfo(i));
  inventory.topology.domains = { leaf };
  const r: NodeRecord = {
    name, address: name, connectivity: 'ready', schedulability: 'schedulable', schedulabilityReason: '', health: 'ok', verdicts: [],
    inventory, labels: {}, agentVersion: 't', registeredMs: 0, lastSeenMs: 0, reportsReceived: 0, allowedUsers: [], allowRoot: true,
  };
  edit(r);
  return r;
}

const spec = (gpus: number, ranks = 1): string => jobYaml({ ranks, gpusPerRank: gpus });

t.test('a poisoned record is left out of the tree with why, and every other node stays', async (t) => {
  const cluster = new ClusterModel(60_000);
  const poisoned = record('n-bad', 1108, 'l1');
  const badIndex = record('n-idx', 8, 'l1', (r) => void (r.inventory.gpus[2]!.index = 4e9));
  const badMem = record('n-mem', 8, 'l2', (r) => void (r.inventory.gpus[0]!.memoryMiB = 2 ** 63));
  // A domain clash: n-x names leaf "n-a", the name of a node with no leaf of its own (its own leaf).
  const clash = record('n-x', 8, 'n-a');
  const unlabelled = record('n-a', 8, 'l3', (r) => void (r.inventory.topology.domains = {}));
  const unreadable = record('n-broken', 8, 'l1', (r) => void ((r as { inventory: unknown }).inventory = { gpus: [] }));
  cluster.load([record('n-1', 8, 'l1'), poisoned, badIndex, badMem, unlabelled, clash, unreadable, record('n-2', 8, 'l2')], 0);
  const calls: Array<{ added: string[]; all: string[] }> = [];
  const view = new ClusterView(['leaf'], cluster, undefined, (added, all) => calls.push({ added: added.map((a) => a.node), all: [...all.keys()].sort() }));
  const tree = view.topology();
  t.same([...Array(tree.nodeCount).keys()].map((i) => tree.nodeName(i)).sort(), ['n-1', 'n-2', 'n-a'], 'the usable nodes make the tree');
  t.same([...view.excluded.keys()].sort(), ['n-bad', 'n-broken', 'n-idx', 'n-mem', 'n-x']);
  t.match(view.excluded.get('n-bad'), /^inventory\.gpus: 1108 GPUs; at most 1024/, "the issue's poisoned record");
  t.match(view.excluded.get('n-idx'), /inventory\.gpus\[2\]\.index: 4000000000/);
  t.match(view.excluded.get('n-mem'), /inventory\.gpus\[0\]\.memoryMiB/);
  t.match(view.excluded.get('n-x'), /^node\.domains\.leaf: .*clashes/, "the tree builder's reason, without the list position");
  t.match(view.excluded.get('n-broken'), /cannot be read/);
  t.equal(calls.length, 1, 'told once');
  t.same({ ...calls[0], added: calls[0]!.added.sort() }, { added: ['n-bad', 'n-broken', 'n-idx', 'n-mem', 'n-x'], all: ['n-bad', 'n-broken', 'n-idx', 'n-mem', 'n-x'] });

  // Submits are checked and cycles planned on the usable nodes.
  view.checkCouldEverFit(parseJobSpec(spec(8, 3)), '');
  t.throws(() => view.checkCouldEverFit(parseJobSpec(spec(8, 4)), ''), /could not fit even if every registered node were free/, 'the excluded nodes count for nothing');
  const at = view.snapshot([], []);
  t.equal(at.tree.nodeCount, 3);

  // Nothing changed: not rebuilt, not told again.
  view.topology();
  t.equal(calls.length, 1);

  // The operator deletes one, another is fixed: told again, with nothing newly added.
  cluster.remove('n-bad');
  cluster.register({ name: 'n-mem', address: 'n-mem', agentVersion: 't', inventory: record('n-mem', 8, 'l2').inventory, labels: {}, verdicts: [], allowedUsers: [], allowRoot: true }, 0);
  const fixed = view.topology();
  t.equal(fixed.nodeCount, 4);
  t.same([...view.excluded.keys()].sort(), ['n-broken', 'n-idx', 'n-x']);
  t.equal(calls.length, 2);
  t.same(calls[1]!.added, []);
});

t.test('a fault that names no node still throws', async (t) => {
  const { inputs, excluded } = nodeInputs(['leaf'], [record('n-1', 8, 'l1')]);
  t.throws(() => buildUsableTopology(['node'], inputs, excluded), /^levels\[0\]: "node" is implicit/);
  t.equal(buildUsableTopology(['leaf'], inputs, excluded).tree.nodeCount, 1);
});
