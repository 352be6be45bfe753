import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { loadClusterText } from '../../../scheduler/topology/index.js';

const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));

t.test('the example clusters load', async (t) => {
  const hgx = loadClusterText(readFileSync(`${examples}cluster-hgx.yaml`, 'utf8'));
  t.equal(hgx.tree.nodeCount, 16);
  t.same(hgx.tree.levels, ['node', 'leaf', 'spine', 'cluster']);
  const cordoned = hgx.tree.nodeId('hgx-s2l1-00');
  t.equal(hgx.snapshot.unusable[cordoned], 'cordoned');
  t.equal(hgx.snapshot.unusable[hgx.tree.nodeId('hgx-s2l2-03')], 'health fail');
  t.equal(hgx.snapshot.unusable[hgx.tree.nodeId('hgx-s2l2-02')], null, 'warn still takes work');
  t.equal(hgx.snapshot.nodeFree[hgx.tree.nodeId('hgx-s2l2-01')], 7, 'an unhealthy GPU is not free');
  const groups = hgx.tree.linkGroups[0] ?? [];
  t.same(groups.map((g) => g.kind), ['nvlink', 'pcie-switch', 'pcie-switch', 'pcie-switch', 'pcie-switch', 'numa', 'numa']);
  const mixed = loadClusterText(readFileSync(`${examples}cluster-mixed.yaml`, 'utf8'));
  t.equal(mixed.tree.nodeCount, 44);
  const nvlink = mixed.tree.levelIndex('nvlink');
  t.equal(mixed.tree.domainCount[nvlink], 8 + 2, 'each HGX node is its own NVLink domain; two NVL72 racks');
});

const bad: [string, string, string][] = [
  ['not a mapping', '[1, 2]', ''],
  ['no nodes', 'levels: [leaf]\n', 'nodes'],
  ['unknown top-level field', 'nodes: [{name: a, gpus: 1}]\nracks: 2\n', 'racks'],
  ['unknown node field', 'nodes: [{name: a, gpus: 1, gpu: 2}]\n', 'nodes[0].gpu'],
  ['gpus missing', 'nodes: [{name: a}]\n', 'nodes[0].gpus'],
  ['health value', 'nodes: [{name: a, gpus: 1, health: bad}]\n', 'nodes[0].health'],
  ['used index out of range', 'nodes: [{name: a, gpus: 2, usedGpus: [0, 2]}]\n', 'nodes[0].usedGpus[1]'],
  ['unhealthy index out of range', 'nodes: [{name: a, gpus: 2, unhealthyGpus: [5]}]\n', 'nodes[0].unhealthyGpus[0]'],
  ['group index out of range', 'nodes: [{name: a, gpus: 2, gpuGroups: [[0, 3]]}]\n', 'nodes[0].gpuGroups[0][1]'],
  ['group kind', 'nodes: [{name: a, gpus: 2, gpuGroups: [{kind: pci, gpus: [0]}]}]\n', 'nodes[0].gpuGroups[0]'],
  ['domain of an unknown level', 'levels: [leaf]\nnodes: [{name: a, gpus: 1, domains: {spine: s}}]\n', 'nodes[0].domains.spine'],
  ['duplicate node', 'nodes: [{name: a, gpus: 1}, {name: a, gpus: 1}]\n', 'nodes[1].name'],
  ['nesting', 'levels: [leaf, spine]\nnodes:\n  - {name: a, gpus: 1, domains: {leaf: l, spine: s1}}\n  - {name: b, gpus: 1, domains: {leaf: l, spine: s2}}\n', 'nodes[1].domains.spine'],
];

t.test('bad cluster files name the field', async (t) => {
  for (const [label, text, field] of bad) {
    try {
      loadClusterText(text);
      t.fail(`${label}: accepted`);
    } catch (e) {
      t.ok(e instanceof InvalidArgumentError, label);
      t.equal((e as InvalidArgumentError).field, field, `${label}: ${(e as Error).message}`);
    }
  }
});
