import t from 'tap';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { buildTopology, naturalCompare, type TopologyNodeInput } from '../../../scheduler/topology/index.js';

const n = (name: string, domains: Record<string, string> = {}, gpus = 8): TopologyNodeInput => ({ name, gpus, domains });

t.test('natural order', async (t) => {
  const names = ['rack-10', 'rack-2', 'rack-1', 'rack-02', 'a', 'rack-1b'];
  t.same([...names].sort(naturalCompare), ['a', 'rack-1', 'rack-1b', 'rack-2', 'rack-02', 'rack-10'], 'equal values: fewer leading zeros first');
});

t.test('dense ids in depth-first, natural order; contiguous ranges', async (t) => {
  const tree = buildTopology(
    ['leaf', 'spine'],
    [n('n10', { leaf: 'l2', spine: 's1' }), n('n2', { leaf: 'l1', spine: 's1' }), n('n1', { leaf: 'l10', spine: 's2' }), n('n3', { leaf: 'l1', spine: 's1' })],
  );
  t.same(tree.levels, ['node', 'leaf', 'spine', 'cluster']);
  t.same(tree.names[0], ['n2', 'n3', 'n10', 'n1']);
  t.same(tree.names[1], ['l1', 'l2', 'l10']);
  t.same(tree.names[2], ['s1', 's2']);
  t.same(tree.names[3], ['cluster']);
  t.same([...(tree.nodeStart[1] as Int32Array)], [0, 2, 3]);
  t.same([...(tree.nodeEnd[1] as Int32Array)], [2, 3, 4]);
  t.same([...(tree.childStart[2] as Int32Array)], [0, 2]);
  t.same([...(tree.childEnd[2] as Int32Array)], [2, 3]);
  t.same([...(tree.ancestor[2] as Int32Array)], [0, 0, 0, 1]);
  t.equal(tree.nodeId('n1'), 3);
  t.equal(tree.domainId(1, 'l10'), 2);
  t.equal(tree.levelIndex('spine'), 2);
  t.equal(tree.levelIndex('rack'), -1);
  t.equal(tree.topologyAddress(0), 's1.l1.n2');
  // Mixed-radix weights: count+1 per level below.
  t.same([...tree.weight], [1, 5, 5 * 4, 5 * 4 * 3]);
});

t.test('a node without a domain at a level is its own domain there', async (t) => {
  const tree = buildTopology(
    ['nvlink', 'leaf'],
    [n('gb-1', { nvlink: 'rack-a', leaf: 'l1' }), n('gb-2', { nvlink: 'rack-a', leaf: 'l1' }), n('hgx-1', { leaf: 'l1' }), n('hgx-2', { leaf: 'l2' })],
  );
  t.same(tree.names[1], ['hgx-1', 'rack-a', 'hgx-2']);
  t.equal(tree.domainCount[1], 3);
  t.same([...(tree.ancestor[1] as Int32Array)], [0, 1, 1, 2]);
});

t.test('no configured levels: nodes sit under the root', async (t) => {
  const tree = buildTopology([], [n('b'), n('a')]);
  t.same(tree.levels, ['node', 'cluster']);
  t.same(tree.names[0], ['a', 'b']);
});

const badTrees: [string, string[], TopologyNodeInput[], string][] = [
  ['reserved level', ['node'], [n('a')], 'levels[0]'],
  ['cluster is implicit', ['leaf', 'cluster'], [n('a')], 'levels[1]'],
  ['duplicate level', ['leaf', 'leaf'], [n('a')], 'levels[1]'],
  ['bad level name', ['Leaf'], [n('a')], 'levels[0]'],
  ['duplicate node', ['leaf'], [n('a'), n('a')], 'nodes[1].name'],
  ['empty name', ['leaf'], [n('')], 'nodes[0].name'],
  ['negative GPUs', ['leaf'], [n('a', {}, -1)], 'nodes[0].gpus'],
  ['unknown level key', ['leaf'], [n('a', { rack: 'r' })], 'nodes[0].domains.rack'],
  ['domains must nest', ['leaf', 'spine'], [n('a', { leaf: 'l1', spine: 's1' }), n('b', { leaf: 'l1', spine: 's2' })], 'nodes[1].domains.spine'],
  ['implicit domain clashes', ['leaf'], [n('a', { leaf: 'b' }), n('b')], 'nodes[1].domains.leaf'],
  ['link group index', ['leaf'], [{ name: 'a', gpus: 4, linkGroups: [{ kind: 'nvlink', gpus: [0, 4] }] }], 'nodes[0].gpuGroups[0][1]'],
];

t.test('bad trees name the field', async (t) => {
  for (const [label, levels, nodes, field] of badTrees) {
    try {
      buildTopology(levels, nodes);
      t.fail(`${label}: accepted`);
    } catch (e) {
      t.ok(e instanceof InvalidArgumentError, label);
      t.equal((e as InvalidArgumentError).field, field, label);
    }
  }
});
