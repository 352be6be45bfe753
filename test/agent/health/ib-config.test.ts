/**
 * The agent's health.ib keys (agent/config.ts) reach the InfiniBand rule and change its verdicts,
 * read from the real H100 sysfs tree (fixtures/gpud/sys-class-infiniband-h100.0: eight InfiniBand
 * HCAs ACTIVE at 400 Gb/s, one Ethernet (RoCE) bond ACTIVE at 200). Bad values are refused naming the key.
 */
import t from 'tap';
import { agentConfigFrom, refusedConfigCases } from './config-refusals.js';
import { healthConfigOf } from '../../../agent/main.js';
import { readInfiniband } from '../../../agent/collectors/index.js';
import { createHealthEvaluator } from '../../../agent/health/index.js';
import { fixture } from '../collectors/fixtures.js';

const config = agentConfigFrom;

async function verdicts(sets: string[]): Promise<string[]> {
  const hcas = await readInfiniband({ root: fixture('gpud', 'sys-class-infiniband-h100.0') });
  const ev = createHealthEvaluator({ config: healthConfigOf(config(sets)) });
  return ev
    .evaluate({ hcas }, 1_000)
    .verdicts.map((v) => `${v.check}:${v.severity}:${v.evidence}`)
    .sort();
}

t.test('defaults: InfiniBand ports only, no rate check', async (t) => {
  const c = config([]);
  t.same(c.health.ib, { devices: [], linkLayers: ['InfiniBand'], minRateGbps: 0 });
  t.same(await verdicts([]), [], 'all ACTIVE: nothing');
  t.same(await verdicts(['health.ib.minRateGbps=400']), [], 'the 200 Gb/s bond is Ethernet, not watched by default');
});

t.test('linkLayers with Ethernet watches the RoCE bond: its 200 Gb/s is below minRateGbps', async (t) => {
  t.same(await verdicts(['health.ib.minRateGbps=400', 'health.ib.linkLayers=[InfiniBand, Ethernet]']), ['infiniband:warn:mlx5_bond_0 port 1 at 200 Gb/s, expected 400']);
});

t.test('minRateGbps above the links rate warns on every watched port; devices narrows it', async (t) => {
  const all = await verdicts(['health.ib.minRateGbps=800']);
  t.equal(all.length, 8, 'the eight InfiniBand HCAs');
  t.ok(all.every((v) => /^infiniband:warn:mlx5_\d port 1 at 400 Gb\/s, expected 800$/.test(v)), 'rate warnings', { all });
  t.same(await verdicts(['health.ib.minRateGbps=800', 'health.ib.devices=[mlx5_0, mlx5_9]']), ['infiniband:warn:mlx5_0 port 1 at 400 Gb/s, expected 800', 'infiniband:warn:mlx5_9 port 1 at 400 Gb/s, expected 800']);
});

const bad: Array<[string, string, RegExp]> = [
  ['negative rate', 'health.ib.minRateGbps=-1', /config health\.ib\.minRateGbps: /],
  ['rate not a number', 'health.ib.minRateGbps=fast', /config health\.ib\.minRateGbps: /],
  ['unknown link layer', 'health.ib.linkLayers=[Infiniband]', /config health\.ib\.linkLayers\[0\]: /],
  ['no link layer', 'health.ib.linkLayers=[]', /config health\.ib\.linkLayers: /],
  ['bad HCA name', 'health.ib.devices=[mlx5 0]', /config health\.ib\.devices\[0\]: .*HCA name/],
  ['unknown key', 'health.ib.rate=400', /config health\.ib\.rate: unknown key/],
];
refusedConfigCases(bad);
