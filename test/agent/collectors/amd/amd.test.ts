import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ParseError } from '../../../../shared/errors/index.js';
import { readKfdTopology } from '../../../../agent/collectors/index.js';
import { parseRocmSmiJson, renderMinorOf } from '../../../../agent/core/index.js';
import { read, fixture } from '../fixtures.js';

const jsons = readdirSync(fixture('telegraf')).filter((f) => f.endsWith('.json'));

for (const f of jsons) {
  t.test(`rocm-smi ${f}`, async (t) => {
    const text = read(fixture('telegraf', f));
    const doc = JSON.parse(text) as Record<string, Record<string, string>>;
    const cards = Object.keys(doc).filter((k) => /^card\d+$/.test(k));
    const r = parseRocmSmiJson(text);
    t.equal(r.gpus.length, cards.length);
    t.equal(r.firmware.driverVersion, doc['system']?.['Driver version'] ?? '');
    r.gpus.forEach((g, i) => {
      const c = doc[cards[i] ?? ''] ?? {};
      t.equal(g.vendor, 'amd');
      t.equal(g.pciBusId, (c['PCI Bus'] ?? '').toUpperCase());
      t.equal(g.memoryMiB, Math.round(Number(c['VRAM Total Memory (B)']) / 1024 ** 2));
      t.equal(g.vbiosVersion, c['VBIOS version']);
      t.ok(g.name.length > 0, 'has a name');
    });
  });
}

t.test('MI100: link types, readings', async (t) => {
  const r = parseRocmSmiJson(read(fixture('telegraf', 'mi100_rocm571.json')));
  t.equal(r.gpus.length, 6);
  t.equal(r.gpus[0]?.name, 'Arcturus GL-XL [Instinct MI100]');
  t.equal(r.linkMatrix.devices.length, 6);
  t.equal(r.linkMatrix.rows[0]?.[1], 'PCIE');
  t.equal(r.samples[0]?.temperatureCelsius, 31);
  t.equal(r.samples[0]?.powerWatts, 39);
  t.equal(r.samples[0]?.pcie.currentGen, 3);
  t.equal(r.samples[0]?.pcie.currentWidth, 16);
  t.equal(r.gpus[0]?.numaNode, 0);
});

t.test('bad rocm-smi output is a ParseError', async (t) => {
  t.throws(() => parseRocmSmiJson('WARNING: AMD GPU device(s) is/are in a low-power state'), ParseError);
  t.throws(() => parseRocmSmiJson('[1,2]'), ParseError);
});

t.test('KFD topology: MI210 with two XGMI hives', async (t) => {
  const topo = await readKfdTopology({ root: fixture('k8s-device-plugin-rocm', 'topo-mi210-xgmi-pcie') });
  const gpus = topo.nodes.filter((n) => n.isGpu);
  t.equal(gpus.length, 8);
  t.equal(topo.nodes.filter((n) => !n.isGpu).length, 2);
  t.same(topo.linkGroups, [
    { kind: 'nvlink', gpus: [0, 1, 2, 3] },
    { kind: 'nvlink', gpus: [4, 5, 6, 7] },
    { kind: 'numa', gpus: [0, 1, 2, 3] },
    { kind: 'numa', gpus: [4, 5, 6, 7] },
  ]);
  t.same(topo.linkMatrix.rows[0], ['X', 'XGMI', 'XGMI', 'XGMI', 'PCIE', 'PCIE', 'PCIE', 'PCIE']);
  t.equal(gpus[0]?.pciBusId, '0000:63:00.0');
  t.ok(gpus[0]?.hiveId);
});

t.test('KFD topology: single-GPU capture (topology-parsing)', async (t) => {
  const topo = await readKfdTopology({ root: fixture('k8s-device-plugin-rocm', 'topology-parsing', 'topology') });
  t.ok(topo.nodes.filter((n) => n.isGpu).length >= 1);
  t.same(topo.linkGroups.filter((g) => g.kind === 'nvlink'), []);
});

t.test('KFD topology: each GPU node\'s render minor (renderD<minor>, what a rank may open) is its drm_render_minor', async (t) => {
  const root = fixture('k8s-device-plugin-rocm', 'topo-mi210-xgmi-pcie');
  const topo = await readKfdTopology({ root });
  for (const n of topo.nodes) {
    const line = readFileSync(path.join(root, 'nodes', String(n.id), 'properties'), 'utf8').split('\n').find((l) => l.startsWith('drm_render_minor '));
    const inFile = Number(line?.split(' ')[1]);
    t.equal(renderMinorOf(n), n.isGpu ? inFile : null, `node ${n.id} (${n.isGpu ? `GPU ${n.gpuIndex}` : 'CPU'}): ${line}`);
  }
  t.ok(topo.nodes.filter((n) => n.isGpu).every((n) => (renderMinorOf(n) ?? 0) >= 128), 'render minors start at 128');
});
