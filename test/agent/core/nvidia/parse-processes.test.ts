import t from 'tap';
import { basename } from 'node:path';
import { parseComputeAppsCsv, parseXmlProcesses } from '../../../../agent/core/index.js';
import { ParseError } from '../../../../shared/errors/index.js';
import { allNvidiaXmlCaptures, fixture, read } from '../../collectors/fixtures.js';
import { csvRecords, EXPORTER_CAPTURES, exporterSection, xmlCaptureProcesses } from './capture-processes.js';

const MIB = 2 ** 20;

/** The ParseError `f` throws (undefined when it throws nothing, or something else). */
function thrown(f: () => unknown): ParseError | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof ParseError) return e;
  }
  return undefined;
}
const COMPUTE_APPS = 'query-compute-apps (per-process)';

t.test('--query-compute-apps: the real idle and loaded sections of every nvidia_gpu_exporter capture', async (t) => {
  t.equal(EXPORTER_CAPTURES.length, 3);
  for (const path of EXPORTER_CAPTURES) {
    for (const state of ['idle', 'load'] as const) {
      const { fields, output } = exporterSection(path, state, COMPUTE_APPS);
      const want = csvRecords(output);
      const got = parseComputeAppsCsv(output);
      const label = `${basename(path)} ${state}`;
      if (state === 'idle') t.equal(want.length, 0, `${label}: the capture lists no process`);
      else t.ok(want.length >= 2, `${label}: the capture lists processes`);
      t.equal(got.length, want.length, `${label}: one process per row`);
      got.forEach((p, i) => {
        const w = want[i]!;
        t.equal(p.pid, Number(w.get('pid')), `${label}: pid`);
        t.equal(p.name, w.get('process_name'), `${label}: name`);
        t.equal(p.gpuUuid, w.get('gpu_uuid'), `${label}: GPU UUID`);
        t.equal(p.usedMemoryBytes, Number.parseInt(w.get('used_gpu_memory')!, 10) * MIB, `${label}: used memory`);
        t.equal(p.type, 'C');
        t.equal(p.gpuIndex, null);
      });
      // The same rows without the header, as `--format=csv,noheader` prints them.
      const noHeader = output.split('\n').slice(1).join('\n');
      t.same(parseComputeAppsCsv(noHeader, fields), got, `${label}: noheader with the field list reads the same`);
    }
  }
});

t.test('--query-compute-apps: the field list of the check, nounits, names with commas, N/A', async (t) => {
  const out = [
    'gpu_uuid, pid, process_name, used_gpu_memory [MiB]',
    'GPU-a, 11345, ./gpu_burn, 15690',
    'GPU-b, 42416, /opt/code --type=gpu-process --enable-crash-reporter=6f39,no_channel, [N/A]',
    'GPU-b, 7, python, N/A',
  ].join('\n');
  const got = parseComputeAppsCsv(out);
  t.same(
    got.map((p) => [p.gpuUuid, p.pid, p.name, p.usedMemoryBytes]),
    [
      ['GPU-a', 11345, './gpu_burn', 15690 * MIB],
      ['GPU-b', 42416, '/opt/code --type=gpu-process --enable-crash-reporter=6f39,no_channel', null],
      ['GPU-b', 7, 'python', null],
    ],
  );
  t.same(parseComputeAppsCsv('No running processes found\n'), [], 'the table-style "none" line');
  t.same(parseComputeAppsCsv('', ['gpu_uuid', 'pid', 'process_name', 'used_memory']), [], 'noheader: empty output is no process');
});

t.test('--query-compute-apps: garbled input is a ParseError naming what is wrong', async (t) => {
  const header = 'gpu_uuid, pid, process_name, used_gpu_memory [MiB]';
  const cases: Array<[string, string, RegExp]> = [
    ['empty output', '', /no header line/],
    ['no pid column', 'gpu_uuid, process_name\nGPU-a, x', /no pid column/],
    ['a pid that is not a number', `${header}\nGPU-a, abc, python, 3 MiB`, /pid "abc" is not a number/],
    ['an error line in place of a row', `${header}\nUnable to determine the device handle for GPU0000:3B:00.0: GPU is lost.`, /1 cells, 4 fields/],
    ['a row cut short', `${header}\nGPU-a, 12`, /2 cells, 4 fields/],
    ['memory that is no size', `${header}\nGPU-a, 12, python, lots`, /used memory "lots" is not a size/],
  ];
  for (const [name, text, msg] of cases) {
    t.match(thrown(() => parseComputeAppsCsv(text)), { code: 'PARSE_FAILED', message: msg }, name);
  }
});

t.test('-q -x <processes>: every copied capture, against the file read by regular expression', async (t) => {
  let withProcesses = 0;
  const types = new Set<string>();
  for (const path of allNvidiaXmlCaptures().concat([fixture('nvidia/h100-vm-580.159.04/qx-load.xml'), fixture('nvidia/h200-vm-580.159.04/qx-load.xml')])) {
    const want = xmlCaptureProcesses(path);
    const got = parseXmlProcesses(read(path));
    const label = basename(path);
    t.equal(got.length, want.length, `${label}: ${want.length} processes`);
    if (want.length > 0) withProcesses++;
    got.forEach((p, i) => {
      const w = want[i]!;
      types.add(w.type);
      t.equal(p.gpuIndex, w.gpu, `${label}: GPU`);
      t.equal(p.pid, w.pid, `${label}: pid`);
      t.equal(p.type, w.type, `${label}: type`);
      t.equal(p.name, w.name === '' ? null : w.name, `${label}: name`);
      t.equal(p.usedMemoryBytes, w.usedMemory === 'N/A' ? null : Number.parseInt(w.usedMemory, 10) * MIB, `${label}: used memory`);
      t.equal(p.gpuInstanceId, null, `${label}: no MIG`);
      t.ok(p.gpuUuid === null || p.gpuUuid.startsWith('GPU-'), `${label}: GPU UUID`);
    });
  }
  t.ok(withProcesses >= 8, `${withProcesses} captures have processes`);
  t.same([...types].sort(), ['C', 'C+G', 'G'], 'types C, G and C+G are all among the captures');
});

t.test('-q -x <processes>: the Tesla P4 C+G entry reads an empty name and N/A memory as null', async (t) => {
  const [p] = parseXmlProcesses(read(fixture('telegraf/tesla_p4.xml')));
  t.match(p, { type: 'C+G', name: null, usedMemoryBytes: null, gpuIndex: 0 });
});

t.test('-q -x <processes>: garbled documents and entries are ParseErrors', async (t) => {
  const doc = (procs: string) => `<?xml version="1.0" ?><nvidia_smi_log><gpu id="00000000:01:00.0"><uuid>GPU-x</uuid><processes>${procs}</processes></gpu></nvidia_smi_log>`;
  t.same(parseXmlProcesses(doc('')), [], 'an empty <processes> is no process');
  t.same(parseXmlProcesses(doc('N/A')), [], '<processes>N/A</processes> is no process');
  const cases: Array<[string, string, RegExp]> = [
    ['cut off', doc('<process_info><pid>1</pid>').slice(0, -30), /malformed XML/],
    ['no pid', doc('<process_info><type>C</type></process_info>'), /pid "" is not a number/],
    ['a pid that is not a number', doc('<process_info><pid>x1</pid><type>C</type></process_info>'), /pid "x1" is not a number/],
    ['an empty entry', doc('<process_info></process_info>'), /empty entry/],
    ['not nvidia-smi', '<html></html>', /no <nvidia_smi_log> root/],
  ];
  for (const [name, xml, msg] of cases) {
    t.match(thrown(() => parseXmlProcesses(xml)), { code: 'PARSE_FAILED', message: msg }, name);
  }
});
