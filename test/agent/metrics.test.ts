/**
 * The agent's /metrics (agent/metrics.ts), scraped from a running agent with 8 simulated H100s:
 * `promtool check metrics` passes on the default output; with metrics.dcgmCompat the dcgm-exporter
 * names, types and labels of its default-counters.csv are there (promtool's complaints about
 * dcgm-exporter's own naming are allowed, none about ours).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { XID_CHECK } from '../../agent/health/index.js';
import { freePort } from '../../shared/procs/index.js';
import { H100_XML, httpGet, startAgent, waitFor, type Agent } from '../harness/cluster.js';
import { CHILD_ENV, DERIVED, FIXTURES, ROOT, marker, parseProm, processesWithMarker, promValue, readCapture, simUuid, type PromSample } from './sim.js';

const PROMTOOL = '/usr/bin/promtool';
const h100 = readCapture(H100_XML);
const KERNEL_LOG = path.join(DERIVED, 'dmesg-xid-classes.txt');

function promtool(text: string): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** Names and types of the fields in dcgm-exporter's default-counters.csv (commented-out ones too). */
function dcgmCsv(): Map<string, { type: string; enabledByDefault: boolean }> {
  const out = new Map<string, { type: string; enabledByDefault: boolean }>();
  for (const line of readFileSync(path.join(FIXTURES, 'dcgm-exporter', 'default-counters.csv'), 'utf8').split('\n')) {
    const m = /^(#\s*)?(DCGM_FI_[A-Z0-9_]+)\s*,\s*([a-z]+)\s*,/.exec(line);
    if (m) out.set(m[2]!, { type: m[3]!, enabledByDefault: !m[1] });
  }
  return out;
}

const mark = marker();

t.test('promtool is installed (CI installs the Debian package prometheus)', async (t) => {
  t.ok(existsSync(PROMTOOL), `${PROMTOOL} exists; without it the /metrics checks below cannot run: apt-get install prometheus`);
});

// Everything that starts a process runs inside this subtest, so its teardowns run even when a start fails.
t.test('a running agent with 8 simulated H100s', async (t) => {
  // No scheduler: /metrics does not depend on one (the reporter keeps retrying a port nobody listens on).
  const nowhere = `127.0.0.1:${await freePort()}`;
  const start = (dcgmCompat: boolean) =>
    startAgent(t, dcgmCompat ? 'h100-dcgm' : 'h100-plain', nowhere, {
      // The plain agent: one probe (the first runs before 'agent running'), no more cycles after it.
      // The dcgm one goes on to light --query-gpu probes (29 cycles of 30), whose readings it exports.
      extraArgs: [
        '--set', `collectIntervalMs=${dcgmCompat ? 300 : 600000}`,
        '--set', `metrics.dcgmCompat=${dcgmCompat}`,
        '--set', 'collectors.kernelLog.enabled=true',
        '--set', `collectors.kernelLog.path=${KERNEL_LOG}`,
      ],
      env: { ...CHILD_ENV, [mark.name]: mark.value },
    });
  const started = await Promise.allSettled([start(false), start(true)]);
  // Stop gracefully before the harness's SIGKILL, so an in-flight probe is reaped.
  t.teardown(() => Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.child.stop() : undefined))));
  const failedStart = started.find((r) => r.status === 'rejected');
  if (failedStart) throw (failedStart as PromiseRejectedResult).reason;
  const [plain, dcgm] = started.map((r) => (r as PromiseFulfilledResult<Agent>).value) as [Agent, Agent];

  await t.test('default /metrics: promtool-clean, one series per simulated GPU, health and XIDs', async (t) => {
    const text = await httpGet(`http://127.0.0.1:${plain.metricsPort}/metrics`);
    if (!existsSync(PROMTOOL)) {
      t.fail(`${PROMTOOL} is missing: cannot check the exposition (apt-get install prometheus)`);
      return;
    }
    const r = promtool(text);
    t.equal(r.status, 0, 'promtool check metrics exits 0', { output: r.output });
    t.equal(r.output, '', 'and has nothing to say');

    const { samples, types } = parseProm(text);
    t.notOk([...types.keys()].some((n) => n.startsWith('DCGM_')), 'no dcgm-exporter names by default');
    t.equal(promValue(samples, 'gantry_agent_gpus'), h100.gpus.length, `gantry_agent_gpus = ${h100.gpus.length}`);
    const temps = samples.filter((s) => s.name === 'gantry_agent_gpu_temperature_celsius');
    t.same(
      temps.map((s) => s.labels.uuid).sort(),
      h100.gpus.map((g) => simUuid('h100-plain', g.index)).sort(),
      'a temperature series for each GPU, labelled with its UUID',
    );
    const captureTemp0 = Number(/<gpu_temp>(\d+) C<\/gpu_temp>/.exec(h100.gpus[0]!.body)![1]);
    t.equal(promValue(samples, 'gantry_agent_gpu_temperature_celsius', { gpu: '0' }), captureTemp0, `GPU 0 temperature from the capture (${captureTemp0} C)`);
    t.equal(types.get('gantry_agent_collector_errors_total'), 'counter', 'collector errors is a counter');
    t.equal(types.get('gantry_agent_gpu_xid_events_total'), 'counter', 'XID events is a counter');

    // The derived kernel log: XID 119 and 999 on a bus no H100 of the capture has, XID 79 on GPU 0's bus.
    const kernelXids = readFileSync(KERNEL_LOG, 'utf8').split('\n').filter((l) => /NVRM: Xid/.test(l)).length;
    const counted = samples.filter((s) => s.name === 'gantry_agent_gpu_xid_events_total').reduce((a, s) => a + s.value, 0);
    t.equal(counted, kernelXids, `every XID line of the kernel log counted once (${kernelXids})`);
    t.equal(promValue(samples, 'gantry_agent_health_check_severity', { check: XID_CHECK, gpu: '0' }), 2, 'XID 79 fails GPU 0');
    t.equal(
      promValue(samples, 'gantry_agent_health_check_severity', { check: XID_CHECK, gpu: '' }),
      2,
      'one series per (check, GPU) holds the worst verdict: XID 119 (fail) beats XID 999 (warn) on the unknown bus',
    );
    t.equal(promValue(samples, 'gantry_agent_health_severity'), 2, 'node severity fail');
  });

  await t.test('metrics.dcgmCompat: dcgm-exporter names, types and labels', async (t) => {
    // After a light probe (the first is full): the fields must hold between full probes too.
    const nvidiaRuns = (text: string) => promValue(parseProm(text).samples, 'gantry_agent_collector_duration_seconds_count', { collector: 'nvidia' }) ?? 0;
    const text = await waitFor('a light probe after the full one', async () => {
      const body = await httpGet(`http://127.0.0.1:${dcgm.metricsPort}/metrics`);
      return nvidiaRuns(body) >= 2 ? body : undefined;
    });
    const { samples, types } = parseProm(text);
    const csv = dcgmCsv();
    const exposed = [...types.keys()].filter((n) => n.startsWith('DCGM_'));
    t.ok(exposed.length > 0, 'DCGM_FI_* families are exposed');
    for (const name of exposed) {
      t.ok(csv.has(name), `${name} is a dcgm-exporter field (default-counters.csv)`);
      t.equal(types.get(name), csv.get(name)?.type, `${name}: type ${csv.get(name)?.type} as in the csv`);
    }
    // The default fields nvidia-smi can give (docs/agent-collectors.md "dcgm-exporter fields" says
    // which are not, and why: energy, NVLink bandwidth, vGPU licence, DCP profiling).
    const fromNvidiaSmi = [
      'DCGM_FI_DEV_SM_CLOCK',
      'DCGM_FI_DEV_MEM_CLOCK',
      'DCGM_FI_DEV_ENC_UTIL',
      'DCGM_FI_DEV_DEC_UTIL',
      'DCGM_FI_DEV_FB_RESERVED',
      'DCGM_FI_DEV_GPU_TEMP',
      'DCGM_FI_DEV_MEMORY_TEMP',
      'DCGM_FI_DEV_POWER_USAGE',
      'DCGM_FI_DEV_PCIE_REPLAY_COUNTER',
      'DCGM_FI_DEV_GPU_UTIL',
      'DCGM_FI_DEV_MEM_COPY_UTIL',
      'DCGM_FI_DEV_XID_ERRORS',
      'DCGM_FI_DEV_FB_FREE',
      'DCGM_FI_DEV_FB_USED',
      'DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS',
      'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS',
      'DCGM_FI_DEV_ROW_REMAP_FAILURE',
    ];
    const expectedLabels = ['DCGM_FI_DRIVER_VERSION', 'Hostname', 'UUID', 'device', 'gpu', 'modelName', 'pci_bus_id'];
    for (const name of fromNvidiaSmi) {
      t.equal(csv.get(name)?.enabledByDefault, true, `${name} is enabled in default-counters.csv`);
      const series = samples.filter((s: PromSample) => s.name === name);
      t.equal(series.length, h100.gpus.length, `${name}: one series per GPU`);
      for (const s of series) {
        const i = Number(s.labels.gpu);
        const g = h100.gpus[i];
        const ok =
          g !== undefined &&
          s.labels.UUID === simUuid('h100-dcgm', i) &&
          s.labels.pci_bus_id?.toUpperCase() === g.busId.toUpperCase() &&
          s.labels.device === `nvidia${i}` &&
          s.labels.modelName === g.name &&
          s.labels.Hostname === 'h100-dcgm' &&
          s.labels.DCGM_FI_DRIVER_VERSION === h100.driver;
        t.ok(ok && JSON.stringify(Object.keys(s.labels).sort()) === JSON.stringify(expectedLabels), `${name}{gpu="${s.labels.gpu}"}: dcgm-exporter labels`, { labels: s.labels });
      }
    }
    t.equal(promValue(samples, 'DCGM_FI_DEV_XID_ERRORS', { gpu: '0' }), 79, 'DCGM_FI_DEV_XID_ERRORS: the last XID of GPU 0');
    // Golden: every GPU's value as the capture itself reads (its elements, in dcgm-exporter's units).
    const golden: Array<[string, RegExp]> = [
      ['DCGM_FI_DEV_SM_CLOCK', /<clocks>[\s\S]*?<sm_clock>(\d+) MHz<\/sm_clock>/],
      ['DCGM_FI_DEV_MEM_CLOCK', /<clocks>[\s\S]*?<mem_clock>(\d+) MHz<\/mem_clock>/],
      ['DCGM_FI_DEV_ENC_UTIL', /<encoder_util>(\d+) %<\/encoder_util>/],
      ['DCGM_FI_DEV_DEC_UTIL', /<decoder_util>(\d+) %<\/decoder_util>/],
      ['DCGM_FI_DEV_FB_RESERVED', /<fb_memory_usage>[\s\S]*?<reserved>(\d+) MiB<\/reserved>/],
      ['DCGM_FI_DEV_PCIE_REPLAY_COUNTER', /<replay_counter>(\d+)<\/replay_counter>/],
    ];
    for (const [name, re] of golden) {
      const want = h100.gpus.map((g) => Number(re.exec(g.body)![1]));
      const got = h100.gpus.map((g) => promValue(samples, name, { gpu: String(g.index) }));
      t.same(got, want, `${name}: each GPU's value from the capture (${[...new Set(want)].join(', ')})`);
    }
    // Fields the csv ships commented out, exported too: lifetime ECC counts (sum of the capture's
    // <aggregate> DRAM and SRAM counts); retired pages read N/A on an H100 (row remapping instead): no series.
    const aggregate = (body: string, kind: RegExp): number =>
      [.../<aggregate>([\s\S]*?)<\/aggregate>/.exec(body)![1]!.matchAll(/<(\w+)>(\d+)<\/\1>/g)].filter((m) => kind.test(m[1]!)).reduce((a, m) => a + Number(m[2]), 0);
    for (const [name, kind] of [['DCGM_FI_DEV_ECC_DBE_AGG_TOTAL', /uncorrectable/], ['DCGM_FI_DEV_ECC_SBE_AGG_TOTAL', /^(dram|sram)_correctable$/]] as const) {
      t.same(
        h100.gpus.map((g) => promValue(samples, name, { gpu: String(g.index) })),
        h100.gpus.map((g) => aggregate(g.body, kind)),
        `${name}: each GPU's lifetime count from the capture`,
      );
    }
    t.ok(/<retired_pages>\s*<multiple_single_bit_retirement>\s*<retired_count>N\/A/.test(h100.gpus[0]!.body), 'the H100 capture: retired pages N/A');
    t.equal(samples.filter((s) => s.name === 'DCGM_FI_DEV_RETIRED_SBE' || s.name === 'DCGM_FI_DEV_RETIRED_DBE').length, 0, 'so no DCGM_FI_DEV_RETIRED_* series');
    const memTotal0 = Number(/<fb_memory_usage>\s*<total>(\d+) MiB<\/total>/.exec(h100.gpus[0]!.body)![1]);
    const used0 = promValue(samples, 'DCGM_FI_DEV_FB_USED', { gpu: '0' })!;
    t.equal(used0 + promValue(samples, 'DCGM_FI_DEV_FB_FREE', { gpu: '0' })!, memTotal0, `FB_USED + FB_FREE is the capture's total (${memTotal0} MiB)`);

    // docs/agent-collectors.md "dcgm-exporter fields" lists every metric field of the csv, "yes" exactly for those exposed.
    const doc = readFileSync(path.join(ROOT, 'docs', 'agent-collectors.md'), 'utf8');
    const table = doc.slice(doc.indexOf('#### dcgm-exporter fields'), doc.indexOf('#### Job labels on GPU series'));
    const rows = table.split('\n').filter((l) => l.startsWith('| `'));
    for (const [name, { type }] of csv) {
      if (type === 'label') continue;
      const row = rows.find((l) => l.split('|')[1]!.includes(`\`${name.slice('DCGM_FI_'.length)}\``));
      const documented = row === undefined ? 'missing' : row.split('|')[4]!.trim().startsWith('yes') ? 'yes' : 'no';
      t.equal(documented, exposed.includes(name) ? 'yes' : 'no', `docs: ${name} ${exposed.includes(name) ? 'exported' : 'not exported'}`);
    }

    if (!existsSync(PROMTOOL)) {
      t.fail(`${PROMTOOL} is missing (apt-get install prometheus)`);
      return;
    }
    const r = promtool(text);
    const ours = r.output.split('\n').filter((l) => l !== '' && !l.startsWith('DCGM_'));
    t.same(ours, [], 'promtool complains only about the dcgm-exporter names and labels, never ours', { output: r.output });
    const gantryOnly = text
      .split('\n')
      .filter((l) => !/^(# (HELP|TYPE) )?DCGM_/.test(l))
      .join('\n');
    t.equal(promtool(gantryOnly).status, 0, 'the gantry_agent_* part alone is clean');
  });

  await t.test('no process left behind', async (t) => {
    const [a, b] = await Promise.all([plain.child.stop(), dcgm.child.stop()]);
    t.equal(a, 0, 'agent stops cleanly');
    t.equal(b, 0, 'dcgm agent stops cleanly');
    t.same(processesWithMarker(mark), [], 'nothing with our marker still runs');
  });
});
