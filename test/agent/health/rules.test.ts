/**
 * Each health rule against a capture that trips it and captures that must not. Real captures from
 * fixtures/ where one shows the fault; otherwise derived ones (test/fixtures/derived, see
 * its README).
 */
import t from 'tap';
import { basename, join } from 'node:path';
import { ProbeFailedError, ProbeTimeoutError, ParseError } from '../../../shared/errors/index.js';
import { readInfiniband } from '../../../agent/collectors/index.js';
import { parseIbstat, parseNvidiaSmiXml, parseNvlinkStatus, parseXidLog, type GpuProbe } from '../../../agent/core/index.js';
import {
  DEFAULT_HEALTH_CONFIG,
  eccUncorrectableRule,
  fabricRule,
  gpuCountRule,
  gpuLostRule,
  infinibandRule,
  nvlinkRule,
  probeRule,
  retiredPagesRule,
  rowRemapRule,
  runRules,
  throttleRule,
  xidRule,
  type Finding,
  type HealthConfig,
  type HealthInput,
  type Rule,
} from '../../../agent/health/index.js';
import { allNvidiaXmlCaptures, derivedFixtures, probeOf, read, fixture } from '../collectors/fixtures.js';


const derived = (f: string) => join(derivedFixtures, f);
const k8s = (f: string) => fixture('k8s-test-infra', f);
const cfg = (over: Partial<HealthConfig> = {}): HealthConfig => ({ ...DEFAULT_HEALTH_CONFIG, ...over });
const summary = (fs: Finding[]) => fs.map((f) => `${f.check}:${f.severity}:${f.scope}:${f.gpu ?? '-'}:${f.key ?? ''}`);

interface Case {
  name: string;
  rule: Rule;
  input: () => Promise<HealthInput> | HealthInput;
  config?: Partial<HealthConfig>;
  /** Expected findings as check:severity:scope:gpu:key. */
  want: string[];
}

const cases: Case[] = [
  // --- ECC (volatile uncorrectable)
  { name: 'ecc: injected DRAM uncorrectable trips GPU 0', rule: eccUncorrectableRule, input: () => ({ probe: probeOf(k8s('qx-gb200-ecc-injected.xml')) }), want: ['ecc-uncorrectable:fail:node:0:'] },
  { name: 'ecc: lifetime-only correctable count on T4 is fine', rule: eccUncorrectableRule, input: () => ({ probe: probeOf(k8s('qx-t4.xml')) }), want: [] },
  // --- row remapping
  { name: 'row-remap: failure (injected) fails', rule: rowRemapRule, input: () => ({ probe: probeOf(k8s('qx-gb200-ecc-injected.xml')) }), want: ['row-remap:fail:node:0:failure'] },
  { name: 'row-remap: pending warns (derived)', rule: rowRemapRule, input: () => ({ probe: probeOf(derived('qx-a100-remap-pending.xml')) }), want: ['row-remap:warn:node:0:pending'] },
  { name: 'row-remap: healthy A100', rule: rowRemapRule, input: () => ({ probe: probeOf(k8s('qx-a100.xml')) }), want: [] },
  // --- retired pages
  { name: 'retired-pages: pending (derived)', rule: retiredPagesRule, input: () => ({ probe: probeOf(derived('tesla-t4-retirement-pending.xml')) }), want: ['retired-pages:warn:node:0:pending'] },
  { name: 'retired-pages: 61 retired (derived)', rule: retiredPagesRule, input: () => ({ probe: probeOf(derived('tesla-t4-61-retired-pages.xml')) }), want: ['retired-pages:fail:node:0:count'] },
  { name: 'retired-pages: healthy T4', rule: retiredPagesRule, input: () => ({ probe: probeOf(fixture('telegraf', 'tesla-t4.xml')) }), want: [] },
  // --- NVLink
  {
    name: 'nvlink: all links inactive on an A100-SXM4 (real)',
    rule: nvlinkRule,
    input: () => ({ nvlink: parseNvlinkStatus(read(fixture('azurehpc-health-checks', 'bad_nvlink_status.txt'))) }),
    want: ['nvlink:fail:node:6:'],
  },
  {
    name: 'nvlink: one link inactive (derived)',
    rule: nvlinkRule,
    input: () => ({ nvlink: parseNvlinkStatus(read(derived('nvlink-status-a100-link3-inactive.txt'))) }),
    want: ['nvlink:fail:node:7:'],
  },
  { name: 'nvlink: 8x A100 all up', rule: nvlinkRule, input: () => ({ nvlink: parseNvlinkStatus(read(fixture('gpud', 'nvidia-smi.nvlink.status.a100'))) }), want: [] },
  {
    name: 'nvlink: GeForce without a bridge says "all inactive" and is healthy',
    rule: nvlinkRule,
    input: () => ({
      nvlink: parseNvlinkStatus('GPU 0: NVIDIA GeForce RTX 2080 SUPER (UUID: GPU-00000000-0000-0000-0000-000000000000)\nNVML: Unable to retrieve Nvlink information as all links are inActive\n'),
    }),
    want: [],
  },
  // --- fabric
  {
    name: 'fabric: unhealthy route and registration in progress (derived)',
    rule: fabricRule,
    input: () => ({ probe: probeOf(derived('qx-gb200-fabric-unhealthy.xml')) }),
    want: ['fabric:fail:node:1:health', 'fabric:fail:node:1:route', 'fabric:warn:node:3:state'],
  },
  { name: 'fabric: GB200 healthy (real)', rule: fabricRule, input: () => ({ probe: probeOf(fixture('nvidia', 'qx-gb200.xml')) }), want: [] },
  { name: 'fabric: H100 Completed/Success with zero UUID is healthy', rule: fabricRule, input: () => ({ probe: probeOf(fixture('nvidia', 'qx-h100.xml')) }), want: [] },
  { name: 'fabric: PCIe board without fabric', rule: fabricRule, input: () => ({ probe: probeOf(k8s('qx-l40s.xml')) }), want: [] },
  // --- GPU count
  {
    name: 'gpu-count: 7 of 8 (derived)',
    rule: gpuCountRule,
    input: () => ({ probe: probeOf(derived('qx-h100-gpu3-missing.xml')) }),
    config: { expectedGpus: 8 },
    want: ['gpu-count:fail:node:-:'],
  },
  { name: 'gpu-count: 8 of 8', rule: gpuCountRule, input: () => ({ probe: probeOf(fixture('nvidia', 'qx-h100.xml')) }), config: { expectedGpus: 8 }, want: [] },
  // --- lost / Unknown Error
  { name: 'gpu-lost: GPU 1 lost (real mock capture)', rule: gpuLostRule, input: () => ({ probe: probeOf(k8s('qx-gb200-lost.xml')) }), want: ['gpu-lost:fail:node:1:'] },
  { name: 'gpu-lost: Unknown Error (derived)', rule: gpuLostRule, input: () => ({ probe: probeOf(derived('qx-l40s-unknown-error.xml')) }), want: ['gpu-lost:fail:node:0:'] },
  {
    name: 'gpu-lost: nvidia-smi exit 15 names the lost GPU',
    rule: gpuLostRule,
    input: () => ({
      probeError: new ProbeFailedError('nvidia-smi -q -x', 'exited with code 15: Unable to determine the device handle for GPU00000000:64:00.0: GPU is lost.  Reboot the system to recover this GPU', 15),
      knownGpus: probeOf(fixture('nvidia', 'qx-h100.xml')).gpus,
    }),
    want: ['gpu-lost:fail:node:1:probe'],
  },
  { name: 'gpu-lost: healthy GB200', rule: gpuLostRule, input: () => ({ probe: probeOf(fixture('nvidia', 'qx-gb200.xml')) }), want: [] },
  // --- throttle deltas
  {
    name: 'throttle: 2.5 s of HW thermal slowdown in 30 s (derived pair)',
    rule: throttleRule,
    input: () => ({
      probe: probeOf(derived('qx-gb200-hw-thermal-slowdown.xml')),
      previous: { probe: probeOf(k8s('qx-gb200-throttle-counters.xml')), intervalMs: 30_000 },
    }),
    want: ['throttle:warn:node:0:'],
  },
  {
    name: 'throttle: same 2.5 s over an hour is under 5%',
    rule: throttleRule,
    input: () => ({
      probe: probeOf(derived('qx-gb200-hw-thermal-slowdown.xml')),
      previous: { probe: probeOf(k8s('qx-gb200-throttle-counters.xml')), intervalMs: 3_600_000 },
    }),
    want: [],
  },
  {
    name: 'throttle: SW power cap growth (real pair) is not judged',
    rule: throttleRule,
    input: () => ({ probe: probeOf(k8s('qx-gb200-throttle-counters.xml')), previous: { probe: probeOf(k8s('qx-gb200-healthy.xml')), intervalMs: 30_000 } }),
    want: [],
  },
  {
    name: 'throttle: huge lifetime counters with no growth (H100 vs itself)',
    rule: throttleRule,
    input: () => ({ probe: probeOf(fixture('nvidia', 'qx-h100.xml')), previous: { probe: probeOf(fixture('nvidia', 'qx-h100.xml')), intervalMs: 30_000 } }),
    want: [],
  },
  { name: 'throttle: a single probe judges nothing', rule: throttleRule, input: () => ({ probe: probeOf(derived('qx-gb200-hw-thermal-slowdown.xml')) }), want: [] },
  // --- InfiniBand
  {
    name: 'ib: ports down on a RoCE H100 node (real ibstat), Ethernet watched',
    rule: infinibandRule,
    input: () => ({ hcas: parseIbstat(read(fixture('gpud', 'ibstat.47.0.h100.some.down.with.polling.1'))) }),
    config: { ib: { devices: [], linkLayers: ['InfiniBand', 'Ethernet'], minRateGbps: 0 } },
    want: ['infiniband:fail:node:-:mlx5_11 port 1/state', 'infiniband:fail:node:-:mlx5_5 port 1/state'],
  },
  {
    name: 'ib: same node, default policy watches InfiniBand only',
    rule: infinibandRule,
    input: () => ({ hcas: parseIbstat(read(fixture('gpud', 'ibstat.47.0.h100.some.down.with.polling.1'))) }),
    want: [],
  },
  {
    name: 'ib: derived sysfs tree, one port down, one at half rate',
    rule: infinibandRule,
    input: async () => ({ hcas: await readInfiniband({ root: derived('sys-class-infiniband-h100-degraded') }) }),
    config: { ib: { devices: [], linkLayers: ['InfiniBand'], minRateGbps: 400 } },
    want: ['infiniband:warn:node:-:mlx5_1 port 1/rate', 'infiniband:fail:node:-:mlx5_4 port 1/state'],
  },
  {
    name: 'ib: real H100 sysfs tree all ACTIVE at 400 (bond at 200 is Ethernet)',
    rule: infinibandRule,
    input: async () => ({ hcas: await readInfiniband({ root: fixture('gpud', 'sys-class-infiniband-h100.0') }) }),
    config: { ib: { devices: [], linkLayers: ['InfiniBand'], minRateGbps: 400 } },
    want: [],
  },
  // --- probe failures
  { name: 'probe: timeout fails', rule: probeRule, input: () => ({ probeError: new ProbeTimeoutError('nvidia-smi -q -x', 10_000) }), want: ['gpu-probe:fail:node:-:timeout'] },
  { name: 'probe: garbled output warns', rule: probeRule, input: () => ({ probeError: new ParseError('nvidia-smi -q -x', 'malformed XML') }), want: ['gpu-probe:warn:node:-:parse'] },
  { name: 'probe: no error', rule: probeRule, input: () => ({ probe: probeOf(fixture('nvidia', 'qx-h100.xml')) }), want: [] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const got = c.rule(await c.input(), cfg(c.config));
    t.same(summary(got).sort(), [...c.want].sort());
    for (const f of got) t.ok(f.evidence.length > 0, 'has evidence');
  });
}

t.test('xid: the real XID 119 capture fails the GPU it names', async (t) => {
  const xids = parseXidLog(read(fixture('gpud', 'dmesg-with-xid-119.log')));
  const probe = probeOf(fixture('nvidia', 'qx-h100.xml'));
  // The capture's GPU (PCI 9b:00) is not on this H100 node: the finding has no GPU index.
  t.same(summary(xidRule({ probe, xids }, cfg())), ['xid:fail:node:-:119'], 'deduplicated to one finding');
  const withGpu = xidRule({ xids, knownGpus: [{ ...probe.gpus[0]!, pciBusId: '00000000:9B:00.0' }] }, cfg());
  t.same(summary(withGpu), ['xid:fail:node:0:119']);
});

t.test('xid: classes by the default policy (derived log)', async (t) => {
  const xids = parseXidLog(read(derived('dmesg-xid-classes.txt')));
  const gpus = probeOf(fixture('nvidia', 'qx-h100.xml')).gpus.map((g, i) => (i === 7 ? { ...g, pciBusId: '00000000:9B:00.0' } : g));
  const got = xidRule({ xids, knownGpus: gpus }, cfg());
  t.same(summary(got).sort(), ['xid:fail:node:7:119', 'xid:warn:job:7:13/31337', 'xid:ok:info:7:63', 'xid:fail:node:0:79', 'xid:warn:node:7:999'].sort());
  const job = got.find((f) => f.scope === 'job');
  t.equal(job?.pid, 31337);
  t.equal(job?.processName, 'python3');
  const custom = xidRule({ xids, knownGpus: gpus }, cfg({ xid: { failGpu: [13], application: [], informational: [], unknown: 'info' } }));
  // 13 listed failGpu wins over its catalog class; 119 and 79, in no list, fail by the catalog (xid-catalog.ts).
  t.same(summary(custom).filter((s) => s.includes(':node:')).sort(), ['xid:fail:node:7:119', 'xid:fail:node:7:13', 'xid:fail:node:0:79'].sort());
  t.same(summary(custom).filter((s) => s.includes(':info:')), ['xid:ok:info:7:63', 'xid:ok:info:7:999'], 'unknown: info');
});

t.test('xid: logs without XIDs', async (t) => {
  for (const f of [fixture('gpud', 'nccl.dmesg.decode.iso.log'), fixture('azurehpc-health-checks', '0flap_syslog')]) {
    t.same(xidRule({ xids: parseXidLog(read(f)) }, cfg()), []);
  }
});

/** Healthy real captures show idle PCIe gen 1, x8 links on cloud VMs, replay counts, big lifetime throttle counters. */
const faulty = new Set(['qx-gb200-lost.xml', 'qx-gb200-ecc-injected.xml']);
for (const path of allNvidiaXmlCaptures().filter((p) => !faulty.has(basename(p)))) {
  t.test(`no alarm on healthy capture ${basename(path)}`, async (t) => {
    const probe = probeOf(path);
    const findings = runRules({ probe, previous: { probe: probeOf(path), intervalMs: 30_000 } }, cfg({ expectedGpus: probe.gpus.length }));
    t.same(summary(findings), []);
  });
}
