import t from 'tap';
import { hostname } from 'node:os';
import { createHostCollector, createProbeRunner } from '../../../../agent/collectors/index.js';
import { parseHostFactsJson, toHostInfo } from '../../../../agent/core/index.js';
import { ParseError, ProbeTimeoutError } from '../../../../shared/errors/index.js';

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

t.test('the host probe runs systeminformation in a child process, not in the agent', async (t) => {
  const calls: string[][] = [];
  const base = createProbeRunner();
  const runner = {
    busyKinds: () => base.busyKinds(),
    run: (cmd: string, args: readonly string[], o: Parameters<typeof base.run>[2]) => {
      calls.push([cmd, ...args]);
      return base.run(cmd, args, o);
    },
  };
  const h = await createHostCollector({ timeoutMs: 30_000, runner }).probe();
  t.equal(h.hostname, hostname());
  t.equal(calls.length, 1);
  t.equal(calls[0]![0], process.execPath, 'a Node child');
  t.match(calls[0]!.at(-1), /systeminformation/);
  t.notOk(Object.keys(await import('node:module').then((m) => m.createRequire(import.meta.url).cache)).some((k) => k.includes('/systeminformation/')), 'not loaded here');
});

t.test('a host probe that overruns is killed: ProbeTimeoutError', async (t) => {
  const base = createProbeRunner();
  // The child's script is replaced by one that never ends, as a wedged dmidecode would.
  const runner = {
    busyKinds: () => base.busyKinds(),
    run: (cmd: string, args: readonly string[], o: Parameters<typeof base.run>[2]) =>
      base.run(cmd, ['-e', 'setInterval(() => {}, 1 << 30)'], o),
  };
  const err = await createHostCollector({ timeoutMs: 500, runner }).probe().catch((e: unknown) => e);
  t.ok(err instanceof ProbeTimeoutError, String(err));
});

t.test('parseHostFactsJson: the fields the mapping reads; anything else is a ParseError', async (t) => {
  const f = parseHostFactsJson(
    JSON.stringify({
      cpu: { manufacturer: 'Intel', brand: 'Xeon', cores: 8, extra: 1 },
      mem: { total: 1024 },
      os: { hostname: 'h', distro: 'Debian', release: '12', kernel: '6.1', arch: 'x64' },
      bios: { vendor: 'v', version: '1', releaseDate: '2024' },
      baseboard: { manufacturer: 'm', model: 'b' },
      system: { manufacturer: 's', model: 'x', serial: '42' },
    }),
    2,
  );
  t.same(f.cpu, { manufacturer: 'Intel', brand: 'Xeon', cores: 8 });
  t.equal(f.numaNodes, 2);
  for (const bad of ['', 'not json', '{"cpu":{}}', 'null']) {
    try {
      parseHostFactsJson(bad, 0);
      t.fail(`accepted ${JSON.stringify(bad)}`);
    } catch (e) {
      t.ok(e instanceof ParseError, `${JSON.stringify(bad)}: ParseError`);
    }
  }
});
