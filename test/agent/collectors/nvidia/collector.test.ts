import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ParseError, ProbeFailedError, ProbeTimeoutError } from '../../../../shared/errors/index.js';
import { createNvidiaCollector, createProbeRunner } from '../../../../agent/collectors/index.js';
import { parseNvidiaSmiXml } from '../../../../agent/core/index.js';
import { localFixtures, read, fixture, standInNvidiaSmi } from '../fixtures.js';

const H100_XML = join(localFixtures, 'nvidia/qx-h100.xml');
const GB200_XML = join(localFixtures, 'nvidia/qx-gb200.xml');
const H100_TOPO = join(localFixtures, 'nvidia/derived/topo-m-h100x8.txt');
const H100_TOPO_REAL = join(localFixtures, 'nvidia/topo-m-h100-1gpu.txt');

function simEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('GANTRY_SIM_')) delete env[k];
  return { ...env, ...extra };
}

/** Full probe (-q -x, topo -m, nvlink -s) or, to keep the suite quick, -q -x only. */
function collector(extra: Record<string, string>, full = true) {
  return createNvidiaCollector({
    binaryPath: standInNvidiaSmi,
    timeoutMs: 10_000,
    env: simEnv(extra),
    runner: createProbeRunner(),
    topology: full,
    nvlinkStatus: full,
  });
}

// That every copied capture is byte for byte its source: test/repo/standalone.test.ts (fixtures/SHA256SUMS).
t.test('the 1-GPU topo -m text is a verbatim excerpt of the exporter capture', async (t) => {
  const section = read(fixture('nvidia_gpu_exporter', 'linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt'));
  t.ok(section.includes(read(H100_TOPO_REAL)), 'topo -m text is a verbatim excerpt');
});

t.test('H100 node through the stand-in: inventory, NUMA, link groups', async (t) => {
  const probe = await collector({ GANTRY_SIM_NVIDIA_XML: H100_XML, GANTRY_SIM_NVIDIA_TOPO: H100_TOPO }).probe();
  const direct = parseNvidiaSmiXml(read(H100_XML));
  t.equal(probe.vendor, 'nvidia');
  t.equal(probe.gpus.length, 8);
  t.same(
    probe.gpus.map((g) => g.uuid),
    direct.gpus.map((g) => g.uuid),
    'no GANTRY_SIM_NODE: identities as captured',
  );
  t.equal(probe.firmware.driverVersion, '580.105.08');
  t.equal(probe.fabric?.trusted, false);
  t.same(probe.linkMatrix.devices, ['GPU0', 'GPU1', 'GPU2', 'GPU3', 'GPU4', 'GPU5', 'GPU6', 'GPU7']);
  t.same(probe.gpus[0]?.linkRow, ['X', 'NV18', 'NV18', 'NV18', 'NV18', 'NV18', 'NV18', 'NV18']);
  t.same(probe.gpus.map((g) => g.numaNode), [0, 0, 0, 0, 1, 1, 1, 1]);
  t.same(probe.linkGroups, [
    { kind: 'nvlink', gpus: [0, 1, 2, 3, 4, 5, 6, 7] },
    { kind: 'numa', gpus: [0, 1, 2, 3] },
    { kind: 'numa', gpus: [4, 5, 6, 7] },
  ]);
  t.same(probe.warnings, []);
  t.equal(probe.samples.length, 8);
  t.same(probe.nvlink, [], 'no nvlink capture: the stand-in says no NVLink');
});

t.test('nvlink -s through the stand-in', async (t) => {
  const p = await collector({
    GANTRY_SIM_NVIDIA_XML: H100_XML,
    GANTRY_SIM_NVIDIA_NVLINK: fixture('azurehpc-health-checks', 'bad_nvlink_status.txt'),
  }).probe();
  t.same(p.linkMatrix, { devices: [], rows: [] }, 'no topo capture: empty matrix');
  t.match(p.warnings.join('\n'), /topo -m/, 'no topo capture: a warning, not a failure');
  t.equal(p.nvlink?.length, 1);
  t.equal(p.nvlink?.[0]?.allInactive, true);
});

t.test('GANTRY_SIM_NODE gives each node its own, stable GPU identities', async (t) => {
  const a1 = await collector({ GANTRY_SIM_NVIDIA_XML: H100_XML, GANTRY_SIM_NODE: 'node-a' }).probe();
  const a2 = await collector({ GANTRY_SIM_NVIDIA_XML: H100_XML, GANTRY_SIM_NODE: 'node-a' }, false).probe();
  const b = await collector({ GANTRY_SIM_NVIDIA_XML: H100_XML, GANTRY_SIM_NODE: 'node-b' }, false).probe();
  const uuids = (p: typeof a1) => p.gpus.map((g) => g.uuid);
  t.same(uuids(a1), uuids(a2), 'deterministic');
  t.equal(new Set([...uuids(a1), ...uuids(b)]).size, 16, 'all distinct across nodes');
  for (const g of a1.gpus) {
    t.match(g.uuid, /^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    t.match(g.serial, /^\d{13}$/);
  }
  t.not(a1.gpus[0]?.serial, b.gpus[0]?.serial);
});

t.test('GB200 through the stand-in: trusted NVLink domain, rack override', async (t) => {
  const p = await collector({ GANTRY_SIM_NVIDIA_XML: GB200_XML, GANTRY_SIM_NODE: 'tray-1' }, false).probe();
  t.equal(p.fabric?.trusted, true);
  t.ok(p.gpus.every((g) => g.nvlinkDomain === `${p.fabric?.clusterUuid}/2`));
  const q = await collector({
    GANTRY_SIM_NVIDIA_XML: GB200_XML,
    GANTRY_SIM_CLUSTER_UUID: '0000000a-0000-0000-0000-00000000000a',
    GANTRY_SIM_CLIQUE_ID: '7',
  }, false).probe();
  t.ok(q.gpus.every((g) => g.nvlinkDomain === '0000000a-0000-0000-0000-00000000000a/7'));
});

t.test('found on PATH by name', async (t) => {
  const env = simEnv({ GANTRY_SIM_NVIDIA_XML: H100_XML });
  env['PATH'] = `${dirname(standInNvidiaSmi)}:${process.env['PATH'] ?? ''}`;
  const p = await createNvidiaCollector({ timeoutMs: 10_000, env, runner: createProbeRunner(), topology: false }).probe();
  t.equal(p.gpus.length, 8);
});

t.test('bad-input modes give the right errors', async (t) => {
  const cases: Array<{ mode: string; error: new (...a: never[]) => Error; message: RegExp; exitCode?: number }> = [
    { mode: 'garbage', error: ParseError, message: /malformed XML/ },
    { mode: 'stderr', error: ProbeFailedError, message: /Failed to initialize NVML/, exitCode: 0 },
    { mode: 'exit15', error: ProbeFailedError, message: /GPU is lost/, exitCode: 15 },
  ];
  for (const c of cases) {
    const err = await collector({ GANTRY_SIM_NVIDIA_XML: H100_XML, GANTRY_SIM_MODE: c.mode }, false)
      .probe()
      .catch((e) => e);
    t.ok(err instanceof c.error, `${c.mode}: ${err?.constructor?.name}`);
    t.match(String(err?.message), c.message, `${c.mode} message`);
    if (c.exitCode !== undefined) t.equal((err as ProbeFailedError).exitCode, c.exitCode, `${c.mode} exit code`);
  }
});

t.test('a hung nvidia-smi is killed by the timeout with nothing left behind', async (t) => {
  let pgid = 0;
  const base = createProbeRunner();
  const runner = {
    busyKinds: () => base.busyKinds(),
    run: (cmd: string, args: readonly string[], o: Parameters<typeof base.run>[2]) =>
      base.run(cmd, args, {
        ...o,
        onSpawn: (pid) => {
          pgid = pid;
        },
      }),
  };
  const c = createNvidiaCollector({
    binaryPath: standInNvidiaSmi,
    timeoutMs: 1000,
    env: simEnv({ GANTRY_SIM_NVIDIA_XML: H100_XML, GANTRY_SIM_MODE: 'hang' }),
    runner,
  });
  const err = await c.probe().catch((e) => e);
  t.ok(err instanceof ProbeTimeoutError, 'ProbeTimeoutError');
  t.ok(pgid > 0);
  const until = Date.now() + 5000;
  let alive = true;
  while (alive && Date.now() < until) {
    try {
      process.kill(-pgid, 0);
      await new Promise((r) => setTimeout(r, 20));
    } catch {
      alive = false;
    }
  }
  t.notOk(alive, 'stand-in and its child are gone');
});

t.test('GANTRY_SIM_MODE_FILE switches modes between calls', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-sim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const modeFile = join(dir, 'mode');
  const c = collector({ GANTRY_SIM_NVIDIA_XML: H100_XML, GANTRY_SIM_MODE_FILE: modeFile }, false);
  t.equal((await c.probe()).gpus.length, 8, 'no file yet: ok');
  writeFileSync(modeFile, 'exit15\n');
  t.ok((await c.probe().catch((e) => e)) instanceof ProbeFailedError, 'exit15 now');
  writeFileSync(modeFile, '');
  t.equal((await c.probe()).gpus.length, 8, 'empty file: back to ok');
});

t.test('no capture configured: the driver-missing message, exit 9', async (t) => {
  const err = await collector({}, false).probe().catch((e) => e);
  t.ok(err instanceof ProbeFailedError);
  t.equal((err as ProbeFailedError).exitCode, 9);
  t.match(String(err.message), /couldn't communicate with the NVIDIA driver/);
});
