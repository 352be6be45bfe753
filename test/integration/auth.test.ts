/**
 * Identity and authorization of the user API end to end: a real scheduler child process serving
 * TLS with client certificates and bearer tokens, an agent proving its node with a node
 * certificate, real gRPC clients presenting user certificates (shared/pki) or tokens (jose).
 * Who may do what to whose jobs, the audit trail, and SIGHUP reloading the revoked serials and
 * the server certificate.
 */
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { schedulerCall, type SchedulerRequest, type SchedulerResponse, type SchedulerUnaryMethod } from '../../shared/cli/client.js';
import type { AuditEvent, GantryEvent } from '../../shared/events/index.js';
import type { SchedulerServiceClient, WatchEventsResponse__Output } from '../../shared/proto/index.js';
import { eventFromPb } from '../../shared/wire/index.js';
import { agentTlsArgs, clientAs, makePki, makeTokenIssuer, schedulerTlsArgs, servedSerial } from '../harness/auth.js';
import { httpGet, startAgent, startScheduler, waitFor, type Scheduler } from '../harness/cluster.js';

const SPEC = (name: string, extra = ''): string => `kind: Batch\nname: ${name}\nshards: 1\ngpusPerRank: 1\ncommand: [sleep, "1"]\n${extra}`;

/** The call's error (fails the test when it succeeds). */
async function refusal<M extends SchedulerUnaryMethod>(client: SchedulerServiceClient, method: M, req: SchedulerRequest<M>): Promise<grpc.ServiceError> {
  try {
    await schedulerCall(client, method, req);
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error(`${method} succeeded but should have been refused`);
}

function call<M extends SchedulerUnaryMethod>(client: SchedulerServiceClient, method: M, req: SchedulerRequest<M>): Promise<SchedulerResponse<M>> {
  return schedulerCall(client, method, req);
}

function denied(t: Test, e: grpc.ServiceError, permission: string, re: RegExp, msg: string): void {
  t.equal(e.code, grpc.status.PERMISSION_DENIED, `${msg}: PERMISSION_DENIED`);
  t.same(e.metadata.get('gantry-permission'), [permission], `${msg}: names ${permission}`);
  t.match(e.details, re, `${msg}: says why`);
}

interface Watch {
  events: GantryEvent[];
  ended: Promise<grpc.ServiceError | null>;
  ready: Promise<unknown>;
  cancel(): void;
}

function watch(t: Test, client: SchedulerServiceClient, req: { kind?: string; jobId?: string; node?: string }): Watch {
  const events: GantryEvent[] = [];
  const c = client.WatchEvents(req) as grpc.ClientReadableStream<WatchEventsResponse__Output>;
  c.on('data', (m: WatchEventsResponse__Output) => events.push(eventFromPb(m)));
  const ended = new Promise<grpc.ServiceError | null>((resolve) => {
    c.on('error', (e: grpc.ServiceError) => resolve(e));
    c.on('end', () => resolve(null));
  });
  const ready = new Promise((resolve) => c.on('metadata', resolve));
  t.teardown(() => c.cancel());
  return { events, ended, ready, cancel: () => c.cancel() };
}

/** SIGHUP, then the reload's log line. */
async function hangup(sched: Scheduler): Promise<Record<string, unknown>> {
  const lines = (): Array<Record<string, unknown>> =>
    sched.child
      .output()
      .split('\n')
      .filter((l) => l.includes('reloaded the TLS files'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const before = lines().length;
  sched.child.proc.kill('SIGHUP');
  return waitFor('the reload', () => lines()[before]);
}

t.test('identity and authorization of the user API', async (t) => {
  const pki = await makePki(t);
  const iss = await makeTokenIssuer(pki.dir);
  const revokedFile = path.join(pki.dir, 'revoked.txt');
  writeFileSync(revokedFile, '# serials revoked by the CA operator\n');
  const sched = await startScheduler(t, {
    secure: true,
    extraArgs: [
      ...schedulerTlsArgs(pki),
      '--set', 'auth.roles.admin.users=[dave]',
      '--set', 'auth.roles.operator.groups=[sre]',
      '--set', `auth.tokens.issuer=${iss.issuer}`,
      '--set', `auth.tokens.audience=${iss.audience}`,
      '--set', `auth.tokens.publicKeyFiles=[${iss.publicKeyFile}]`,
      '--set', `auth.revokedSerialsFile=${revokedFile}`,
      '--set', 'queues.default.priority=0',
      '--set', 'queues.research.groups=[ml]',
    ],
  });
  const [aliceCert, bobCert, carolCert, daveCert, nodeCert] = await Promise.all([
    pki.user('alice', ['ml']),
    pki.user('bob'),
    pki.user('carol', ['sre']),
    pki.user('dave'),
    pki.node('gpu-a'),
  ]);
  const alice = clientAs(t, sched.address, pki, aliceCert);
  const bob = clientAs(t, sched.address, pki, bobCert);
  const carol = clientAs(t, sched.address, pki, carolCert);
  const dave = clientAs(t, sched.address, pki, daveCert);
  const node = clientAs(t, sched.address, pki, nodeCert);
  const erin = clientAs(t, sched.address, pki, { token: await iss.sign('erin', { groups: ['ml'] }) });

  // A node for jobs to fit on, registered with its node certificate, whose agent runs ranks as the
  // test's users' accounts (else their jobs are refused at submit); cordoned, so they stay pending.
  await startAgent(t, 'gpu-a', sched.address, { secure: true, extraArgs: [...agentTlsArgs(pki, nodeCert), '--set', 'runner.allowedUsers=[alice,bob,carol,dave,erin,nobody]'] });
  await waitFor('gpu-a ready', async () => (await call(dave, 'ListNodes', {})).nodes.some((n) => n.name === 'gpu-a' && n.connectivity === 'CONNECTIVITY_READY'));
  const audit = watch(t, dave, { kind: 'audit' });
  await audit.ready;
  await call(dave, 'CordonNode', { name: 'gpu-a', reason: 'auth test: jobs stay pending' });

  t.test('a call without a valid credential is UNAUTHENTICATED', async (t) => {
    const cases: Array<[string, SchedulerServiceClient, RegExp]> = [
      ['no credential', clientAs(t, sched.address, pki, null), /^no credential: present a client certificate signed by the scheduler's CA or a bearer token/],
      ['a bad signature', clientAs(t, sched.address, pki, { token: await iss.sign('erin', {}, (await makeTokenIssuer(pki.dir, 'mallory')).privateKey) }), /signature does not verify/],
      ['an expired token', clientAs(t, sched.address, pki, { token: await iss.sign('erin', { exp: Math.floor(Date.now() / 1000) - 600 }) }), /^the bearer token expired at /],
      ['a wrong issuer', clientAs(t, sched.address, pki, { token: await iss.sign('erin', { iss: 'https://elsewhere.test' }) }), /issuer is "https:\/\/elsewhere.test"/],
    ];
    for (const [name, client, re] of cases) {
      const e = await refusal(client, 'ListJobs', {});
      t.equal(e.code, grpc.status.UNAUTHENTICATED, `${name}: UNAUTHENTICATED`);
      t.match(e.details, re, `${name}: says why`);
    }
    const ev = await waitFor('the refusals audited', () => {
      const got = audit.events.filter((e): e is AuditEvent => e.kind === 'audit' && e.type === 'unauthenticated');
      return got.length >= cases.length ? got : undefined;
    });
    t.match(ev[0], { action: 'ListJobs', actor: { name: '', kind: 'anonymous', via: 'none' }, message: /^no credential/, peer: /^ipv4:127\.0\.0\.1:\d+$|^127\.0\.0\.1:\d+$/ }, 'audited with the credential tried');
    t.match(ev[1], { actor: { via: 'token' }, message: /signature/ });
  });

  t.test('WhoAmI: the verified identity, its roles, permissions and accounts', async (t) => {
    t.match(await call(alice, 'WhoAmI', {}), { name: 'alice', kind: 'user', authenticatedBy: 'certificate', groups: ['ml'], roles: ['user'], runAs: ['alice'] });
    const a = await call(alice, 'WhoAmI', {});
    t.ok(a.permissions?.includes('jobs.submit') && !a.permissions.includes('nodes.manage'), "a user's permissions");
    t.match(await call(carol, 'WhoAmI', {}), { name: 'carol', roles: ['operator', 'user'] });
    t.match(await call(dave, 'WhoAmI', {}), { name: 'dave', roles: ['admin', 'user'] });
    const e = await call(erin, 'WhoAmI', {});
    t.match(e, { name: 'erin', authenticatedBy: 'token', groups: ['ml'], roles: ['user'] });
    t.ok(Number(e.expiresUnixMs) > Date.now(), "the token's expiry");
    t.match(await call(node, 'WhoAmI', {}), { name: 'gpu-a', kind: 'node', authenticatedBy: 'certificate', roles: [], permissions: [] });
  });

  t.test('a node certificate grants the agent protocol only', async (t) => {
    denied(t, await refusal(node, 'ListNodes', {}), 'nodes.read', /^node "gpu-a" may not call ListNodes: a node certificate grants the agent protocol only$/, 'ListNodes');
    denied(t, await refusal(node, 'SubmitJob', { spec: SPEC('n'), owner: '' }), 'jobs.submit', /agent protocol only/, 'SubmitJob');
  });

  t.test("jobs: users act on their own, operators on everyone's", async (t) => {
    const a1 = await call(alice, 'SubmitJob', { spec: SPEC('a1'), owner: '' });
    t.match(a1, { owner: 'alice', submittedBy: 'alice', runAs: 'alice', state: 'pending' }, "alice's job: hers, submitted by her, run as her account");
    const b1 = await call(bob, 'SubmitJob', { spec: SPEC('b1'), owner: '' });
    const asBob = await call(dave, 'SubmitJob', { spec: SPEC('for-bob'), owner: 'bob' });
    t.match(asBob, { owner: 'bob', submittedBy: 'dave', runAs: 'bob' }, "an admin submits for bob: bob's job and account, dave's name on it");
    t.match(await call(erin, 'SubmitJob', { spec: SPEC('e1', 'queue: research\n'), owner: '' }), { owner: 'erin', submittedBy: 'erin', runAs: 'erin' }, 'a token user in group ml submits to research');

    denied(t, await refusal(alice, 'SubmitJob', { spec: SPEC('as-bob'), owner: 'bob' }), 'jobs.submitAs', /submit a job owned by "bob"/, "a user's request naming another owner");
    denied(t, await refusal(bob, 'SubmitJob', { spec: SPEC('r', 'queue: research\n'), owner: '' }), 'queues.any', /queue research: it is open to the groups ml only/, 'a queue closed to the groups');
    denied(t, await refusal(alice, 'SubmitJob', { spec: SPEC('root', 'runAs: root\n'), owner: '' }), 'runAs.any', /auth.allowRoot is false/, 'runAs root');
    denied(t, await refusal(alice, 'SubmitJob', { spec: SPEC('nb', 'runAs: nobody\n'), owner: '' }), 'runAs.any', /may not run jobs as "nobody"; its accounts are alice/, "an account that is not alice's");
    const bad = await refusal(alice, 'SubmitJob', { spec: 'kind: Batch\nname: x\n', owner: '' });
    t.equal(bad.code, grpc.status.INVALID_ARGUMENT, 'a bad spec is still INVALID_ARGUMENT');

    const aliceSees = (await call(alice, 'ListJobs', {})).jobs.map((j) => j.id);
    t.same(aliceSees, [a1.id], 'alice lists her own jobs only');
    denied(t, await refusal(alice, 'ListJobs', { owner: 'bob' }), 'jobs.readAll', /may list its own jobs only/, "listing bob's");
    denied(t, await refusal(alice, 'GetJob', { id: b1.id }), 'jobs.readAll', new RegExp(`may not see job ${b1.id.replace('.', '\\.')} of "bob"`), "reading bob's job");
    denied(t, await refusal(alice, 'ExplainJob', { id: b1.id }), 'jobs.readAll', /may not see job/, "explaining bob's job");
    denied(t, await refusal(alice, 'ReadLogs', { jobId: b1.id, rank: 0 }), 'logs.readAll', /may not read the logs of job/, "reading bob's logs");
    denied(t, await refusal(alice, 'CancelJob', { id: b1.id, reason: 'mine now' }), 'jobs.cancelAll', /may not cancel job/, "cancelling bob's job");
    // Releasing a held job is authorized as cancelling it (issue 20): not bob's for alice; her own passes (not held).
    denied(t, await refusal(alice, 'ReleaseJob', { id: b1.id }), 'jobs.cancelAll', /may not cancel job/, "releasing bob's job");
    const notHeld = await refusal(alice, 'ReleaseJob', { id: a1.id });
    t.equal(notHeld.code, grpc.status.FAILED_PRECONDITION, 'alice may release her own job; it is not held');
    t.match(notHeld.details, /is not held/);
    t.equal((await call(bob, 'GetJob', { id: b1.id })).state, 'pending', "bob's job is untouched");
    denied(t, await refusal(alice, 'CordonNode', { name: 'gpu-a', reason: 'x' }), 'nodes.manage', /may not cordon nodes/, 'a user cordoning');
    denied(t, await refusal(carol, 'ApproveNode', { name: 'gpu-a' }), 'nodes.approve', /may not approve nodes/, 'an operator approving');

    const all = (await call(carol, 'ListJobs', {})).jobs.map((j) => j.id).sort();
    t.same(all, [a1.id, b1.id, asBob.id].concat(all.filter((id) => id.startsWith('e1'))).sort(), 'an operator lists every job');
    const cancelled = await call(carol, 'CancelJob', { id: b1.id, reason: 'tidying the queue' });
    t.match(cancelled, { state: 'cancelled', message: 'cancelled by carol (certificate): tidying the queue' }, 'an operator cancels it, and the job says who');
    t.match(await call(alice, 'CancelJob', { id: a1.id, reason: '' }), { state: 'cancelled', message: 'cancelled by alice (certificate)' }, 'alice cancels her own');

    const mine = await waitFor('the audit records', () => {
      const got = audit.events.filter((e): e is AuditEvent => e.kind === 'audit' && e.action === 'CancelJob');
      return got.length >= 3 ? got : undefined;
    });
    t.match(
      mine.find((e) => e.type === 'denied'),
      { actor: { name: 'alice', kind: 'user', via: 'certificate' }, target: b1.id, permission: 'jobs.cancelAll', message: /may not cancel job/ },
      "the refused cancel is audited with alice's name",
    );
    t.match(
      mine.find((e) => e.type === 'allowed' && e.target === b1.id),
      { actor: { name: 'carol', kind: 'user', via: 'certificate' }, permission: 'jobs.cancel', message: `CancelJob ${b1.id} by carol (certificate)` },
      "the operator's cancel is audited",
    );
    t.ok(audit.events.some((e) => e.kind === 'audit' && e.action === 'SubmitJob' && e.type === 'allowed' && e.target === asBob.id && e.actor.name === 'dave'), 'a submit for someone else is audited with who did it');
    t.ok(audit.events.some((e) => e.kind === 'audit' && e.action === 'CordonNode' && e.type === 'allowed' && e.actor.name === 'dave' && e.target === 'gpu-a'), 'the cordon at the start too');

    const metrics = await httpGet(`http://127.0.0.1:${sched.metricsPort}/metrics`);
    t.match(metrics, /gantry_scheduler_auth_denied_total\{reason="permission-denied",action="CancelJob"\} 1/, 'denials are counted by reason and action');
    t.match(metrics, /gantry_scheduler_auth_denied_total\{reason="unauthenticated",action="ListJobs"\} 4/);
  });

  t.test("a user watches its own jobs' events only", async (t) => {
    const refused = watch(t, alice, { kind: 'audit' });
    const e = await refused.ended;
    t.equal(e?.code, grpc.status.PERMISSION_DENIED, 'audit events need events.watchAll');
    t.match(e?.details, /audit events need the permission events.watchAll/);
    const nodeEvents = await watch(t, alice, { node: 'gpu-a' }).ended;
    t.equal(nodeEvents?.code, grpc.status.PERMISSION_DENIED, 'so do node events');

    const w = watch(t, alice, {});
    await w.ready;
    const b2 = await call(bob, 'SubmitJob', { spec: SPEC('b2'), owner: '' });
    const a2 = await call(alice, 'SubmitJob', { spec: SPEC('a2'), owner: '' });
    await waitFor("alice's submitted event", () => w.events.some((e) => e.kind === 'job' && e.job === a2.id && e.type === 'submitted'));
    await call(carol, 'UncordonNode', { name: 'gpu-a' });
    await call(carol, 'CordonNode', { name: 'gpu-a', reason: 'again' });
    await call(alice, 'CancelJob', { id: a2.id, reason: '' });
    const cancelled = await waitFor("alice's cancelled event", () => w.events.find((e) => e.kind === 'job' && e.job === a2.id && e.type === 'cancelled'));
    t.match(cancelled, { message: 'cancelled by alice (certificate)' }, 'the job event says who cancelled it');
    t.same(
      w.events.filter((e) => !(e.kind === 'job' && e.job === a2.id)),
      [],
      `nothing about ${b2.id}, the node or the audit trail`,
    );
    w.cancel();
  });

  t.test("SubmitJob's request id is the verified submitter's: a resubmit gets the job, another user's same id a job of its own", async (t) => {
    const key = 'a1b2c3d4-request';
    const a = await call(alice, 'SubmitJob', { spec: SPEC('idem'), owner: '', requestId: key });
    t.equal((await call(alice, 'SubmitJob', { spec: SPEC('idem'), owner: '', requestId: key })).id, a.id, "alice's resubmit with her request id: the same job");
    const b = await call(bob, 'SubmitJob', { spec: SPEC('idem'), owner: '', requestId: key });
    t.not(b.id, a.id, "bob's submit with the same request id: his own job");
    t.match(b, { owner: 'bob', submittedBy: 'bob' });
    const forAlice = await call(dave, 'SubmitJob', { spec: SPEC('idem'), owner: 'alice', requestId: key });
    t.not(forAlice.id, a.id, "an admin submitting for alice with her request id: keyed by who submitted, a new job");
    t.equal((await call(bob, 'SubmitJob', { spec: SPEC('idem'), owner: '', requestId: key })).id, b.id, "bob's resubmit: his job");
    const bad = await refusal(alice, 'SubmitJob', { spec: SPEC('idem'), owner: '', requestId: 'has a space' });
    t.equal(bad.code, grpc.status.INVALID_ARGUMENT);
    t.match(bad.details, /^request_id: must be printable ASCII/, 'a bad request id is INVALID_ARGUMENT naming request_id');
    const reused = await refusal(alice, 'SubmitJob', { spec: SPEC('another-name'), owner: '', requestId: key });
    t.equal(reused.code, grpc.status.ALREADY_EXISTS, 'the same request id for a spec of another name is refused');
    t.match(reused.details, new RegExp(`already made job ${a.id}`));
    for (const id of [a.id, b.id, forAlice.id]) await call(dave, 'CancelJob', { id, reason: 'request id test' });
  });

  t.test('SIGHUP: a renewed server certificate is served', async (t) => {
    const renewed = await pki.renewServer();
    const line = await hangup(sched);
    t.match(line, { certificate: { serial: renewed.serial }, revokedSerials: 0, failed: [] }, 'the reload is logged with the served certificate');
    t.equal(await servedSerial(sched.grpcPort, pki.ca.cert), renewed.serial, 'a new handshake gets the renewed certificate');
    t.match(await call(clientAs(t, sched.address, pki, daveCert), 'WhoAmI', {}), { name: 'dave' }, 'and gRPC works over it');
  });

  t.test('SIGHUP: a revoked certificate is refused from the next call, and its open stream ends', async (t) => {
    const open = watch(t, alice, {});
    await open.ready;
    writeFileSync(revokedFile, `# alice's laptop was stolen\n${aliceCert.serial.match(/../g)!.join(':')}\n`);
    const line = await hangup(sched);
    t.match(line, { revokedSerials: 1, failed: [] });
    const e = await refusal(alice, 'ListJobs', {});
    t.equal(e.code, grpc.status.UNAUTHENTICATED, 'the same client, on the same connection: UNAUTHENTICATED');
    t.match(e.details, new RegExp(`^certificate ${aliceCert.serial} of user "alice" is revoked`));
    const ended = await open.ended;
    t.equal(ended?.code, grpc.status.UNAUTHENTICATED, "alice's WatchEvents stream is ended");
    t.match(ended?.details, /was revoked/);
    t.match(await call(bob, 'WhoAmI', {}), { name: 'bob' }, 'others are unaffected');

    writeFileSync(revokedFile, 'not hex\n');
    const bad = await hangup(sched);
    t.match(bad, { revokedSerials: 0 }, 'a list of bad lines revokes nothing (each bad line is logged) ...');
    t.match(sched.child.output(), /auth.revokedSerialsFile: line 1: \\"not hex\\" is not a hex serial; the line is skipped/, '... and says which');
  });

  t.test("SIGHUP: a revoked node certificate's open stream is closed, and its agent is refused when it reconnects", async (t) => {
    writeFileSync(revokedFile, `# gpu-a's disk was imaged off-site\n${nodeCert.serial}\n`);
    await hangup(sched);
    const closed = await sched.child.waitForLog('closed the agent streams of revoked node certificates', 15_000);
    t.same(closed.nodes, ['gpu-a'], "gpu-a's stream is closed at the reload");
    const refused = await sched.child.waitForLog('refused an agent stream', 15_000);
    t.match(refused, { reason: 'unauthenticated', err: new RegExp(`certificate ${nodeCert.serial} of node "gpu-a" is revoked`) }, 'its reconnection is refused: the certificate is revoked');
    const metrics = await httpGet(`http://127.0.0.1:${sched.metricsPort}/metrics`);
    t.match(metrics, /gantry_scheduler_node_identity_refused_total\{reason="unauthenticated"\} [1-9]/, 'and counted');
    t.match(await call(dave, 'GetNode', { name: 'gpu-a' }), { name: 'gpu-a' }, 'its record stays (it goes lost), for an operator to delete or for a renewed certificate');
  });
});
