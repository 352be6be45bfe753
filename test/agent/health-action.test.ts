/**
 * Health to action, end to end: a real agent child process with the stand-in nvidia-smi serving a
 * DERIVED GB200 capture (gpu_recovery_action Reboot on GPU 2; test/fixtures/derived/README.md) and a
 * kernel log with the XID 79 line (derived log) on GPU 0, connected to a real scheduler over loopback
 * gRPC. The verdicts reach the scheduler with the action and remedy their rules give, and the built
 * CLI shows them: `gantry nodes --json`, `gantry nodes` (ACTION column), `gantry node NAME`.
 * Then the capture is swapped for the Drain one: the verdict follows (action drain).
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { GPU_RECOVERY_CHECK, XID_CHECK } from '../../agent/health/index.js';
import { listNodes, startAgent, startScheduler, tempDir } from '../harness/cluster.js';
import { CHILD_ENV, DERIVED, marker, onGpu, processesWithMarker, readCapture, realXidLine, runCli, until } from './sim.js';

interface V {
  check: string;
  severity: string;
  gpu?: number;
  action?: string;
  remedy?: string;
  evidence: string;
}

t.test('verdict action and remedy reach the scheduler and the CLI', async (t) => {
  const sched = await startScheduler(t);
  const dir = tempDir(t, 'gantry-health-action-');
  // The agent reads the capture's path at every probe: copy the derived captures over this one.
  const capture = path.join(dir, 'qx.xml');
  copyFileSync(path.join(DERIVED, 'qx-gb200-recovery-reboot.xml'), capture);
  const reboot = readCapture(capture);
  const kernelLog = path.join(dir, 'kmsg.txt');
  writeFileSync(kernelLog, onGpu(realXidLine(path.join(DERIVED, 'dmesg-xid-classes.txt'), 79), reboot.gpus[0]!.busId) + '\n');
  const mark = marker();
  const agent = await startAgent(t, 'gb200-act', sched.address, {
    capture,
    extraArgs: [
      '--set', 'collectIntervalMs=300',
      '--set', 'collectors.nvidia.timeoutMs=10000',
      '--set', 'collectors.kernelLog.enabled=true',
      '--set', `collectors.kernelLog.path=${kernelLog}`,
    ],
    env: { ...CHILD_ENV, GANTRY_SIM_NVIDIA_TOPO: '', [mark.name]: mark.value },
  });
  t.teardown(() => agent.child.stop());

  const has = (vs: V[], check: string, gpu: number, action: string, remedy: string): boolean =>
    vs.some((v) => v.check === check && v.gpu === gpu && v.severity === 'fail' && v.action === action && v.remedy === remedy);
  const verdictsVia = async (): Promise<V[]> => (await listNodes(sched.address)).find((n) => n.name === 'gb200-act')?.verdicts ?? [];

  await until('ListNodes: gpu-recovery reboot on GPU 2 and XID 79 on GPU 0', async () => {
    const vs = await verdictsVia();
    return has(vs, GPU_RECOVERY_CHECK, 2, 'evict', 'reboot') && has(vs, XID_CHECK, 0, 'evict', 'reboot') ? vs : undefined;
  });
  t.pass('ListNodes carries both verdicts with action evict, remedy reboot');

  const json = await runCli(t, ['nodes', '--json', '--scheduler', sched.address]);
  t.equal(json.code, 0, json.stderr);
  const node = (JSON.parse(json.stdout) as Array<{ name: string; verdicts: V[] }>).find((n) => n.name === 'gb200-act');
  t.ok(node && has(node.verdicts, GPU_RECOVERY_CHECK, 2, 'evict', 'reboot'), 'gantry nodes --json: action and remedy', { verdicts: node?.verdicts });

  const table = await runCli(t, ['nodes', '--scheduler', sched.address]);
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, /^NAME\s+STATE\s+SCHEDULING\s+HEALTH\s+ACTION\s/, 'gantry nodes: an ACTION column');
  t.match(table.stdout, /\ngb200-act\s.*\sfail\s+evict \(reboot\)\s/, 'gantry nodes: the strongest action and the remedy');

  const show = await runCli(t, ['node', 'gb200-act', '--scheduler', sched.address]);
  t.equal(show.code, 0, show.stderr);
  t.match(show.stdout, /verdict:\s+fail gpu-recovery gpu 2 \[evict, remedy reboot\]: gpu_recovery_action Reboot/, 'gantry node: the recovery verdict');
  t.match(show.stdout, /verdict:\s+fail xid gpu 0 \[evict, remedy reboot\]: Xid 79/, 'gantry node: the XID verdict');

  // The driver now asks for a drain on GPU 3 (and no longer a reboot on GPU 2).
  copyFileSync(path.join(DERIVED, 'qx-gb200-recovery-drain.xml'), capture);
  const vs = await until('ListNodes: gpu-recovery drain on GPU 3', async () => {
    const vs = await verdictsVia();
    return has(vs, GPU_RECOVERY_CHECK, 3, 'drain', 'reset-gpu') && !vs.some((v) => v.check === GPU_RECOVERY_CHECK && v.gpu === 2) ? vs : undefined;
  });
  t.ok(has(vs, XID_CHECK, 0, 'evict', 'reboot'), 'the XID 79 verdict stays (sticky)');
  const after = await until('gantry node shows the drain', async () => {
    const r = await runCli(t, ['node', 'gb200-act', '--scheduler', sched.address]);
    return /fail gpu-recovery gpu 3 \[drain, remedy reset-gpu\]/.test(r.stdout) ? r : undefined;
  });
  t.pass('gantry node: fail gpu-recovery gpu 3 [drain, remedy reset-gpu]');
  t.equal(after.code, 0);

  t.equal(await agent.child.stop(), 0, 'the agent stops cleanly');
  t.same(processesWithMarker(mark), [], 'nothing left running');
});
