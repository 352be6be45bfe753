/**
 * Every node proven, on real parts: the scheduler (mTLS, grpc.tls.requireClientCert) and agents as
 * child processes, each agent with its own node certificate from shared/pki, a rank as a real
 * process. An agent holding node-b's certificate cannot pass itself off as node-a; a user's
 * certificate cannot speak the agent protocol; an agent that trusts another CA never registers;
 * an agent re-reads its certificate on SIGHUP and reconnects with it while its rank keeps running.
 */
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createCa, issueCert, type CertificateAuthority, type IssuedCert } from '../../shared/certgen/index.js';
import { loadGantryProto, type SchedulerMessage__Output, type WatchEventsResponse__Output } from '../../shared/proto/index.js';
import { schedulerCall } from '../../shared/cli/client.js';
import { emptyInventory } from '../../shared/domain/index.js';
import { inventoryToPb, jobViewFromPb, nodeFromPb } from '../../shared/wire/index.js';
import { pidAlive as alive, httpGet, startAgent, startScheduler, tempDir, waitFor } from '../harness/cluster.js';

const { proto } = loadGantryProto();

interface CertFiles {
  cert: string;
  key: string;
  serial: string;
}

function writeCert(dir: string, name: string, c: IssuedCert): CertFiles {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  writeFileSync(cert, c.cert);
  writeFileSync(key, c.key, { mode: 0o600 });
  return { cert, key, serial: c.serial };
}

/** The agent flags of a node certificate and the CA the agent verifies the scheduler with. */
const agentTls = (caFile: string, c: CertFiles): string[] => ['--set', `scheduler.tls.caFile=${caFile}`, '--set', `scheduler.tls.certFile=${c.cert}`, '--set', `scheduler.tls.keyFile=${c.key}`];

/** Log lines of a child (pino JSON on stderr) whose msg is `msg`. */
const logLines = (output: string, msg: string): Array<Record<string, unknown>> =>
  output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((j) => j.msg === msg);

t.test('node identity on an mTLS cluster', async (t) => {
  const dir = tempDir(t, 'gantry-node-identity-');
  const ca: CertificateAuthority = await createCa('gantry-test-ca');
  const caFile = path.join(dir, 'ca.crt');
  writeFileSync(caFile, ca.cert);
  const server = writeCert(dir, 'scheduler', await issueCert(ca, { kind: 'server', name: 'gantry-scheduler', hosts: ['127.0.0.1', 'localhost'] }));
  const nodeA = writeCert(dir, 'node-a', await issueCert(ca, { kind: 'node', node: 'node-a' }));
  const nodeB = writeCert(dir, 'node-b', await issueCert(ca, { kind: 'node', node: 'node-b' }));
  const aliceCert = await issueCert(ca, { kind: 'user', user: 'alice', groups: ['ml'] });

  const sched = await startScheduler(t, {
    secure: true,
    extraArgs: [
      '--set', `grpc.tls.certFile=${server.cert}`,
      '--set', `grpc.tls.keyFile=${server.key}`,
      '--set', `grpc.tls.caFile=${caFile}`,
      '--set', 'grpc.tls.requireClientCert=true',
      '--set', 'auth.roles.admin.users=[alice]',
      // The rank writes its pid into this test's (root-only) directory: it runs as root, which an admin may ask for where both sides allow it.
      '--set', 'auth.allowRoot=true',
      '--set', 'jobs.cycleIntervalMs=200',
    ],
  });
  // alice's client: a user certificate (the admin by auth.roles.admin.users).
  const aliceCreds = grpc.credentials.createSsl(Buffer.from(ca.cert), Buffer.from(aliceCert.key), Buffer.from(aliceCert.cert));
  const alice = new proto.gantry.v1.SchedulerService(sched.address, aliceCreds);
  t.teardown(() => alice.close());
  const getNode = async (name: string) => nodeFromPb(await schedulerCall(alice, 'GetNode', { name }));
  const getJob = async (id: string) => jobViewFromPb(await schedulerCall(alice, 'GetJob', { id }));

  const agentA = await startAgent(t, 'node-a', sched.address, { secure: true, extraArgs: [...agentTls(caFile, nodeA), '--set', 'runner.allowedUsers=[nobody,root]'] });
  await waitFor('node-a ready', async () => (await getNode('node-a')).connectivity === 'ready');
  const registered = await sched.child.waitForLog('agent stream registered', 5000);
  t.match(registered, { node: 'node-a', kind: 'node', via: 'certificate', serial: nodeA.serial }, 'node-a registered with its certificate');

  // A rank on node-a that writes its pid and runs until stopped.
  const pidFile = path.join(dir, 'rank.pid');
  const spec = `kind: Training\nname: hold\nranks: 1\ngpusPerRank: 1\nrunAs: root\npreemptGraceSeconds: 1\ncommand: ["/bin/sh", "-c", "echo $$ > ${pidFile}; exec sleep 600"]\n`;
  const submitted = jobViewFromPb(await schedulerCall(alice, 'SubmitJob', { spec, owner: 'alice' }));
  const running = await waitFor('the rank running on node-a', async () => {
    const j = await getJob(submitted.id);
    return j.state === 'running' && existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() ? j : undefined;
  }, 30_000);
  t.same(running.ranks.map((r) => r.node), ['node-a'], 'placed on node-a');
  const rankPid = Number(readFileSync(pidFile, 'utf8'));
  t.ok(alive(rankPid), 'the rank process runs');

  t.test("an agent with node-b's certificate registering as node-a is refused; node-a keeps running its rank", async (t) => {
    // Audit events, live from the scheduler's bus.
    const audit: Array<Record<string, unknown>> = [];
    const watch = alice.WatchEvents({});
    watch.on('data', (e: WatchEventsResponse__Output) => {
      if (e.kind === 'audit') audit.push(JSON.parse(e.json) as Record<string, unknown>);
    });
    watch.on('error', () => undefined);
    t.teardown(() => watch.cancel());
    await new Promise((r) => watch.once('metadata', r));
    const before = await getNode('node-a');

    const impostor = await startAgent(t, 'node-a', sched.address, { secure: true, extraArgs: agentTls(caFile, nodeB) });
    const refused = await impostor.child.waitForLog('cannot reach the scheduler; retrying', 15_000);
    t.match(refused.err, /PERMISSION_DENIED: the node certificate [0-9A-F]+ names node "node-b"; it may not register as "node-a"/, "the impostor's log says PERMISSION_DENIED and why");
    t.notMatch(impostor.child.output(), /registered with the scheduler/, 'it never registered');
    const line = await sched.child.waitForLog('refused an agent stream', 5000);
    t.match(line, { reason: 'name-mismatch', claimed: 'node-a', identity: 'node-b', kind: 'node', serial: nodeB.serial }, "the scheduler's log names the claim and the certificate");
    const metrics = await httpGet(`http://127.0.0.1:${sched.metricsPort}/metrics`);
    const count = Number(/^gantry_scheduler_node_identity_refused_total\{reason="name-mismatch"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
    t.ok(count >= 1, `gantry_scheduler_node_identity_refused_total{reason="name-mismatch"} counts it (${count})`);
    await waitFor('the audit event', () => audit.some((e) => e.action === 'Connect'), 5000);
    t.match(audit.find((e) => e.action === 'Connect'), { kind: 'audit', type: 'denied', target: 'node-a', actor: { name: 'node-b', kind: 'node', via: 'certificate' } }, 'published as an audit event (denied, Connect, the claimed name)');

    // Several refused attempts later, node-a still reports on its own stream and its rank runs.
    await waitFor('three refusals', () => logLines(sched.child.output(), 'refused an agent stream').length >= 3, 15_000);
    const after = await waitFor('a report from node-a after the refusals', async () => {
      const n = await getNode('node-a');
      return n.lastSeenMs > before.lastSeenMs && n.reportsReceived > before.reportsReceived ? n : undefined;
    }, 5000);
    t.equal(after.connectivity, 'ready', 'node-a stays ready');
    t.equal(after.registeredMs, before.registeredMs, 'the same registration');
    t.equal((await getJob(submitted.id)).state, 'running', 'the job still runs');
    t.ok(alive(rankPid), 'its rank process is untouched');
    t.notMatch(agentA.child.output(), /disconnected from the scheduler/, "node-a's stream was never disturbed");
    await t.rejects(getNode('node-b'), { code: grpc.status.NOT_FOUND }, 'no record for node-b either');
    await impostor.child.stop();
  });

  t.test('a raw gRPC client with a user certificate may not call Connect', async (t) => {
    const agentClient = new proto.gantry.v1.AgentService(sched.address, aliceCreds);
    t.teardown(() => agentClient.close());
    const call = agentClient.Connect();
    const outcome = await new Promise<SchedulerMessage__Output | grpc.ServiceError>((resolve) => {
      call.on('data', resolve);
      call.on('error', resolve);
      call.write({ register: { nodeName: 'node-a', agentVersion: 'raw', inventory: inventoryToPb(emptyInventory('node-a')) } });
    });
    t.equal((outcome as grpc.ServiceError).code, grpc.status.PERMISSION_DENIED, 'PERMISSION_DENIED');
    t.match((outcome as grpc.ServiceError).details, /user "alice" may not connect as an agent/, 'saying a user may not speak for a node');
    t.equal((await getNode('node-a')).connectivity, 'ready', 'node-a is unaffected');
  });

  t.test('an agent that trusts another CA does not register', async (t) => {
    const other = await createCa('another-ca');
    const otherCa = path.join(dir, 'other-ca.crt');
    writeFileSync(otherCa, other.cert);
    // Its own certificate is good; the scheduler's certificate is what it cannot verify.
    const strangerCert = writeCert(dir, 'stranger', await issueCert(ca, { kind: 'node', node: 'stranger' }));
    const stranger = await startAgent(t, 'stranger', sched.address, { secure: true, extraArgs: agentTls(otherCa, strangerCert) });
    const line = await stranger.child.waitForLog('cannot reach the scheduler; retrying', 15_000);
    t.match(line.err, /UNAVAILABLE/, 'the TLS handshake fails on its side');
    t.notMatch(stranger.child.output(), /registered with the scheduler/, 'it never registered');
    await t.rejects(getNode('stranger'), { code: grpc.status.NOT_FOUND }, 'the scheduler has no record of it');
    await stranger.child.stop();
  });

  t.test("an agent refuses a scheduler whose certificate it was told is revoked, and registers once the list is emptied (SIGHUP)", async (t) => {
    const revoked = path.join(dir, 'revoked-schedulers.txt');
    writeFileSync(revoked, `# the control node's key leaked\n${server.serial.match(/../g)!.join(':')}\n`);
    const waryCert = writeCert(dir, 'wary', await issueCert(ca, { kind: 'node', node: 'wary' }));
    const wary = await startAgent(t, 'wary', sched.address, { secure: true, extraArgs: [...agentTls(caFile, waryCert), '--set', `scheduler.tls.revokedSerialsFile=${revoked}`] });
    const line = await wary.child.waitForLog("the scheduler's certificate is revoked (scheduler.tls.revokedSerialsFile); not registering with it", 15_000);
    t.equal(line.serial, server.serial, 'it names the serial');
    t.notMatch(wary.child.output(), /registered with the scheduler/, 'it acts on nothing the scheduler sends');
    writeFileSync(revoked, '# nothing revoked\n');
    wary.child.proc.kill('SIGHUP');
    await wary.child.waitForLog('registered with the scheduler', 15_000);
    t.equal((await getNode('wary')).connectivity, 'ready', 'after the reload it registers');
    await wary.child.stop();
  });

  t.test("SIGHUP: node-a's agent re-reads its renewed certificate and registers with it; the rank keeps running", async (t) => {
    const renewed = await issueCert(ca, { kind: 'node', node: 'node-a' });
    writeFileSync(nodeA.cert, renewed.cert);
    writeFileSync(nodeA.key, renewed.key);
    const registrations = logLines(agentA.child.output(), 'registered with the scheduler').length;
    agentA.child.proc.kill('SIGHUP');
    await agentA.child.waitForLog('reloaded the scheduler TLS files; reconnecting with them', 10_000);
    await waitFor('a new registration of node-a', () => logLines(agentA.child.output(), 'registered with the scheduler').length > registrations, 15_000);
    const seen = await waitFor('the scheduler seeing the renewed certificate', () =>
      logLines(sched.child.output(), 'agent stream registered').find((l) => l.node === 'node-a' && l.serial === renewed.serial),
    5000);
    t.ok(seen, `the scheduler registered node-a with the renewed certificate ${renewed.serial}`);
    t.equal(agentA.child.proc.exitCode, null, 'the agent still runs (SIGHUP did not end it)');
    t.equal((await getNode('node-a')).connectivity, 'ready', 'node-a is ready');
    const job = await getJob(submitted.id);
    t.equal(job.state, 'running', 'the job still runs');
    t.equal(job.epoch, running.epoch, 'the same run (not requeued)');
    t.ok(alive(rankPid), 'the same rank process');
  });

  // The agents' teardowns stop the rank (through its supervisor).
});
