/**
 * The stand-in nvidia-smi's --query-compute-apps: the real idle and loaded sections of every
 * nvidia_gpu_exporter capture, the fields asked for in order, the capture's GPU UUIDs replaced by
 * the served GPUs', the pids by GANTRY_SIM_COMPUTE_APPS_PIDS, the state switched by a file.
 * The expected rows come from the capture text itself (test/agent/core/nvidia/capture-processes.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parseComputeAppsCsv } from '../../../agent/core/index.js';
import { H100_XML, SIM_NVIDIA_SMI } from '../../harness/cluster.js';
import { csvRecords, EXPORTER_CAPTURES, exporterSection } from '../../agent/core/nvidia/capture-processes.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-sim-apps-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function smi(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(SIM_NVIDIA_SMI, args, { env: { PATH: process.env.PATH, GANTRY_SIM_NVIDIA_XML: H100_XML, GANTRY_SIM_NODE: 'gpu-07', GANTRY_SIM_CACHE_DIR: path.join(dir, 'cache'), ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
const APPS = ['--query-compute-apps=gpu_uuid,pid,process_name,used_memory', '--format=csv'];

t.test('each capture: idle has no processes, load its real ones, on the served GPU 0', async (t) => {
  t.ok(EXPORTER_CAPTURES.length >= 3);
  const gpu0 = (await smi(['--query-gpu=uuid', '--format=csv,noheader'], {})).stdout.split('\n')[0]!.trim();
  t.match(gpu0, /^GPU-[0-9a-f-]{36}$/);
  for (const cap of EXPORTER_CAPTURES) {
    const name = path.basename(cap);
    const idle = await smi(APPS, { GANTRY_SIM_COMPUTE_APPS: cap, GANTRY_SIM_COMPUTE_APPS_STATE: 'idle' });
    t.equal(idle.code, 0, idle.stderr);
    t.same(parseComputeAppsCsv(idle.stdout), [], `${name} idle: none`);
    const load = await smi(APPS, { GANTRY_SIM_COMPUTE_APPS: cap, GANTRY_SIM_COMPUTE_APPS_STATE: 'load' });
    const want = csvRecords(exporterSection(cap, 'load', 'query-compute-apps (per-process)').output);
    t.ok(want.length > 0, `${name} has loaded processes`);
    t.same(
      parseComputeAppsCsv(load.stdout).map((p) => [p.gpuUuid, p.pid, p.name, p.usedMemoryBytes]),
      want.map((r) => [gpu0, Number(r.get('pid')), r.get('process_name'), Number(r.get('used_gpu_memory')!.replace(' MiB', '')) * 2 ** 20]),
      `${name} load: the capture's rows`,
    );
  }
});

t.test('pids replaced row by row; the state switched by a file; unknown fields refused', async (t) => {
  const cap = EXPORTER_CAPTURES.find((c) => c.includes('h100'))!;
  const stateFile = path.join(dir, 'state');
  writeFileSync(stateFile, 'load');
  const env = { GANTRY_SIM_COMPUTE_APPS: cap, GANTRY_SIM_COMPUTE_APPS_STATE_FILE: stateFile, GANTRY_SIM_COMPUTE_APPS_PIDS: '4242,4343' };
  t.same(parseComputeAppsCsv((await smi(APPS, env)).stdout).map((p) => p.pid), [4242, 4343, 11345]);
  writeFileSync(stateFile, 'idle');
  t.same(parseComputeAppsCsv((await smi(APPS, env)).stdout), [], 'switched to idle by the file');
  const bad = await smi(['--query-compute-apps=pid,bogus', '--format=csv'], env);
  t.equal(bad.code, 2);
  t.match(bad.stdout, 'Field "bogus" is not a valid field to query.');
  t.same(parseComputeAppsCsv((await smi(APPS, {})).stdout), [], 'without a capture: no processes');
});
