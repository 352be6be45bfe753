import t from 'tap';
import { basename } from 'node:path';
import { parseComputeAppsCsv, parseNvidiaSmiXml, parseXmlProcesses, type GpuProcess } from '../../../agent/core/index.js';
import { describeGpuClean, gpuCleanCheck, type GpuCleanInput, type GpuCleanOutcome } from '../../../agent/health/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { fixture, read } from '../collectors/fixtures.js';
import { csvRecords, EXPORTER_CAPTURES, exporterSection, xmlCaptureProcesses } from '../core/nvidia/capture-processes.js';

const MIB = 2 ** 20;
const MARGIN = 64 * MIB;

/** The GPU and its used memory from an exporter capture's `--query-gpu` section of that state. */
function exporterGpu(path: string, state: 'idle' | 'load'): { index: number; uuid: string; usedBytes: number } {
  const [row] = csvRecords(exporterSection(path, state, 'query-gpu (csv').output);
  return { index: Number(row!.get('index')), uuid: row!.get('uuid')!, usedBytes: Number.parseInt(row!.get('memory.used')!, 10) * MIB };
}

/** The check's input for one exporter capture: the job had the capture's GPU; the node's idle level is the idle capture's. */
function exporterInput(path: string, state: 'idle' | 'load', byUuid: boolean): GpuCleanInput {
  const idle = exporterGpu(path, 'idle');
  const now = exporterGpu(path, state);
  return {
    gpus: [byUuid ? now.uuid : now.index],
    nodeGpus: [{ index: now.index, uuid: now.uuid }],
    processes: parseComputeAppsCsv(exporterSection(path, state, 'query-compute-apps (per-process)').output),
    memoryUsedBytes: { [now.index]: now.usedBytes },
    idleMemoryBytes: { [idle.index]: idle.usedBytes },
    marginBytes: MARGIN,
  };
}

/** The check's input for a `-q -x` capture: the job had every GPU; the idle level is `idlePath`'s (default: the capture's own). */
function xmlInput(path: string, idlePath = path): GpuCleanInput {
  const doc = parseNvidiaSmiXml(read(path));
  const idle = parseNvidiaSmiXml(read(idlePath));
  return {
    gpus: doc.gpus.map((g) => g.index),
    nodeGpus: doc.gpus.map((g) => ({ index: g.index, uuid: g.uuid })),
    processes: parseXmlProcesses(read(path)),
    memoryUsedBytes: Object.fromEntries(doc.samples.map((s) => [s.index, s.memoryUsedBytes])),
    idleMemoryBytes: Object.fromEntries(idle.samples.map((s) => [s.index, s.memoryUsedBytes])),
    marginBytes: MARGIN,
  };
}

function notClean(o: GpuCleanOutcome): Extract<GpuCleanOutcome, { clean: false }> {
  if (o.clean) throw new Error('expected not clean');
  return o;
}

t.test('exporter captures (RTX 2080 SUPER, L40S, H100): idle is clean; loaded names its processes and its memory', async (t) => {
  for (const path of EXPORTER_CAPTURES) {
    for (const byUuid of [false, true]) {
      const label = `${basename(path)} (GPU by ${byUuid ? 'UUID' : 'index'})`;
      t.same(gpuCleanCheck(exporterInput(path, 'idle', byUuid)), { clean: true, unjudged: [] }, `${label}: idle is clean`);
      const input = exporterInput(path, 'load', byUuid);
      const want = csvRecords(exporterSection(path, 'load', 'query-compute-apps (per-process)').output);
      const o = notClean(gpuCleanCheck(input));
      t.same(
        o.reasons.filter((r) => r.kind === 'leftover-process').map((r) => (r.kind === 'leftover-process' ? [r.pid, r.name] : [])),
        want.map((w) => [Number(w.get('pid')), w.get('process_name')]),
        `${label}: every process of the capture, with its name`,
      );
      t.same(o.pids, want.map((w) => Number(w.get('pid'))).sort((a, b) => a - b), `${label}: the pids for the shell`);
      t.equal(o.counts['leftover-process'], want.length);
      const load = exporterGpu(path, 'load').usedBytes;
      const idle = exporterGpu(path, 'idle').usedBytes;
      t.ok(load > idle + MARGIN, `${label}: precondition, the loaded capture uses more than idle + margin`);
      t.same(
        o.reasons.filter((r) => r.kind === 'memory-above-idle'),
        [{ kind: 'memory-above-idle', gpu: input.nodeGpus[0], usedBytes: load, idleBytes: idle, marginBytes: MARGIN, excessBytes: load - idle - MARGIN }],
        `${label}: memory above idle + margin`,
      );
      t.equal(o.counts['memory-above-idle'], 1);
      t.match(describeGpuClean(o), new RegExp(`process ${want[0]!.get('pid')} \\(${want[0]!.get('process_name')!.replace(/[./]/g, '\\$&')}\\) left`));
    }
  }
});

t.test('-q -x H100 and H200 VM captures: idle clean, loaded names its process and its memory', async (t) => {
  for (const dir of ['h100-vm-580.159.04', 'h200-vm-580.159.04']) {
    const idlePath = fixture('nvidia', dir, 'qx.xml');
    const loadPath = fixture('nvidia', dir, 'qx-load.xml');
    t.same(gpuCleanCheck(xmlInput(idlePath)), { clean: true, unjudged: [] }, `${dir}: idle is clean`);
    const o = notClean(gpuCleanCheck(xmlInput(loadPath, idlePath)));
    const want = xmlCaptureProcesses(loadPath);
    t.equal(want.length, 1, `${dir}: the capture has one process`);
    t.match(o.reasons.find((r) => r.kind === 'leftover-process'), { pid: want[0]!.pid, name: want[0]!.name, type: 'C', gpu: { index: 0 } }, `${dir}: its process`);
    t.equal(o.counts['memory-above-idle'], 1, `${dir}: its memory is above idle + margin`);
  }
});

t.test('telegraf captures: type G processes (Xorg and desktops) leave a GPU clean; C and C+G do not', async (t) => {
  const cases: Array<[string, 'clean' | 'compute']> = [
    ['a10g.xml', 'clean'],
    ['gt-1030.xml', 'clean'],
    ['rtx-3080-v12.xml', 'clean'],
    ['tesla-t4.xml', 'compute'],
    ['tesla_p4.xml', 'compute'],
    ['dual_a5000-v13.xml', 'compute'],
  ];
  for (const [file, expect] of cases) {
    const path = fixture('telegraf', file);
    const all = xmlCaptureProcesses(path);
    const graphics = all.filter((p) => p.type === 'G');
    const compute = all.filter((p) => p.type !== 'G');
    const o = gpuCleanCheck(xmlInput(path)); // idle level = the capture's own used memory: only processes can make it unclean
    if (expect === 'clean') {
      t.ok(graphics.length > 0 && compute.length === 0, `${file}: precondition, only type G processes`);
      t.same(o, { clean: true, unjudged: [] }, `${file}: ${graphics.map((p) => p.name.split(' ')[0]).join(', ')} ignored`);
    } else {
      t.ok(compute.length > 0, `${file}: precondition, a compute process`);
      const n = notClean(o);
      t.same(o.clean ? [] : n.pids, [...new Set(compute.map((p) => p.pid))].sort((a, b) => a - b), `${file}: the compute pids, no G pid`);
      t.same(
        n.reasons.map((r) => (r.kind === 'leftover-process' ? [r.gpu.index, r.pid, r.type] : r.kind)),
        compute.map((p) => [p.gpu, p.pid, p.type]),
        `${file}: one reason per compute process, on its GPU`,
      );
      for (const g of graphics) t.notOk(n.pids.includes(g.pid), `${file}: ${g.name.split(' ')[0]} (G) not named`);
    }
  }
});

const NODE = [
  { index: 0, uuid: 'GPU-a' },
  { index: 1, uuid: 'GPU-b' },
];
const proc = (p: Partial<GpuProcess>): GpuProcess => ({
  gpuUuid: null,
  gpuIndex: null,
  pid: 1,
  type: 'C',
  name: 'x',
  usedMemoryBytes: null,
  gpuInstanceId: null,
  computeInstanceId: null,
  ...p,
});
const base: GpuCleanInput = { gpus: [0], nodeGpus: NODE, processes: [], memoryUsedBytes: { 0: 100 * MIB, 1: 100 * MIB }, idleMemoryBytes: { 0: 90 * MIB, 1: 90 * MIB }, marginBytes: 10 * MIB };

t.test('table: the margin edge, other GPUs, unread memory, unknown idle level and unknown GPUs', async (t) => {
  const cases: Array<[string, Partial<GpuCleanInput>, { clean: boolean; kinds?: string[]; unjudged?: number[] }]> = [
    ['used = idle + margin is clean', {}, { clean: true }],
    ['one byte over is not', { memoryUsedBytes: { 0: 100 * MIB + 1 } }, { clean: false, kinds: ['memory-above-idle'] }],
    ['a process on another GPU (by UUID) is not this job\'s', { processes: [proc({ gpuUuid: 'GPU-b', pid: 9 })] }, { clean: true }],
    ['a process on the job\'s GPU by index (-q -x)', { processes: [proc({ gpuIndex: 0, pid: 9 })] }, { clean: false, kinds: ['leftover-process'] }],
    ['a job GPU named by UUID meets a CSV process', { gpus: ['GPU-b'], processes: [proc({ gpuUuid: 'GPU-b', pid: 9 })] }, { clean: false, kinds: ['leftover-process'] }],
    ['an unknown type counts, G does not', { processes: [proc({ gpuIndex: 0, type: null, pid: 3 }), proc({ gpuIndex: 0, type: 'G', pid: 4 })] }, { clean: false, kinds: ['leftover-process'] }],
    ['used memory not read', { memoryUsedBytes: { 0: null } }, { clean: false, kinds: ['memory-unread'] }],
    ['idle level not known yet: memory not judged', { memoryUsedBytes: { 0: 999 * MIB }, idleMemoryBytes: {} }, { clean: true, unjudged: [0] }],
    ['a GPU the node does not have', { gpus: [0, 'GPU-z'] }, { clean: false, kinds: ['unknown-gpu'] }],
    ['a GPU named twice is judged once', { gpus: [0, 'GPU-a'], processes: [proc({ gpuIndex: 0 })] }, { clean: false, kinds: ['leftover-process'] }],
  ];
  for (const [name, over, want] of cases) {
    const o = gpuCleanCheck({ ...base, ...over });
    t.equal(o.clean, want.clean, name);
    if (!o.clean) t.same(o.reasons.map((r) => r.kind), want.kinds, `${name}: reasons`);
    t.same(o.unjudged.map((g) => g.index), want.unjudged ?? [], `${name}: unjudged`);
  }
});

t.test('bad input is an InvalidArgumentError naming the field', async (t) => {
  const cases: Array<[string, Partial<GpuCleanInput>, RegExp]> = [
    ['negative margin', { marginBytes: -1 }, /^marginBytes: -1 is not a byte count/],
    ['margin NaN', { marginBytes: Number.NaN }, /^marginBytes: NaN/],
    ['used memory a string', { memoryUsedBytes: { 0: '5' as unknown as number } }, /^memoryUsedBytes\[0\]: 5 is not a byte count/],
    ['a GPU that is neither', { gpus: [-1] }, /^gpus: -1 is neither a GPU index nor a UUID/],
    ['processes missing', { processes: undefined as unknown as GpuProcess[] }, /^processes: not a list/],
  ];
  for (const [name, over, msg] of cases) {
    let err: unknown;
    try {
      gpuCleanCheck({ ...base, ...over });
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof InvalidArgumentError, `${name}: InvalidArgumentError`);
    t.match((err as Error | undefined)?.message, msg, name);
  }
});

t.test('describeGpuClean: one line with pids, users and sizes', async (t) => {
  const o = gpuCleanCheck({ ...base, memoryUsedBytes: { 0: 200 * MIB }, processes: [proc({ gpuIndex: 0, pid: 77, name: 'python' })] });
  t.equal(
    describeGpuClean(o, { 77: 'alice' }),
    'GPUs not clean: GPU 0: C process 77 (python) of alice left; GPU 0: 200 MiB used, idle 90 MiB + margin 10 MiB',
  );
  t.equal(describeGpuClean(gpuCleanCheck(base)), 'GPUs clean');
});
