/**
 * The agent daemon (agent/main.ts) as a real child process, connected to a real scheduler child
 * process over loopback gRPC: bad nvidia-smi output on a running agent becomes a health verdict at
 * the scheduler and on /metrics, the agent keeps running and recovers on the next good probe; faulty
 * captures and kernel-log XIDs reach the scheduler's ListNodes as the node's health.
 * Everything is read back through the built CLI (`gantry nodes --json`) and the agent's /metrics.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ECC_CHECK, GPU_LOST_CHECK, PROBE_CHECK, ROW_REMAP_CHECK, XID_CHECK } from '../../agent/health/index.js';
import { H100_XML, httpGet, listNodes, startAgent, startScheduler, tempDir, type Agent } from '../harness/cluster.js';
import { CHILD_ENV, DERIVED, FIXTURES, marker, onGpu, parseProm, processesWithMarker, promValue, readCapture, realXidLine, runCli, until } from './sim.js';

interface NodeVerdict {
  check: string;
  severity: string;
  gpu?: number;
  evidence: string;
}
interface NodeJson {
  name: string;
  state: string;
  health: string;
  gpuCount: number;
  driver: string;
  verdicts: NodeVerdict[];
}

/** `gantry nodes --json --scheduler ADDRESS`, as an operator would run it. */
async function nodesJson(t: Test, address: string): Promise<NodeJson[]> {
  const r = await runCli(t, ['nodes', '--json', '--scheduler', address]);
  if (r.code !== 0) throw new Error(`gantry nodes exited ${r.code ?? r.signal}: ${r.stderr}`);
  return JSON.parse(r.stdout) as NodeJson[];
}

/**
 * Waits (polling ListNodes in-process, which is cheap) until the node satisfies `ok`, then reads it
 * with `gantry nodes --json` and returns what the CLI printed.
 */
async function nodeWhen(t: Test, address: string, name: string, what: string, ok: (n: NodeJson) => boolean): Promise<NodeJson> {
  const viaApi = (ns: Awaited<ReturnType<typeof listNodes>>): NodeJson | undefined => {
    const n = ns.find((x) => x.name === name);
    if (!n) return undefined;
    return { name: n.name, state: n.connectivity, health: n.health, gpuCount: n.inventory.gpus.length, driver: n.inventory.firmware.driverVersion, verdicts: n.verdicts };
  };
  await until(what, async () => {
    const n = viaApi(await listNodes(address));
    return n !== undefined && ok(n);
  });
  // The CLI is slower to poll; a probe that times out on a busy machine may hide the state for a cycle.
  const n = await until(`gantry nodes --json: ${what}`, async () => (await nodesJson(t, address)).find((x) => x.name === name && ok(x)), 30_000, 300);
  t.pass(`gantry nodes --json: ${what}`);
  return n;
}

async function scrape(agent: Agent): Promise<ReturnType<typeof parseProm>['samples']> {
  return parseProm(await httpGet(`http://127.0.0.1:${agent.metricsPort}/metrics`)).samples;
}

// A short cycle; the probe limit leaves room for the stand-in (a Node process) to start on a busy
// 2-core machine, where 1 s was seen to time out every probe and hide the states under test.
const PROBE_LIMIT_MS = 3000;
const FAST = ['--set', 'collectIntervalMs=300', '--set', `collectors.nvidia.timeoutMs=${PROBE_LIMIT_MS}`];
const h100 = readCapture(H100_XML);

// Everything that starts a process runs inside subtests, so their teardowns run even when a start fails.
t.test('agents against a real scheduler', async (t) => {
  const sched = await startScheduler(t);

  await t.test('bad nvidia-smi output on a running agent: verdict at the scheduler and on /metrics, then recovery', async (t) => {
    const dir = tempDir(t, 'gantry-agent-modes-');
    const modeFile = path.join(dir, 'mode');
    writeFileSync(modeFile, 'ok\n');
    const kernelLog = path.join(dir, 'kmsg.txt');
    writeFileSync(kernelLog, '');
    const mark = marker();
    const agent = await startAgent(t, 'gpu-node-1', sched.address, {
      extraArgs: [...FAST, '--set', 'collectors.kernelLog.enabled=true', '--set', `collectors.kernelLog.path=${kernelLog}`],
      env: { ...CHILD_ENV, GANTRY_SIM_MODE_FILE: modeFile, [mark.name]: mark.value },
    });
    // Stop it gracefully first (the harness's teardown kills with SIGKILL), so an in-flight probe is reaped.
    t.teardown(() => agent.child.stop());

    const healthy = await nodeWhen(t, sched.address, 'gpu-node-1', 'ready and healthy', (n) => n.state === 'ready' && n.health === 'ok' && n.gpuCount === h100.gpus.length);
    t.same(healthy.verdicts, [], 'no verdicts while nvidia-smi answers');
    t.equal(healthy.driver, h100.driver, 'driver from the capture');

    const errors = async (): Promise<number> => promValue(await scrape(agent), 'gantry_agent_collector_errors_total', { collector: 'nvidia' }) ?? 0;
    const steps: Array<{ mode: string; expect: (v: NodeVerdict[]) => boolean; severity: number; what: string }> = [
      {
        mode: 'garbage',
        what: `${PROBE_CHECK} warn (unparsable XML)`,
        severity: 1,
        expect: (v) => v.some((x) => x.check === PROBE_CHECK && x.severity === 'warn' && /cannot parse/.test(x.evidence)),
      },
      {
        mode: 'hang',
        what: `${PROBE_CHECK} fail (timed out)`,
        severity: 2,
        expect: (v) => v.some((x) => x.check === PROBE_CHECK && x.severity === 'fail' && new RegExp(`did not finish within ${PROBE_LIMIT_MS} ms`).test(x.evidence)),
      },
      {
        mode: 'stderr',
        what: `${PROBE_CHECK} fail (NVML error, no XML)`,
        severity: 2,
        expect: (v) => v.some((x) => x.check === PROBE_CHECK && x.severity === 'fail' && /no XML in output/.test(x.evidence)),
      },
      {
        mode: 'exit15',
        what: `${GPU_LOST_CHECK} fail on GPU 0 (the bus id in the message) and ${PROBE_CHECK} fail`,
        severity: 2,
        expect: (v) =>
          v.some((x) => x.check === GPU_LOST_CHECK && x.severity === 'fail' && x.gpu === 0) &&
          v.some((x) => x.check === PROBE_CHECK && x.severity === 'fail' && /exited with code 15/.test(x.evidence)),
      },
    ];
    let errorsBefore = await errors();
    for (const step of steps) {
      writeFileSync(modeFile, `${step.mode}\n`);
      const n = await nodeWhen(t, sched.address, 'gpu-node-1', `${step.mode}: ${step.what}`, (n) => step.expect(n.verdicts));
      t.equal(n.health, step.severity === 2 ? 'fail' : 'warn', `${step.mode}: node health ${n.health}`);
      t.equal(n.gpuCount, h100.gpus.length, `${step.mode}: the last good inventory is kept`);
      const samples = await until(`${step.mode}: /metrics shows it`, async () => {
        const s = await scrape(agent);
        return promValue(s, 'gantry_agent_health_check_severity', { check: PROBE_CHECK, gpu: '' }) === step.severity ? s : undefined;
      });
      t.pass(`${step.mode}: gantry_agent_health_check_severity{check="${PROBE_CHECK}"} = ${step.severity}`);
      const errorsNow = promValue(samples, 'gantry_agent_collector_errors_total', { collector: 'nvidia' }) ?? 0;
      t.ok(errorsNow > errorsBefore, `${step.mode}: gantry_agent_collector_errors_total{collector="nvidia"} grew (${errorsBefore} -> ${errorsNow})`);
      errorsBefore = errorsNow;
      t.equal(agent.child.proc.exitCode, null, `${step.mode}: the agent is still running`);
    }

    writeFileSync(modeFile, 'ok\n');
    const recovered = await nodeWhen(t, sched.address, 'gpu-node-1', 'verdicts gone after the next good probe', (n) => n.verdicts.length === 0);
    t.equal(recovered.health, 'ok', 'node health back to ok');
    t.equal(recovered.state, 'ready', 'still ready');
    const samples = await until('/metrics recovered', async () => {
      const s = await scrape(agent);
      return promValue(s, 'gantry_agent_health_severity') === 0 ? s : undefined;
    });
    t.equal(samples.filter((s) => s.name === 'gantry_agent_health_check_severity').length, 0, 'no health check series left');
    t.equal(samples.filter((s) => s.name === 'gantry_agent_gpu_temperature_celsius').length, h100.gpus.length, 'GPU readings are back');
    t.ok((promValue(samples, 'gantry_agent_collector_errors_total', { collector: 'nvidia' }) ?? 0) >= errorsBefore, 'the error counter never goes back');
    t.equal(agent.child.proc.exitCode, null, 'the agent ran through it all');

    // Then the driver reports GPU 3 off the bus (the XID 79 line of the derived log, on GPU 3's bus id).
    const gpu = 3;
    appendFileSync(kernelLog, onGpu(realXidLine(path.join(DERIVED, 'dmesg-xid-classes.txt'), 79), h100.gpus[gpu]!.busId) + '\n');
    const failed = await nodeWhen(t, sched.address, 'gpu-node-1', `XID 79 fails GPU ${gpu}`, (n) =>
      n.verdicts.some((v) => v.check === XID_CHECK && v.severity === 'fail' && v.gpu === gpu && /Xid 79/.test(v.evidence)),
    );
    t.equal(failed.health, 'fail', 'node health fail');
    // (A probe timing out on a busy machine may add a transient gpu-probe verdict; only XIDs are counted.)
    t.equal(failed.verdicts.filter((v) => v.check === XID_CHECK).length, 1, 'only that XID verdict');
    const s = await until('XID on /metrics', async () => {
      const s = await scrape(agent);
      return promValue(s, 'gantry_agent_health_check_severity', { check: XID_CHECK, gpu: String(gpu) }) === 2 ? s : undefined;
    });
    t.equal(promValue(s, 'gantry_agent_gpu_xid_events_total', { xid: '79' }), 1, 'gantry_agent_gpu_xid_events_total counts the XID once');

    t.equal(await agent.child.stop(), 0, 'the agent stops cleanly on SIGTERM');
    t.same(processesWithMarker(mark), [], 'no agent, stand-in nvidia-smi or child of theirs left running');
  });

  await t.test('faulty captures make the node fail at the scheduler, with the check name', async (t) => {
    const eccCapture = readCapture(path.join(FIXTURES, 'k8s-test-infra', 'qx-gb200-ecc-injected.xml'));
    const lostCapture = readCapture(path.join(FIXTURES, 'k8s-test-infra', 'qx-gb200-lost.xml'));
    // Read from the captures here: which GPU has volatile uncorrectable ECC errors, which one is lost.
    const eccGpu = eccCapture.gpus.find((g) => Number(/<volatile>[\s\S]*?<dram_uncorrectable>(\d+)</.exec(g.body)?.[1] ?? 0) > 0)!;
    const lostGpu = lostCapture.gpus.find((g) => g.body.includes('GPU is lost'))!;
    t.ok(eccGpu && lostGpu, `the captures show a fault (ECC on GPU ${eccGpu?.index}, lost GPU ${lostGpu?.index})`);

    const mark = marker();
    // No topo -m capture for these 2-GPU trays; a generous limit, as nothing here is about timeouts.
    // The first probe, before registering, already judges the capture: the harness's 1 s cycle is plenty.
    const opts = { extraArgs: ['--set', 'collectors.nvidia.timeoutMs=10000'], env: { ...CHILD_ENV, GANTRY_SIM_NVIDIA_TOPO: '', [mark.name]: mark.value } };
    const [ecc, lost] = await Promise.all([
      startAgent(t, 'gb200-ecc', sched.address, { capture: eccCapture.path, ...opts }),
      startAgent(t, 'gb200-lost', sched.address, { capture: lostCapture.path, ...opts }),
    ]);
    for (const a of [ecc, lost]) t.teardown(() => a.child.stop());

    const e = await nodeWhen(t, sched.address, 'gb200-ecc', `${ECC_CHECK} fail on GPU ${eccGpu.index}`, (n) =>
      n.verdicts.some((v) => v.check === ECC_CHECK && v.severity === 'fail' && v.gpu === eccGpu.index),
    );
    t.equal(e.health, 'fail', 'gb200-ecc: node health fail');
    t.ok(e.verdicts.some((v) => v.check === ROW_REMAP_CHECK && v.gpu === eccGpu.index), `gb200-ecc: ${ROW_REMAP_CHECK} on GPU ${eccGpu.index} too`);
    t.ok(e.verdicts.every((v) => v.gpu === eccGpu.index), 'gb200-ecc: the healthy GPU has no verdict', { verdicts: e.verdicts });
    const l = await nodeWhen(t, sched.address, 'gb200-lost', `${GPU_LOST_CHECK} fail on GPU ${lostGpu.index}`, (n) =>
      n.verdicts.some((v) => v.check === GPU_LOST_CHECK && v.severity === 'fail' && v.gpu === lostGpu.index),
    );
    t.equal(l.health, 'fail', 'gb200-lost: node health fail');
    t.equal(l.gpuCount, lostCapture.gpus.length, 'gb200-lost: the lost GPU is still listed');

    for (const a of [ecc, lost]) t.equal(await a.child.stop(), 0, `${a.name} stops cleanly`);
    t.same(processesWithMarker(mark), [], 'nothing left running');
  });
});
