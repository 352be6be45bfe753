import t from 'tap';
import { parseNvlinkStatus } from '../../../../agent/core/index.js';
import { read, fixture } from '../../collectors/fixtures.js';

function section(text: string, command: string): string {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l === `# $ ${command}`);
  const body: string[] = [];
  for (let i = at + 2; at >= 0 && i < lines.length && !(lines[i] ?? '').startsWith('####'); i++) body.push(lines[i] ?? '');
  return body.join('\n');
}

/** Independent counts read with regexes. */
function counts(text: string) {
  return {
    gpus: (text.match(/^GPU \d+: /gm) ?? []).length,
    links: (text.match(/^\s+Link \d+: [\d.]+ GB\/s/gm) ?? []).length,
  };
}

const cases: Array<{ name: string; text: string; allInactive: number[]; unsupported: number[] }> = [
  { name: 'azurehpc good', text: read(fixture('azurehpc-health-checks', 'good_nvlink_status.txt')), allInactive: [], unsupported: [] },
  { name: 'azurehpc bad', text: read(fixture('azurehpc-health-checks', 'bad_nvlink_status.txt')), allInactive: [6], unsupported: [] },
  { name: 'gpud a100', text: read(fixture('gpud', 'nvidia-smi.nvlink.status.a100')), allInactive: [], unsupported: [] },
  { name: 'gpud a10 (empty)', text: read(fixture('gpud', 'nvidia-smi.nvlink.status.a10')), allInactive: [], unsupported: [] },
  {
    name: 'exporter h100',
    text: section(read(fixture('nvidia_gpu_exporter', 'linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt')), 'nvidia-smi nvlink -s'),
    allInactive: [],
    unsupported: [],
  },
  {
    name: 'exporter rtx 2080 super',
    text: section(read(fixture('nvidia_gpu_exporter', 'linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05.txt')), 'nvidia-smi nvlink -s'),
    allInactive: [0],
    unsupported: [],
  },
  {
    name: 'exporter l40s',
    text: section(read(fixture('nvidia_gpu_exporter', 'linux-x86_64__nvidia-l40s__595.80.txt')), 'nvidia-smi nvlink -s'),
    allInactive: [],
    unsupported: [0],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const got = parseNvlinkStatus(c.text);
    const want = counts(c.text);
    t.equal(got.length, want.gpus, 'GPUs');
    t.equal(got.reduce((n, g) => n + g.links.filter((l) => l.active).length, 0), want.links, 'active links');
    t.same(got.filter((g) => g.allInactive).map((g) => g.index), c.allInactive, 'all-inactive GPUs');
    t.same(got.filter((g) => g.unsupported).map((g) => g.index), c.unsupported, 'no-NVLink GPUs');
    for (const g of got) t.match(g.uuid, /^(GPU-[0-9a-f-]+)?$/);
  });
}

t.test('speeds and inactive links', async (t) => {
  const got = parseNvlinkStatus('GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-1)\n\t Link 0: 25 GB/s\n\t Link 1: <inactive>\n');
  t.same(got[0]?.links, [
    { link: 0, active: true, speedGBps: 25 },
    { link: 1, active: false, speedGBps: null },
  ]);
  const h100 = cases.find((c) => c.name === 'exporter h100');
  t.equal(parseNvlinkStatus(h100?.text ?? '')[0]?.links[17]?.speedGBps, 26.562);
});
