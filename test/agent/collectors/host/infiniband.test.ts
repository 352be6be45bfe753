import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readInfiniband } from '../../../../agent/collectors/index.js';
import { parseIbstat, sysfsRateGbps, sysfsStateName } from '../../../../agent/core/index.js';
import { derivedFixtures, read, fixture } from '../fixtures.js';

t.test('sysfs tree of an H100 node', async (t) => {
  const root = fixture('gpud', 'sys-class-infiniband-h100.0');
  const hcas = await readInfiniband({ root });
  t.same(hcas.map((h) => h.name), readdirSync(root).sort());
  for (const h of hcas) {
    const dir = join(root, h.name);
    t.equal(h.hcaType, read(join(dir, 'hca_type')).trim());
    t.equal(h.firmwareVersion, read(join(dir, 'fw_ver')).trim());
    t.equal(h.boardId, read(join(dir, 'board_id')).trim());
    t.equal(h.ports.length, 1);
    t.equal(h.ports[0]?.state, 'ACTIVE');
    t.equal(h.ports[0]?.physState, 'LinkUp');
    t.equal(h.ports[0]?.rateGbps, Number(/^(\d+)/.exec(read(join(dir, 'ports/1/rate')))?.[1]));
    t.equal(h.ports[0]?.linkLayer, read(join(dir, 'ports/1/link_layer')).trim());
  }
  t.equal(hcas.find((h) => h.name === 'mlx5_bond_0')?.ports[0]?.linkLayer, 'Ethernet');
});

t.test('derived degraded tree', async (t) => {
  const hcas = await readInfiniband({ root: join(derivedFixtures, 'sys-class-infiniband-h100-degraded') });
  t.same(
    hcas.map((h) => [h.name, h.ports[0]?.state, h.ports[0]?.rateGbps]),
    [
      ['mlx5_0', 'ACTIVE', 400],
      ['mlx5_1', 'ACTIVE', 200],
      ['mlx5_4', 'DOWN', 400],
    ],
  );
});

t.test('absent root: no HCAs', async (t) => {
  t.same(await readInfiniband({ root: '/nonexistent/infiniband' }), []);
});

t.test('value parsers', async (t) => {
  t.equal(sysfsStateName('4: ACTIVE'), 'ACTIVE');
  t.equal(sysfsStateName('5: LinkUp\n'), 'LinkUp');
  t.equal(sysfsRateGbps('400 Gb/sec (4X NDR)'), 400);
  t.equal(sysfsRateGbps('2.5 Gb/sec (1X SDR)'), 2.5);
  t.equal(sysfsRateGbps(''), 0);
});

const ibstats = readdirSync(fixture('gpud')).filter((f) => f.startsWith('ibstat.'));
for (const f of ibstats) {
  t.test(`ibstat ${f}`, async (t) => {
    const text = read(fixture('gpud', f));
    const hcas = parseIbstat(text);
    t.equal(hcas.length, (text.match(/^CA '/gm) ?? []).length, 'CAs');
    const states = [...text.matchAll(/^\s+State: (\w+)/gm)].map((m) => (m[1] ?? '').toUpperCase());
    t.same(hcas.flatMap((h) => h.ports.map((p) => p.state)), states, 'port states');
    const rates = [...text.matchAll(/^\s+Rate: (\d+)/gm)].map((m) => Number(m[1]));
    t.same(hcas.flatMap((h) => h.ports.map((p) => p.rateGbps)), rates, 'rates');
  });
}
