/** Device rules of a rank (pure), table-driven over hand-built nodes: an 8-GPU NVIDIA node with RDMA, an AMD node. */
import t from 'tap';
import { BASELINE_RULES, deviceRuleError, deviceRules, formatDeviceRule, splitDeviceNumber, type DeviceFile } from '../../../../agent/runner/cgroup/devices.js';

const c = (path: string, major: number, minor: number): DeviceFile => ({ path, type: 'c', major, minor });

/** An 8-GPU NVIDIA node whose minors are not its indexes' order, with IMEX and two HCAs. */
const NVIDIA_NODE: DeviceFile[] = [
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((m) => c(`/dev/nvidia${m}`, 195, m)),
  c('/dev/nvidiactl', 195, 255),
  c('/dev/nvidia-modeset', 195, 254),
  c('/dev/nvidia-uvm', 508, 0),
  c('/dev/nvidia-uvm-tools', 508, 1),
  c('/dev/nvidia-caps/nvidia-cap1', 237, 1),
  c('/dev/nvidia-caps/nvidia-cap2', 237, 2),
  c('/dev/nvidia-caps/nvidia-cap21', 237, 21),
  c('/dev/nvidia-caps-imex-channels/channel0', 234, 0),
  c('/dev/infiniband/uverbs0', 231, 192),
  c('/dev/infiniband/uverbs1', 231, 193),
  c('/dev/infiniband/rdma_cm', 10, 58),
  c('/dev/infiniband/umad0', 231, 0),
  c('/dev/infiniband/issm0', 231, 64),
  c('/dev/fuse', 10, 229),
  c('/dev/null', 1, 3),
];

const AMD_NODE: DeviceFile[] = [
  c('/dev/kfd', 235, 0),
  ...[128, 129, 130, 131].map((m) => c(`/dev/dri/renderD${m}`, 226, m)),
  c('/dev/dri/card0', 226, 0),
  c('/dev/infiniband/uverbs0', 231, 192),
  c('/dev/infiniband/rdma_cm', 10, 58),
];

const baseline = BASELINE_RULES.map(formatDeviceRule);
const RDMA = ['c:231:192:rw', 'c:231:193:rw', 'c:10:58:rw'];

const cases: Array<{ name: string; node: DeviceFile[]; nvidia?: number[]; amd?: number[]; extra?: string[]; rules: string[]; missing?: string[] }> = [
  {
    name: 'a rank without GPUs: the baseline and RDMA, no GPU device at all',
    node: NVIDIA_NODE,
    rules: [...baseline, ...RDMA],
  },
  {
    name: 'NVIDIA GPUs with minors 5 and 2: their files, ctl, uvm, uvm-tools, cap2 read-only, IMEX, RDMA',
    node: NVIDIA_NODE,
    nvidia: [5, 2],
    rules: [...baseline, 'c:195:5:rw', 'c:195:2:rw', 'c:195:255:rw', 'c:508:0:rw', 'c:508:1:rw', 'c:237:2:r', 'c:234:0:rw', ...RDMA],
  },
  {
    name: 'a GPU whose device file is missing is reported, the rest still made',
    node: NVIDIA_NODE,
    nvidia: [0, 9],
    rules: [...baseline, 'c:195:0:rw', 'c:195:255:rw', 'c:508:0:rw', 'c:508:1:rw', 'c:237:2:r', 'c:234:0:rw', ...RDMA],
    missing: ['/dev/nvidia9 (GPU minor 9)'],
  },
  {
    name: 'NVIDIA minors on a node without nvidiactl',
    node: [c('/dev/nvidia0', 195, 0)],
    nvidia: [0],
    rules: [...baseline, 'c:195:0:rw'],
    missing: ['/dev/nvidiactl'],
  },
  {
    name: 'AMD render minors 129 and 131: kfd and those render nodes, no card0, no other render node',
    node: AMD_NODE,
    amd: [131, 129],
    rules: [...baseline, 'c:226:131:rw', 'c:226:129:rw', 'c:235:0:rw', 'c:231:192:rw', 'c:10:58:rw'],
  },
  {
    name: 'AMD without /dev/kfd',
    node: AMD_NODE.filter((d) => d.path !== '/dev/kfd'),
    amd: [128],
    rules: [...baseline, 'c:226:128:rw', 'c:231:192:rw', 'c:10:58:rw'],
    missing: ['/dev/kfd'],
  },
  {
    name: 'extra paths: exact, a directory, and ones that are not there',
    node: NVIDIA_NODE,
    extra: ['/dev/fuse', '/dev/nvidia-caps/*', '/dev/nope', '/dev/empty/*'],
    rules: [...baseline, ...RDMA, 'c:10:229:rw', 'c:237:1:rw', 'c:237:2:rw', 'c:237:21:rw'],
    missing: ['/dev/nope (runner.extraDevicePaths: not a device file)', '/dev/empty/* (runner.extraDevicePaths: no device file there)'],
  },
  {
    name: 'an extra path already in the rules is merged, accesses united (cap2 r + rw)',
    node: NVIDIA_NODE,
    nvidia: [1],
    extra: ['/dev/nvidia-caps/nvidia-cap2', '/dev/null'],
    rules: [...baseline, 'c:195:1:rw', 'c:195:255:rw', 'c:508:0:rw', 'c:508:1:rw', 'c:237:2:rw', 'c:234:0:rw', ...RDMA],
  },
  {
    name: 'an extra pts device is covered by the 136:* wildcard',
    node: [c('/dev/pts/3', 136, 3)],
    extra: ['/dev/pts/3'],
    rules: [...baseline],
  },
  {
    name: 'a block device keeps its type',
    node: [{ path: '/dev/nvme0n1', type: 'b', major: 259, minor: 0 }],
    extra: ['/dev/nvme0n1'],
    rules: [...baseline, 'b:259:0:rw'],
  },
];

for (const k of cases) {
  t.test(k.name, async (t) => {
    const got = deviceRules(k.node, { nvidiaMinors: k.nvidia ?? [], amdRenderMinors: k.amd ?? [], extraPaths: k.extra ?? [] });
    t.same(got.rules.map(formatDeviceRule), k.rules);
    t.same(got.missing, k.missing ?? []);
    t.ok(got.rules.every((r) => deviceRuleError(r) === null), 'every rule well formed');
  });
}

t.test('never another GPU, modeset, cap1, umad or issm', async (t) => {
  const got = deviceRules(NVIDIA_NODE, { nvidiaMinors: [3], amdRenderMinors: [], extraPaths: [] }).rules.map(formatDeviceRule);
  for (const denied of ['c:195:0', 'c:195:4', 'c:195:254', 'c:237:1', 'c:237:21', 'c:231:0', 'c:231:64', 'c:10:229']) {
    t.notOk(got.some((r) => r.startsWith(`${denied}:`)), `${denied} denied`);
  }
});

t.test('rule well-formedness', async (t) => {
  const table: Array<[Parameters<typeof deviceRuleError>[0], RegExp | null]> = [
    [{ type: 'c', major: 1, minor: 3, access: 'rwm' }, null],
    [{ type: 'b', major: 8, minor: null, access: 'r' }, null],
    [{ type: 'x' as 'c', major: 1, minor: 3, access: 'r' }, /type "x"/],
    [{ type: 'c', major: -1, minor: 3, access: 'r' }, /major -1/],
    [{ type: 'c', major: 1.5, minor: 3, access: 'r' }, /major 1.5/],
    [{ type: 'c', major: 1, minor: 2 ** 32, access: 'r' }, /minor 4294967296/],
    [{ type: 'c', major: 1, minor: 3, access: '' }, /access ""/],
    [{ type: 'c', major: 1, minor: 3, access: 'rr' }, /access "rr"/],
    [{ type: 'c', major: 1, minor: 3, access: 'rx' }, /access "rx"/],
  ];
  for (const [rule, want] of table) {
    const got = deviceRuleError(rule);
    if (want === null) t.equal(got, null, formatDeviceRule(rule));
    else t.match(got, want, formatDeviceRule(rule));
  }
});

t.test('dev_t split as glibc does it', async (t) => {
  // makedev(maj, min) = (min & 0xff) | ((maj & 0xfff) << 8) | ((min & ~0xff) << 12) | ((maj & ~0xfff) << 32)
  const makedev = (maj: bigint, min: bigint): bigint => (min & 0xffn) | ((maj & 0xfffn) << 8n) | ((min & ~0xffn) << 12n) | ((maj & ~0xfffn) << 32n);
  for (const [maj, min] of [[1, 3], [195, 255], [508, 1], [259, 65536], [4095, 1048575], [5000, 300]] as const) {
    t.same(splitDeviceNumber(makedev(BigInt(maj), BigInt(min))), { major: maj, minor: min }, `${maj}:${min}`);
  }
});

t.test('config: runner.extraDevicePaths takes paths under /dev, names the key otherwise', async (t) => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { loadConfig } = await import('../../../../shared/config/index.js');
  const { agentConfigSchema, agentEnv } = await import('../../../../agent/config.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-devcfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const load = (runner: unknown) => () => {
    const file = path.join(dir, 'agent.yaml');
    writeFileSync(file, JSON.stringify({ runner }));
    return loadConfig(agentConfigSchema, { file, env: {}, envBindings: agentEnv, sets: [] });
  };
  t.same(load({})().runner.extraDevicePaths, [], 'default none');
  t.equal(load({})().runner.deviceHelperTimeoutMs, 5000);
  t.same(load({ extraDevicePaths: ['/dev/fuse', '/dev/vfio/*'] })().runner.extraDevicePaths, ['/dev/fuse', '/dev/vfio/*']);
  for (const bad of ['/etc/passwd', 'dev/fuse', '/dev/', '/dev/../etc/shadow']) {
    t.throws(load({ extraDevicePaths: [bad] }), /runner\.extraDevicePaths/, bad);
  }
  t.throws(load({ deviceHelperTimeoutMs: 10 }), /runner\.deviceHelperTimeoutMs/);
});

t.test('the request from GPU facts: minors, not indexes; unknown ones reported', async (t) => {
  const { rankDeviceRequest } = await import('../../../../agent/runner/cgroup/devices.js');
  const gpus = [
    { index: 0, vendor: 'nvidia', minorNumber: 3 },
    { index: 1, vendor: 'nvidia', minorNumber: null },
    { index: 2, vendor: 'nvidia' },
    { index: 3, vendor: 'amd', minorNumber: null },
    { index: 4, vendor: 'amd', minorNumber: null },
  ];
  t.same(rankDeviceRequest(gpus, [0, 1, 2, 3, 4, 9], ['/dev/fuse'], new Map([[3, 129]])), {
    request: { nvidiaMinors: [3], amdRenderMinors: [129], extraPaths: ['/dev/fuse'] },
    missing: [
      'GPU 1: minor number unknown (nvidia-smi reported none)',
      'GPU 2: minor number unknown (nvidia-smi reported none)',
      'GPU 4: render minor unknown',
      'GPU 9: not on this node',
    ],
  });
});
