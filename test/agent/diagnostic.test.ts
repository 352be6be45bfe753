/**
 * The node diagnostic on a real agent (agent/diagnostic.ts, issue 20 point 4), driven by a fake
 * scheduler (a gRPC AgentService on loopback) that sends RunDiagnostic and reads DiagnosticResult:
 * - a configured script that passes, fails, or hangs past health.diagnostic.timeoutMs (its whole
 *   process group killed); none configured (and no dcgmi on PATH) is an error; a `dcgmi` on PATH is the default;
 * - the kmsg watermark: an agent whose kmsg file holds a sticky XID passes a diagnostic, the XID
 *   verdict goes; restarted with the same state dir and the same kmsg file it does not report that
 *   XID again, while a new XID line appended later is reported.
 */
import t, { type Test } from 'tap';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadGantryProto, type AgentMessage__Output, type SchedulerMessage } from '../../shared/proto/index.js';
import { XID_CHECK } from '../../agent/health/index.js';
import { WATERMARK_FILE } from '../../agent/kmsg-watermark.js';
import { H100_XML, httpGet, pidAlive, startAgent, tempDir, waitFor, type Agent } from '../harness/cluster.js';
import { DERIVED, onGpu, parseProm, promValue, readCapture, realXidLine } from './sim.js';

const { proto } = loadGantryProto();
type Stream = grpc.ServerDuplexStream<AgentMessage__Output, SchedulerMessage>;
type Result = NonNullable<AgentMessage__Output['diagnosticResult']>;
type Verdict = { check: string; severity: string; gpu: number | null | undefined; evidence: string };

/** A fake scheduler: the agent's latest stream, its latest verdicts (register or report) and its diagnostic answers. */
interface FakeScheduler {
  address: string;
  stream(): Stream | undefined;
  verdicts(): Verdict[] | undefined;
  registrations: number;
  results: Map<string, Result>;
  /** Every verdict list the agent sent, in order. */
  history: Verdict[][];
}

async function fakeScheduler(t: Test): Promise<FakeScheduler> {
  let stream: Stream | undefined;
  let verdicts: Verdict[] | undefined;
  const fake: FakeScheduler = {
    address: '',
    stream: () => stream,
    verdicts: () => verdicts,
    registrations: 0,
    results: new Map(),
    history: [],
  };
  const server = new grpc.Server();
  const severity = (s: unknown): string => String(s).replace('SEVERITY_', '').toLowerCase();
  const keep = (vs: ReadonlyArray<{ check: string; severity: unknown; gpu?: number | null; evidence: string }>): void => {
    verdicts = vs.map((v) => ({ check: v.check, severity: severity(v.severity), gpu: v.gpu, evidence: v.evidence }));
    fake.history.push(verdicts);
  };
  server.addService(proto.gantry.v1.AgentService.service, {
    Connect: (call: Stream) => {
      call.on('data', (m: AgentMessage__Output) => {
        if (m.register) {
          fake.registrations++;
          stream = call;
          keep(m.register.verdicts);
          call.write({ registered: { schedulerId: 'fake', reportIntervalMs: 250 } });
        } else if (m.report?.verdictsChanged) keep(m.report.verdicts);
        else if (m.diagnosticResult) fake.results.set(m.diagnosticResult.requestId, m.diagnosticResult);
      });
      call.on('error', () => {});
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  fake.address = `127.0.0.1:${port}`;
  return fake;
}

let requests = 0;
/** Sends RunDiagnostic on the agent's stream and waits for its answer. */
async function diagnose(fake: FakeScheduler, timeoutMs = 30_000): Promise<Result> {
  const requestId = `req-${++requests}`;
  fake.stream()!.write({ runDiagnostic: { requestId, reason: 'health: xid gpu 3' } });
  return waitFor(`the answer to ${requestId}`, () => fake.results.get(requestId), timeoutMs);
}

/** A diagnostic script that does what its mode file says: pass, fail, or hang (with a child of its own). */
function diagnosticScript(dir: string): { script: string; mode(m: 'pass' | 'fail' | 'hang'): void; childPidFile: string } {
  const script = path.join(dir, 'diag.sh');
  const modeFile = path.join(dir, 'mode');
  const childPidFile = path.join(dir, 'child.pid');
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      `mode=$(cat ${modeFile})`,
      'echo "diagnostic: start ($mode)"',
      'case "$mode" in',
      '  pass) echo "diagnostic: all tests Pass"; exit 0 ;;',
      '  fail) echo "GPU 3: Memory test FAIL" >&2; exit 1 ;;',
      `  hang) sleep 300 & echo $! > ${childPidFile}; wait ;;`,
      'esac',
    ].join('\n') + '\n',
  );
  chmodSync(script, 0o755);
  return { script, mode: (m) => writeFileSync(modeFile, m), childPidFile };
}

async function metric(agent: Agent, result: string): Promise<number> {
  const s = parseProm(await httpGet(`http://127.0.0.1:${agent.metricsPort}/metrics`)).samples;
  return promValue(s, 'gantry_agent_diagnostics_total', { result }) ?? 0;
}

t.test('RunDiagnostic runs the configured command and answers', async (t) => {
  const fake = await fakeScheduler(t);
  const dir = tempDir(t, 'gantry-diag-');
  const d = diagnosticScript(dir);
  const agent = await startAgent(t, 'diag-1', fake.address, {
    extraArgs: ['--set', `health.diagnostic.command=${d.script}`, '--set', 'health.diagnostic.timeoutMs=1500'],
  });
  await waitFor('the agent registered', () => fake.stream(), 30_000);

  d.mode('pass');
  const pass = await diagnose(fake);
  t.equal(pass.passed, true, 'exit 0 passes');
  t.equal(pass.error, '', 'no error');
  t.equal(pass.command, d.script, 'the answer names the command');
  t.match(pass.outputTail, /diagnostic: start \(pass\)\ndiagnostic: all tests Pass\n$/, 'with the output');
  t.ok(Number(pass.finishedUnixMs) >= Number(pass.startedUnixMs) && Number(pass.startedUnixMs) > 0, 'started and finished times');

  d.mode('fail');
  const fail = await diagnose(fake);
  t.equal(fail.passed, false, 'exit 1 fails');
  t.equal(fail.error, '', 'a failure is not an error: it ran');
  t.match(fail.outputTail, /GPU 3: Memory test FAIL/, 'stderr is in the tail too');

  d.mode('hang');
  const hanging = diagnose(fake);
  // One at a time: a second request while one runs is answered at once with an error.
  await waitFor('the hung diagnostic started its child', () => existsSync(d.childPidFile), 10_000);
  const second = await diagnose(fake);
  t.equal(second.passed, false, 'a second request while one runs does not pass');
  t.equal(second.error, 'a diagnostic is already running on this node', 'it says one is running');
  const hang = await hanging;
  t.equal(hang.passed, false, 'a hang does not pass');
  t.match(hang.error, /^timed out after 1500 ms \(health\.diagnostic\.timeoutMs\); its process group was killed$/, 'the timeout is an error');
  const childPid = Number(readFileSync(d.childPidFile, 'utf8'));
  await waitFor('the hung diagnostic\'s own child is gone with its group', () => !pidAlive(childPid), 10_000);
  t.pass(`its child ${childPid} was killed with the group`);

  t.equal(await metric(agent, 'passed'), 1, 'gantry_agent_diagnostics_total{result="passed"}');
  t.equal(await metric(agent, 'failed'), 1, 'gantry_agent_diagnostics_total{result="failed"}');
  t.equal(await metric(agent, 'error'), 2, 'gantry_agent_diagnostics_total{result="error"}: the timeout and the refused second request');
  t.equal(agent.child.proc.exitCode, null, 'the agent runs on');
});

t.test('no command configured: dcgmi from PATH, else an error that says so', async (t) => {
  const fake = await fakeScheduler(t);
  const bin = tempDir(t, 'gantry-diag-bin-');
  const noDcgmi = { PATH: process.env.PATH!.split(path.delimiter).filter((p) => !existsSync(path.join(p, 'dcgmi'))).join(path.delimiter) };
  const none = await startAgent(t, 'diag-none', fake.address, { env: noDcgmi });
  await waitFor('the agent registered', () => fake.stream(), 30_000);
  const r = await diagnose(fake);
  t.equal(r.passed, false);
  t.equal(r.error, 'no diagnostic configured (health.diagnostic.command)', 'the error names the key');
  t.equal(r.command, '');
  await none.child.stop();

  // A stand-in dcgmi that records its arguments.
  const args = path.join(bin, 'args');
  writeFileSync(path.join(bin, 'dcgmi'), `#!/bin/sh\necho "$@" > ${args}\necho "Diagnostic | Result: Pass"\n`);
  chmodSync(path.join(bin, 'dcgmi'), 0o755);
  const before = fake.registrations;
  await startAgent(t, 'diag-dcgmi', fake.address, { env: { PATH: `${bin}${path.delimiter}${noDcgmi.PATH}` } });
  await waitFor('the second agent registered', () => fake.registrations > before, 30_000);
  const dr = await diagnose(fake);
  t.equal(dr.passed, true, 'the default diagnostic ran and passed');
  t.equal(dr.command, 'dcgmi diag -r 1', 'the default is dcgmi diag -r 1');
  t.equal(readFileSync(args, 'utf8'), 'diag -r 1\n', 'with those arguments');
});

/** A dmesg line as a /dev/kmsg record. */
function kmsg(line: string, seq: number, usSinceBoot: number): string {
  return `3,${seq},${usSinceBoot},-;${line.replace(/^\[[^\]]*\]\s*/, '')}`;
}

t.test('a pass clears the sticky XID, and a restarted agent does not bring it back; a new XID is reported', async (t) => {
  const fake = await fakeScheduler(t);
  const dir = tempDir(t, 'gantry-diag-wm-');
  const d = diagnosticScript(dir);
  d.mode('pass');
  const stateDir = path.join(dir, 'state');
  mkdirSync(stateDir);
  const h100 = readCapture(H100_XML);
  const xid79 = realXidLine(path.join(DERIVED, 'dmesg-xid-classes.txt'), 79);
  const kernelLog = path.join(dir, 'kmsg');
  // Other kernel records around it, as in a real ring buffer.
  writeFileSync(kernelLog, ['6,100,1000000,-;usb 1-1: new high-speed USB device', kmsg(onGpu(xid79, h100.gpus[3]!.busId), 101, 2_000_000), '6,102,3000000,-;eth0: link up'].join('\n') + '\n');
  const opts = {
    stateDir,
    extraArgs: ['--set', 'collectIntervalMs=300', '--set', 'collectors.kernelLog.enabled=true', '--set', `collectors.kernelLog.path=${kernelLog}`, '--set', `health.diagnostic.command=${d.script}`],
  };
  const xidVerdicts = (): Verdict[] => (fake.verdicts() ?? []).filter((v) => v.check === XID_CHECK);

  const agent = await startAgent(t, 'diag-wm', fake.address, opts);
  await waitFor('the sticky XID 79 on GPU 3 is reported', () => xidVerdicts().some((v) => v.severity === 'fail' && v.gpu === 3), 30_000);
  t.pass('XID 79 fails GPU 3');

  const r = await diagnose(fake);
  t.equal(r.passed, true, 'the diagnostic passed');
  t.same(xidVerdicts(), [], 'the report sent before the answer has no XID verdict left');
  const wm = JSON.parse(readFileSync(path.join(stateDir, WATERMARK_FILE), 'utf8')) as { bootId: string; seq: number };
  t.equal(wm.seq, 101, 'the watermark is the XID record\'s kmsg sequence number');
  t.equal(wm.bootId, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), 'with this boot\'s id');
  t.equal(await agent.child.stop(), 0, 'the agent stops');

  const historyAt = fake.history.length;
  const regsAt = fake.registrations;
  const again = await startAgent(t, 'diag-wm', fake.address, opts);
  await waitFor('the restarted agent registered', () => fake.registrations > regsAt, 30_000);
  // Several collection cycles: the kmsg file is read from its start at the first.
  await waitFor('a few reports from the restarted agent', async () => {
    const s = parseProm(await httpGet(`http://127.0.0.1:${again.metricsPort}/metrics`)).samples;
    return (promValue(s, 'gantry_agent_reports_sent_total') ?? 0) >= 4;
  });
  t.same(
    fake.history.slice(historyAt).flat().filter((v) => v.check === XID_CHECK),
    [],
    'the restarted agent never reports the cleared XID (same state dir, same kmsg file)',
  );

  appendFileSync(kernelLog, kmsg(onGpu(xid79, h100.gpus[5]!.busId), 103, 4_000_000) + '\n');
  await waitFor('the new XID 79 on GPU 5 is reported', () => xidVerdicts().some((v) => v.severity === 'fail' && v.gpu === 5), 30_000);
  t.same(xidVerdicts().map((v) => v.gpu), [5], 'only the new one: GPU 3\'s stays cleared');
});
