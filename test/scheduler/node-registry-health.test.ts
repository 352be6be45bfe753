/**
 * Health policy (scheduler/node-registry.ts): a node whose agent reports a `fail` verdict is
 * cordoned by the scheduler with the reason `health: <checks>`, and that cordon is lifted when the
 * node is healthy again (README "Node states", `gantry cordon`); an operator's cordon is never
 * lifted by health. A real scheduler and a real agent, whose stand-in nvidia-smi re-reads its
 * capture file at each call: the file is switched between two real GB200 captures (healthy, and one
 * with injected uncorrectable ECC errors), as a GPU going bad and being repaired would.
 */
import { copyFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { NodeRecord } from '../../shared/domain/index.js';
import { HEALTH_CORDON_PREFIX } from '../../scheduler/node-registry.js';
import { ECC_CHECK } from '../../agent/health/index.js';
import { FIXTURES, gantryCli, listNodes, startAgent, startScheduler, tempDir, waitFor } from '../harness/cluster.js';

const HEALTHY = path.join(FIXTURES, 'k8s-test-infra', 'qx-gb200-healthy.xml');
const ECC = path.join(FIXTURES, 'k8s-test-infra', 'qx-gb200-ecc-injected.xml');
const NODE = 'gb200-health';

/** Replaces the capture in one rename, so the stand-in never reads half a file. */
function useCapture(target: string, source: string): void {
  copyFileSync(source, `${target}.new`);
  renameSync(`${target}.new`, target);
}

async function nodeWhen(address: string, what: string, ok: (n: NodeRecord) => boolean): Promise<NodeRecord> {
  return waitFor(what, async () => (await listNodes(address)).find((n) => n.name === NODE && ok(n)), 30_000, 200);
}

async function cli(t: Test, args: string[]): Promise<string> {
  const r = await gantryCli(args);
  t.equal(r.code, 0, `gantry ${args.join(' ')} exits 0`, { stderr: r.stderr });
  return r.stdout;
}

/** The `scheduling:` line of `gantry node NAME`. */
async function schedulingLine(t: Test, address: string): Promise<string> {
  const out = await cli(t, ['node', NODE, '--scheduler', address]);
  return /^scheduling:\s+(.*)$/m.exec(out)?.[1] ?? `(no scheduling line in: ${out})`;
}

t.test('a fail verdict cordons the node, recovery lifts it; an operator cordon stays', async (t) => {
  const sched = await startScheduler(t);
  const dir = tempDir(t, 'gantry-health-cordon-');
  const capture = path.join(dir, 'capture.xml');
  useCapture(capture, HEALTHY);
  const agent = await startAgent(t, NODE, sched.address, {
    capture,
    // Every probe a full -q -x one (ECC counters are in it), every 300 ms; no topo -m capture for this tray.
    extraArgs: ['--set', 'collectIntervalMs=300', '--set', 'collectors.nvidia.fullProbeEveryCycles=1', '--set', 'collectors.nvidia.timeoutMs=10000'],
    env: { GANTRY_SIM_NVIDIA_TOPO: '', NODE_OPTIONS: '' },
  });
  t.teardown(() => agent.child.stop());

  await nodeWhen(sched.address, 'ready, healthy, schedulable', (n) => n.connectivity === 'ready' && n.health === 'ok' && n.schedulability === 'schedulable');

  // 1. The GPU goes bad: health cordons the node, naming the check.
  useCapture(capture, ECC);
  const failed = await nodeWhen(sched.address, 'cordoned by health', (n) => n.health === 'fail' && n.schedulability === 'cordoned');
  t.ok(failed.schedulabilityReason.startsWith(HEALTH_CORDON_PREFIX), `reason is health's: ${failed.schedulabilityReason}`);
  const eccGpu = failed.verdicts.find((v) => v.check === ECC_CHECK && v.severity === 'fail')?.gpu;
  t.ok(eccGpu !== undefined, 'an ECC fail verdict on a GPU', { verdicts: failed.verdicts });
  t.match(failed.schedulabilityReason, new RegExp(`\\b${ECC_CHECK} gpu ${eccGpu}\\b`), 'the reason names the check and the GPU');
  t.equal(await schedulingLine(t, sched.address), `cordoned (${failed.schedulabilityReason})`, 'gantry node shows the cordon and its reason');

  // 2. Repaired: health lifts its own cordon.
  useCapture(capture, HEALTHY);
  const lifted = await nodeWhen(sched.address, 'health ok again', (n) => n.health === 'ok');
  t.equal(lifted.schedulability, 'schedulable', 'the health cordon is lifted with the recovery');
  t.equal(lifted.schedulabilityReason, '', 'no reason left');
  t.equal(await schedulingLine(t, sched.address), 'schedulable', 'gantry node shows it schedulable');

  // 3. An operator's cordon: health failing and recovering leaves it as it is.
  t.match(await cli(t, ['cordon', NODE, '--reason', 'bios update', '--scheduler', sched.address]), /cordoned \(bios update\)/);
  useCapture(capture, ECC);
  const failedAgain = await nodeWhen(sched.address, 'health fail under the operator cordon', (n) => n.health === 'fail');
  t.equal(failedAgain.schedulability, 'cordoned');
  t.equal(failedAgain.schedulabilityReason, 'bios update', 'the operator reason is kept, not replaced by health');
  useCapture(capture, HEALTHY);
  const recovered = await nodeWhen(sched.address, 'health ok under the operator cordon', (n) => n.health === 'ok');
  // A lift would be in the same stored change as the health transition, so it would be visible now.
  t.equal(recovered.schedulability, 'cordoned', 'health recovering does not lift an operator cordon');
  t.equal(recovered.schedulabilityReason, 'bios update');
  t.equal(await schedulingLine(t, sched.address), 'cordoned (bios update)', 'gantry node still shows the operator cordon');

  t.match(await cli(t, ['uncordon', NODE, '--scheduler', sched.address]), /schedulable/);
  t.equal(await agent.child.stop(), 0, 'the agent stops cleanly');
});
