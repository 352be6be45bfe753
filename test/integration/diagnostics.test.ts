/**
 * Diagnostics and return end to end (issue 20 point 4): a real scheduler, real agents, real NATS.
 * A sticky fail XID (a kmsg-format line appended to the agent's kernel-log file) cordons the node
 * ('health: xid gpu 3'; its action set to cordon with health.xid.actions, so the rank running there
 * is not evicted and keeps running); while a rank still runs there no diagnostic runs; once the job is gone
 * the node runs its diagnostic (a passing script), is uncordoned with exactly one 'returned' event,
 * and `gantry nodes` shows the last diagnostic passed. A node whose diagnostic fails stays cordoned,
 * its tries bounded by health.diagnostic.maxTries, with the what-to-do in its event.
 */
import t from 'tap';
import { appendFileSync, chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GantryEvent, NodeEvent } from '../../shared/events/index.js';
import { gantryCli as cli, H100_XML, httpGet, jobView, listNodes, specSubmitter, startAgent, startNats, startScheduler, streamEvents, tempDir, waitFor, type Agent } from '../harness/cluster.js';
import { DERIVED, onGpu, parseProm, promValue, readCapture, realXidLine } from '../agent/sim.js';

const MAX_TRIES = 2;
const HOLD_DOWN_MS = 400;

function script(dir: string, name: string, exit: number, line: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, `#!/bin/sh\necho "${line}"\nexit ${exit}\n`);
  chmodSync(f, 0o755);
  return f;
}

async function metric(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  return promValue(parseProm(await httpGet(`http://127.0.0.1:${port}/metrics`)).samples, name, labels) ?? 0;
}

const nodeEvents = (all: GantryEvent[], node: string): NodeEvent[] => all.filter((e): e is NodeEvent => e.kind === 'node' && e.node === node);

t.test('a node drained for health runs its diagnostic: a pass returns it once, a failure keeps it drained', async (t) => {
  const nats = await startNats(t);
  const schedArgs = {
    natsUrl: nats.url,
    extraArgs: ['--set', `health.diagnostic.maxTries=${MAX_TRIES}`, '--set', `health.diagnostic.holdDownMs=${HOLD_DOWN_MS}`, '--set', 'jobs.cycleIntervalMs=200', '--set', 'jobs.stopSlackMs=1000'],
  };
  let sched = await startScheduler(t, schedArgs);
  const env = { GANTRY_SCHEDULER_ADDRESS: sched.address };
  const dir = tempDir(t, 'gantry-diagnostics-');
  const h100 = readCapture(H100_XML);
  const xid79 = realXidLine(path.join(DERIVED, 'dmesg-xid-classes.txt'), 79);
  /** The XID 79 line of the derived log as a /dev/kmsg record, on GPU 3. */
  const kmsgXid = (seq: number): string => `3,${seq},${seq * 1000},-;${onGpu(xid79, h100.gpus[3]!.busId).replace(/^\[[^\]]*\]\s*/, '')}\n`;
  const agentWith = async (name: string, diag: string): Promise<{ agent: Agent; kernelLog: string }> => {
    const kernelLog = path.join(dir, `${name}.kmsg`);
    writeFileSync(kernelLog, '6,1,1000,-;kernel: booted\n');
    const agent = await startAgent(t, name, sched.address, {
      topology: { leaf: 'leaf-0' },
      extraArgs: ['--set', 'collectIntervalMs=300', '--set', 'collectors.kernelLog.enabled=true', '--set', `collectors.kernelLog.path=${kernelLog}`, '--set', `health.diagnostic.command=${diag}`, '--set', 'health.xid.actions={"79": cordon}'],
    });
    return { agent, kernelLog };
  };

  const good = await agentWith('diag-good', script(dir, 'pass.sh', 0, 'diagnostic: all tests Pass'));
  const bad = await agentWith('diag-bad', script(dir, 'fail.sh', 1, 'GPU 3: Memory test FAIL'));
  await waitFor('two ready nodes', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 2, 30_000);

  await t.test('pass: no diagnostic while a rank runs there, then returned once', async (t) => {
    const submit = specSubmitter(t, dir, env);
    const job = await submit('on-good', `kind: Training\nname: on-good\nranks: 1\ngpusPerRank: 8\nnodeSelector: {gantry.io/node: diag-good}\ncommand: ["sleep", "600"]\npreemptGraceSeconds: 1\n`);
    await waitFor('the job runs on diag-good', async () => (await jobView(sched.address, job)).state === 'running', 60_000, 300);

    appendFileSync(good.kernelLog, kmsgXid(2));
    const cordoned = await waitFor('diag-good cordoned for the XID', async () => (await listNodes(sched.address)).find((n) => n.name === 'diag-good' && n.schedulability === 'cordoned'), 30_000);
    t.equal(cordoned.schedulabilityReason, 'health: xid gpu 3', 'the health cordon names the check and GPU');
    // Several sweeps while the rank runs: none of them may start the diagnostic (not a timing check: a floor).
    await new Promise((r) => setTimeout(r, 4 * HOLD_DOWN_MS + 1000));
    t.equal(await metric(good.agent.metricsPort, 'gantry_agent_diagnostics_total', { result: 'passed' }), 0, 'no diagnostic while a rank runs on the node');
    t.equal((await listNodes(sched.address)).find((n) => n.name === 'diag-good')?.schedulability, 'cordoned', 'still cordoned');

    t.equal((await cli(['cancel', job], env)).code, 0, 'the job is cancelled');
    const back = await waitFor('diag-good returned', async () => (await listNodes(sched.address)).find((n) => n.name === 'diag-good' && n.schedulability === 'schedulable' && n.lastDiagnostic?.passed), 60_000);
    t.equal(back.schedulabilityReason, '', 'uncordoned, no reason left');
    t.equal(back.health, 'ok', 'its sticky XID verdict was cleared');
    t.match(back.lastDiagnostic, { passed: true, command: path.join(dir, 'pass.sh'), summary: 'diagnostic: all tests Pass', tries: 1 }, 'the last diagnostic is on the record');

    const table = await cli(['nodes'], env);
    t.equal(table.code, 0);
    const header = table.stdout.split('\n')[0]!;
    const row = table.stdout.split('\n').find((l) => l.startsWith('diag-good '))!;
    t.match(header, /DIAGNOSTIC/, 'gantry nodes has a DIAGNOSTIC column');
    t.match(row.slice(header.indexOf('DIAGNOSTIC')), /^passed \(try 1\) \d+s ago/, `gantry nodes shows the last diagnostic passed: ${row}`);
    const detail = await cli(['node', 'diag-good'], env);
    t.match(detail.stdout, /diagnostic:\s+passed \(try 1\) at \S+: \S+pass\.sh/, 'gantry node shows it in full');

    await waitFor('the events reached NATS', async () => nodeEvents(await streamEvents(nats.url), 'diag-good').some((e) => e.type === 'returned'), 30_000);
    // A little longer: a second return (health policy lifting the cordon too) would have come by now.
    await new Promise((r) => setTimeout(r, 1500));
    const events = nodeEvents(await streamEvents(nats.url), 'diag-good');
    t.equal(events.filter((e) => e.type === 'returned').length, 1, 'exactly one returned event');
    t.same(
      events.filter((e) => e.type === 'schedulability').map((e) => (e.type === 'schedulability' ? `${e.schedulability}:${e.reason}` : '')),
      ['cordoned:health: xid gpu 3', 'schedulable:'],
      'cordoned once, uncordoned once',
    );
    t.match(events.find((e) => e.type === 'diagnostic'), { result: 'passed', tries: 1 }, 'a diagnostic event');
    t.equal(await metric(sched.metricsPort, 'gantry_scheduler_node_diagnostics_total', { result: 'passed' }), 1, 'gantry_scheduler_node_diagnostics_total{result="passed"}');
  });

  await t.test('fail: stays cordoned, at most maxTries tries, the event says what to do', async (t) => {
    appendFileSync(bad.kernelLog, kmsgXid(2));
    await waitFor(`diag-bad tried ${MAX_TRIES} times`, async () => (await listNodes(sched.address)).find((n) => n.name === 'diag-bad' && n.lastDiagnostic?.tries === MAX_TRIES), 60_000);
    // Several more hold-downs: no further try (a floor, not a timing check).
    await new Promise((r) => setTimeout(r, 5 * HOLD_DOWN_MS + 1000));
    const n = (await listNodes(sched.address)).find((x) => x.name === 'diag-bad')!;
    t.equal(n.schedulability, 'cordoned', 'still cordoned');
    t.equal(n.schedulabilityReason, 'health: xid gpu 3');
    t.match(n.lastDiagnostic, { passed: false, summary: 'GPU 3: Memory test FAIL', tries: MAX_TRIES });
    t.equal(await metric(bad.agent.metricsPort, 'gantry_agent_diagnostics_total', { result: 'failed' }), MAX_TRIES, `the agent ran it ${MAX_TRIES} times, no more`);
    t.equal(await metric(sched.metricsPort, 'gantry_scheduler_node_diagnostics_total', { result: 'failed' }), MAX_TRIES, 'the scheduler counted as many');
    t.equal(await metric(sched.metricsPort, 'gantry_scheduler_node_diagnostic_failed', { node: 'diag-bad' }), 1, 'gantry_scheduler_node_diagnostic_failed{node="diag-bad"} for the alert');
    t.equal(await metric(sched.metricsPort, 'gantry_scheduler_nodes_drained_for_health'), 1, 'one node drained for health');

    await waitFor('the failures reached NATS', async () => nodeEvents(await streamEvents(nats.url), 'diag-bad').filter((e) => e.type === 'diagnostic').length === MAX_TRIES, 30_000);
    const diags = nodeEvents(await streamEvents(nats.url), 'diag-bad').filter((e) => e.type === 'diagnostic');
    const last = diags.at(-1)!;
    t.match(last, { result: 'failed', tries: MAX_TRIES });
    t.equal(
      last.type === 'diagnostic' ? last.todo : '',
      `node diag-bad stays drained, no more automatic tries (${MAX_TRIES} of ${MAX_TRIES}): run the diagnostic by hand (${path.join(dir, 'fail.sh')}); remedy: reboot; then gantry uncordon diag-bad`,
      'the last failure says what to do',
    );
    t.notOk(nodeEvents(await streamEvents(nats.url), 'diag-bad').some((e) => e.type === 'returned'), 'never returned');
    const table = await cli(['nodes'], env);
    const header = table.stdout.split('\n')[0]!;
    const row = table.stdout.split('\n').find((l) => l.startsWith('diag-bad '))!;
    t.match(row, /cordoned \(health: xid gpu 3\)/, 'gantry nodes shows the drain reason');
    t.match(row.slice(header.indexOf('DIAGNOSTIC')), new RegExp(`^failed \\(try ${MAX_TRIES}\\)`), `and the failed diagnostic: ${row}`);

    // A restarted scheduler keeps the last diagnostic (LMDB) and counts the drain's tries on from it.
    t.equal(await sched.child.stop(), 0, 'the scheduler stops');
    sched = await startScheduler(t, { ...schedArgs, dataDir: sched.dataDir, grpcPort: sched.grpcPort });
    await waitFor('both agents reconnected', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 2, 30_000);
    await new Promise((r) => setTimeout(r, 5 * HOLD_DOWN_MS + 1000));
    const kept = (await listNodes(sched.address)).find((x) => x.name === 'diag-bad')!;
    t.match(kept, { schedulability: 'cordoned', lastDiagnostic: { passed: false, tries: MAX_TRIES } }, 'after a restart: still cordoned, the last diagnostic kept');
    t.equal(await metric(bad.agent.metricsPort, 'gantry_agent_diagnostics_total', { result: 'failed' }), MAX_TRIES, 'and no new try');
    t.match((await listNodes(sched.address)).find((x) => x.name === 'diag-good'), { schedulability: 'schedulable', lastDiagnostic: { passed: true } }, 'the returned node keeps its passed diagnostic');
  });
});
