import t from 'tap';
import { hostname } from 'node:os';
import { createHostCollector, toHostInfo } from '../../../../agent/collectors/index.js';

t.test('toHostInfo maps and cleans placeholders', async (t) => {
  // Values as on the Dell PowerEdge XE9680 of gpud/dmidecode.
  const h = toHostInfo({
    cpu: { manufacturer: 'Intel', brand: 'Xeon(R) Platinum 8480+', cores: 224 },
    mem: { total: 2 * 1024 ** 4 },
    os: { hostname: 'gpu-1', distro: 'Ubuntu', release: '22.04.4 LTS', kernel: '5.15.0-105-generic', arch: 'x64' },
    bios: { vendor: 'Dell Inc.', version: '2.2.7', releaseDate: '2024-06-12' },
    baseboard: { manufacturer: 'Dell Inc.', model: '0FRPXR' },
    system: { manufacturer: 'Dell Inc.', model: 'PowerEdge XE9680', serial: 'To Be Filled By O.E.M.' },
    numaNodes: 2,
  });
  t.equal(h.cpuModel, 'Intel Xeon(R) Platinum 8480+');
  t.equal(h.os, 'Ubuntu 22.04.4 LTS');
  t.equal(h.baseboard, 'Dell Inc. 0FRPXR');
  t.equal(h.systemSerial, '', 'placeholder serial dropped');
  t.equal(h.numaNodes, 2);
});

t.test('probes this machine', async (t) => {
  const h = await createHostCollector({ timeoutMs: 30_000 }).probe();
  t.equal(h.hostname, hostname());
  t.ok(h.cpuCores > 0);
  t.ok(h.memoryBytes > 0);
  t.ok(h.kernel.length > 0);
});
