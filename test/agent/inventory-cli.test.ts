/**
 * `gantry agent inventory [--json]` as a real child process: the stand-in nvidia-smi serves real
 * captures, the kernel log and /sys/class/infiniband come from real captures too. Expected values
 * are read from the capture files by this test, not by the agent's parser.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { GPU_LOST_CHECK, IB_CHECK, NVLINK_CHECK, PROBE_CHECK, XID_CHECK } from '../../agent/health/index.js';
import { H100_TOPO, H100_XML } from '../harness/cluster.js';
import {
  DERIVED,
  FIXTURES,
  SIM_NVIDIA_SMI,
  marker,
  onGpu,
  processesWithMarker,
  readCapture,
  realXidLine,
  runCli,
  simUuid,
  type CliResult,
} from './sim.js';

interface Verdict {
  check: string;
  severity: string;
  gpu?: number;
  evidence: string;
}

interface InventoryDoc {
  node: { name: string; hostname: string };
  gpus: Array<{ index: number; uuid: string; name: string; vendor: string; pciBusId: string; memoryMiB: number }>;
  firmware: { driver: string; cuda: string; driverVersion: string; cudaVersion: string; hcas: Array<{ name: string; firmwareVersion: string }> };
  topology: { linkMatrix: { devices: string[]; rows: string[][] }; linkGroups: unknown[]; domains: Record<string, string> };
  hcas: Array<{ name: string }>;
  health: Verdict[];
  jobFindings: Array<{ check: string; gpu?: number; pid?: number; processName?: string }>;
  collectors: Array<{ collector: string; error?: string }>;
}

const h100 = readCapture(H100_XML);
const IB_ROOT = path.join(FIXTURES, 'gpud', 'sys-class-infiniband-h100.0');
const REAL_DMESG = path.join(FIXTURES, 'gpud', 'dmesg-with-xid-119.log');
const DERIVED_DMESG = path.join(DERIVED, 'dmesg-xid-classes.txt');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'gantry-inventory-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

// A kernel log made of real XID lines, pointed at GPUs of the H100 capture: the real XID 119 (GSP
// timeout) on GPU 5, the XID 79 (fallen off the bus) on GPU 0 and the application XID 13 on GPU 2.
const XID119_GPU = 5;
const XID79_GPU = 0;
const XID13_GPU = 2;
const kernelLog = path.join(tmp, 'dmesg.txt');
writeFileSync(
  kernelLog,
  [
    onGpu(realXidLine(REAL_DMESG, 119), h100.gpus[XID119_GPU]!.busId),
    onGpu(realXidLine(DERIVED_DMESG, 79), h100.gpus[XID79_GPU]!.busId),
    onGpu(realXidLine(DERIVED_DMESG, 13), h100.gpus[XID13_GPU]!.busId),
    '',
  ].join('\n'),
);
const emptyLog = path.join(tmp, 'empty.txt');
writeFileSync(emptyLog, '');

const mark = marker();
/** The failure-mode runs carry their own marker, so leftovers of theirs can be told apart. */
const failMark = marker();

/** At most this many inventory runs at once: every run is a CLI process plus three stand-in processes. */
let running = 0;
const waiting: Array<() => void> = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= 3) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function inventoryArgs(node: string, extra: string[] = []): string[] {
  return [
    'agent', 'inventory', '--json',
    '--node-name', node,
    '--nvidia-smi', SIM_NVIDIA_SMI,
    '--set', `collectors.kernelLog.path=${kernelLog}`,
    '--set', `collectors.infiniband.root=${IB_ROOT}`,
    ...extra,
  ];
}

function simEnv(node: string, env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { GANTRY_SIM_NVIDIA_XML: h100.path, GANTRY_SIM_NVIDIA_TOPO: H100_TOPO, GANTRY_SIM_NODE: node, [mark.name]: mark.value, ...env };
}

/** Starts a run now (bounded), so the subtests below overlap their child processes. */
function start(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return limited(() => runCli(t, args, env));
}

const quiet = ['--set', `collectors.kernelLog.path=${emptyLog}`, '--set', 'collectors.host.enabled=false'];
const FAIL_MODES = [
  { mode: 'exit15', severity: 'fail', evidence: /exited with code 15/ },
  { mode: 'stderr', severity: 'fail', evidence: /no XML in output: Failed to initialize NVML/ },
  { mode: 'garbage', severity: 'warn', evidence: /cannot parse/ },
  { mode: 'hang', severity: 'fail', evidence: /did not finish within 500 ms/ },
];
const BAD_NVLINK = path.join(FIXTURES, 'azurehpc-health-checks', 'bad_nvlink_status.txt');
const DEGRADED_IB = path.join(DERIVED, 'sys-class-infiniband-h100-degraded');
const runs = {
  a: start(inventoryArgs('node-a'), simEnv('node-a')),
  b: start(inventoryArgs('node-b', ['--set', 'collectors.host.enabled=false']), simEnv('node-b')),
  human: start(
    inventoryArgs('node-a', ['--set', 'collectors.host.enabled=false']).filter((a) => a !== '--json'),
    simEnv('node-a'),
  ),
  // Only the hang gets a short limit: the stand-in is a Node script and may take a while to answer on a busy machine.
  failures: FAIL_MODES.map((m) =>
    start(
      inventoryArgs('node-a', ['--set', `collectors.nvidia.timeoutMs=${m.mode === 'hang' ? 500 : 10_000}`, ...quiet]),
      simEnv('node-a', { GANTRY_SIM_MODE: m.mode, [failMark.name]: failMark.value }),
    ),
  ),
  nvlink: start(inventoryArgs('node-a', quiet), simEnv('node-a', { GANTRY_SIM_NVIDIA_NVLINK: BAD_NVLINK })),
  ib: start(inventoryArgs('node-a', [...quiet, '--set', `collectors.infiniband.root=${DEGRADED_IB}`]), simEnv('node-a')),
  usage: start(['agent', 'inventory', '--json', '--no-such-flag'], simEnv('node-a')),
};

function parse(t: Test, r: CliResult): InventoryDoc {
  try {
    return JSON.parse(r.stdout) as InventoryDoc;
  } catch (e) {
    t.fail(`stdout is not JSON (${(e as Error).message}); exit ${r.code}; stderr:\n${r.stderr}`);
    throw e;
  }
}

t.test('inventory --json of 8 simulated H100s: the issue contract, values from the capture', async (t) => {
  const [a, b] = await Promise.all([runs.a, runs.b]);
  t.equal(a.code, 0, `exit 0 when every collector ran (signal ${a.signal}, stderr: ${a.stderr})`);
  t.equal(b.code, 0, `exit 0 for the second node too (signal ${b.signal}, stderr: ${b.stderr})`);
  const docA = parse(t, a);
  const docB = parse(t, b);

  for (const key of ['node', 'gpus', 'firmware', 'topology', 'health']) t.ok(key in docA, `top-level key ${key}`);
  t.equal(docA.node.name, 'node-a', 'node.name is the configured node name');

  t.equal(docA.gpus.length, h100.gpus.length, `GPU count from the capture (${h100.gpus.length})`);
  for (const [i, g] of docA.gpus.entries()) {
    const c = h100.gpus[i]!;
    t.equal(g.index, i, `gpu ${i}: index`);
    t.equal(g.name, c.name, `gpu ${i}: name from the capture`);
    t.equal(g.vendor, 'nvidia', `gpu ${i}: vendor`);
    t.equal(g.pciBusId.toUpperCase(), c.busId.toUpperCase(), `gpu ${i}: PCI bus id from the capture`);
    t.equal(g.uuid, simUuid('node-a', i), `gpu ${i}: UUID rewritten for node-a`);
    t.not(g.uuid, c.uuid, `gpu ${i}: not the capture's own UUID`);
  }
  const uuidsA = docA.gpus.map((g) => g.uuid);
  const uuidsB = docB.gpus.map((g) => g.uuid);
  t.equal(new Set(uuidsA).size, uuidsA.length, 'UUIDs are distinct within a node');
  t.same(uuidsB, h100.gpus.map((g) => simUuid('node-b', g.index)), 'node-b: its own UUIDs');
  t.equal(uuidsA.filter((u) => uuidsB.includes(u)).length, 0, 'no UUID is shared between node-a and node-b');

  t.equal(docA.firmware.driver, h100.driver, `firmware.driver is the capture's driver (${h100.driver})`);
  t.equal(docA.firmware.cuda, h100.cuda, `firmware.cuda is the capture's CUDA version (${h100.cuda})`);
  t.equal(docA.firmware.driverVersion, h100.driver, 'firmware.driverVersion kept');
  const hcaDirs = readdirSync(IB_ROOT).sort();
  t.same(docA.hcas.map((h) => h.name), hcaDirs, 'every HCA under the sysfs capture');
  t.same(docA.firmware.hcas.map((h) => h.name), hcaDirs, 'HCA firmware listed under firmware');

  t.same(docA.topology.linkMatrix.devices, h100.gpus.map((g) => `GPU${g.index}`), 'topo -m: one matrix row per GPU');
  t.ok(docA.topology.linkGroups.length > 0, 'link groups derived');

  const xid = docA.health.filter((v) => v.check === XID_CHECK);
  t.ok(xid.some((v) => v.severity === 'fail' && v.gpu === XID119_GPU && /Xid 119/.test(v.evidence)), `XID 119 fails GPU ${XID119_GPU}`);
  t.ok(xid.some((v) => v.severity === 'fail' && v.gpu === XID79_GPU && /Xid 79/.test(v.evidence)), `XID 79 fails GPU ${XID79_GPU}`);
  t.equal(xid.length, 2, 'no XID verdict for the application XID 13, nor for GPUs without one');
  t.notOk(docA.health.some((v) => v.check === XID_CHECK && v.gpu === XID13_GPU), 'the XID 13 GPU is not failed');
  t.match(docA.jobFindings, [{ check: XID_CHECK, gpu: XID13_GPU, pid: 31337, processName: 'python3' }], 'XID 13 is a job finding for its GPU');
  t.same(docA.collectors.filter((c) => c.error), [], 'no collector failed');
});

t.test('human-readable inventory', async (t) => {
  const r = await runs.human;
  t.equal(r.code, 0, `exit 0 (signal ${r.signal}, stderr: ${r.stderr})`);
  t.match(r.stdout, new RegExp(`firmware\\s+driver ${h100.driver.replace(/\./g, '\\.')}\\s+cuda ${h100.cuda.replace(/\./g, '\\.')}`), 'driver and CUDA line');
  t.equal(r.stdout.split('\n').filter((l) => l.startsWith('gpu ')).length, h100.gpus.length, 'one line per GPU');
  t.match(r.stdout, new RegExp(`health\\s+fail xid gpu ${XID79_GPU} \\[evict, remedy reboot\\]: Xid 79`), 'the XID 79 verdict, with its action and remedy');
});

t.test('a failing collector: exit non-zero, the failure is a verdict, no process left behind', async (t) => {
  const modes = FAIL_MODES;
  const results = await Promise.all(runs.failures);
  for (const [i, m] of modes.entries()) {
    const r = results[i]!;
    t.not(r.code, 0, `${m.mode}: exit status non-zero (${r.code})`);
    t.not(r.code, null, `${m.mode}: exited by itself, not killed`);
    t.match(r.stderr, /collector nvidia failed/, `${m.mode}: stderr names the failed collector`);
    const doc = parse(t, r);
    t.match(doc.collectors, [{ collector: 'nvidia', error: m.evidence }], `${m.mode}: the collector run carries the error`);
    const probe = doc.health.find((v) => v.check === PROBE_CHECK);
    t.equal(probe?.severity, m.severity, `${m.mode}: ${PROBE_CHECK} verdict is ${m.severity}`);
    t.match(probe?.evidence, m.evidence, `${m.mode}: verdict evidence`);
    t.same(doc.gpus, [], `${m.mode}: no GPUs claimed`);
    if (m.mode === 'exit15') {
      t.ok(doc.health.some((v) => v.check === GPU_LOST_CHECK && v.severity === 'fail'), 'exit15: gpu-lost verdict');
    }
  }
  t.same(processesWithMarker(failMark), [], 'no stand-in nvidia-smi (or its child) left running');
});

t.test('nvlink -s and InfiniBand sysfs feed the health rules', async (t) => {
  const badGpu = Number(/^GPU (\d+):/.exec(readFileSync(BAD_NVLINK, 'utf8'))![1]);
  const [nv, ib] = await Promise.all([runs.nvlink, runs.ib]);
  t.equal(nv.code, 0, 'nvlink run: exit 0');
  t.match(parse(t, nv).health, [{ check: NVLINK_CHECK, severity: 'fail', gpu: badGpu, evidence: /all NVLinks inactive/ }], `all links inactive on GPU ${badGpu}`);
  t.equal(ib.code, 0, 'infiniband run: exit 0');
  const ibVerdicts = parse(t, ib).health.filter((v) => v.check === IB_CHECK);
  t.match(ibVerdicts, [{ severity: 'fail', evidence: /mlx5_4 port 1 DOWN/ }], 'the DOWN port fails the node');
  t.equal(ibVerdicts.length, 1, 'only that port');
});

t.test('bad flags are a usage error', async (t) => {
  const r = await runs.usage;
  t.equal(r.code, 2, 'exit 2');
  t.match(r.stderr, /no-such-flag/, 'names the flag');
});

t.test('no process left behind by any run', async (t) => {
  await Promise.allSettled([runs.a, runs.b, runs.human, ...runs.failures, runs.nvlink, runs.ib, runs.usage]);
  t.same(processesWithMarker(mark), [], 'nothing with our marker still runs');
});
