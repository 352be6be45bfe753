/**
 * AgentService.Connect and who may speak for a node, on real gRPC over loopback with real
 * certificates from shared/pki: the agent service with the scheduler's authenticator, the
 * node registry on the in-memory store, and raw AgentService clients (not our agent).
 */
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import type { Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentStreams } from '../../../scheduler/api/agent-service.js';
import { serverCredentials } from '../../../scheduler/api/server.js';
import { Auditor, Authenticator, authConfigSchema } from '../../../scheduler/auth/index.js';
import { ClusterModel } from '../../../scheduler/cluster/index.js';
import { MemoryEventBus } from '../../../scheduler/events/index.js';
import { createSchedulerMetrics } from '../../../scheduler/metrics.js';
import { NodeRegistry } from '../../../scheduler/node-registry.js';
import { MemoryStore } from '../../../scheduler/store/index.js';
import { systemClock } from '../../../shared/clock/index.js';
import { emptyInventory } from '../../../shared/domain/index.js';
import type { AuditEvent } from '../../../shared/events/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { createCa, issueCert, type IssuedCert } from '../../../shared/certgen/index.js';
import { loadGantryProto, type AgentServiceClient, type SchedulerMessage__Output } from '../../../shared/proto/index.js';
import { inventoryToPb } from '../../../shared/wire/index.js';

const log = createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false });
const { proto } = loadGantryProto();

interface Scheduler {
  address: string;
  streams: AgentStreams;
  registry: NodeRegistry;
  events: MemoryEventBus;
  refused(reason: string): Promise<number>;
}

/**
 * The agent service alone on a loopback port, with the daemon's server credentials: plaintext
 * (insecure), or TLS with `ca` as grpc.tls.caFile (client certificates verified when presented;
 * required with requireClientCert).
 */
async function startAgentService(t: Test, opts: { insecure: boolean; ca?: string; server?: IssuedCert; requireClientCert?: boolean; requireApproval?: boolean }): Promise<Scheduler> {
  const cluster = new ClusterModel(60_000, opts.requireApproval ?? false);
  const events = new MemoryEventBus();
  const registry = new NodeRegistry(cluster, new MemoryStore(), events, systemClock, log);
  const metrics = createSchedulerMetrics(cluster, events);
  const authenticator = new Authenticator({ insecure: opts.insecure, auth: authConfigSchema.parse({}) }, { clock: systemClock, log });
  const streams = new AgentStreams({
    registry,
    metrics,
    log,
    schedulerId: 'test-scheduler',
    reportIntervalMs: 60_000,
    onRegistered: async () => undefined,
    onTaskUpdate: async () => undefined,
    identify: (call) => authenticator.identifyAgent(call),
    auditor: new Auditor({ events, log, clock: systemClock, denied: metrics.authDenied }),
  });
  const server = new grpc.Server();
  server.addService(proto.gantry.v1.AgentService.service, streams.handlers());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-agent-identity-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string | undefined): string => {
    if (text === undefined) return '';
    writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const tls = { caFile: file('ca.crt', opts.ca), certFile: file('server.crt', opts.server?.cert), keyFile: file('server.key', opts.server?.key), requireClientCert: opts.requireClientCert ?? false };
  const creds = serverCredentials(opts.insecure, tls, 'grpc.tls');
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => {
    streams.closeAll();
    server.forceShutdown();
  });
  const refused = async (reason: string): Promise<number> => (await metrics.nodeIdentityRefused.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { address: `127.0.0.1:${port}`, streams, registry, events, refused };
}

function client(t: Test, address: string, ca: string | undefined, cert?: IssuedCert): AgentServiceClient {
  const creds = ca === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(Buffer.from(ca), cert ? Buffer.from(cert.key) : null, cert ? Buffer.from(cert.cert) : null);
  const c = new proto.gantry.v1.AgentService(address, creds, { 'grpc.use_local_subchannel_pool': 1 });
  t.teardown(() => c.close());
  return c;
}

interface Stream {
  /** The `registered` answer, or the error that ended the stream first. */
  first: Promise<SchedulerMessage__Output | grpc.ServiceError>;
  /** Every message after the first. */
  messages: SchedulerMessage__Output[];
  /** The error (or end) that closed the stream. */
  closed: Promise<grpc.ServiceError | 'ended'>;
}

/** `p`, or an error after `ms` (a stream that never closes fails the test instead of hanging it). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Opens Connect and registers `nodeName`. */
function connect(c: AgentServiceClient, nodeName: string): Stream {
  const call = c.Connect();
  const messages: SchedulerMessage__Output[] = [];
  let firstDone = false;
  let resolveFirst!: (m: SchedulerMessage__Output | grpc.ServiceError) => void;
  const first = new Promise<SchedulerMessage__Output | grpc.ServiceError>((r) => (resolveFirst = r));
  const closed = new Promise<grpc.ServiceError | 'ended'>((resolve) => {
    call.on('error', (e: grpc.ServiceError) => {
      if (!firstDone) resolveFirst(e);
      resolve(e);
    });
    call.on('end', () => resolve('ended'));
  });
  call.on('data', (m: SchedulerMessage__Output) => {
    if (firstDone) messages.push(m);
    else {
      firstDone = true;
      resolveFirst(m);
    }
  });
  call.write({ register: { nodeName, agentVersion: 'test', address: '127.0.0.1', inventory: inventoryToPb(emptyInventory(nodeName)) } });
  return { first: within(first, 10_000, `the answer to registering ${nodeName}`), messages, closed };
}

const audits = (bus: MemoryEventBus): AuditEvent[] => bus.events.filter((e): e is AuditEvent => e.kind === 'audit');

t.test('node certificates: each node registers as itself only', async (t) => {
  const ca = await createCa('test-ca');
  const server = await issueCert(ca, { kind: 'server', name: 'gantry-scheduler', hosts: ['127.0.0.1', 'localhost'] });
  const nodeA = await issueCert(ca, { kind: 'node', node: 'node-a' });
  const nodeB = await issueCert(ca, { kind: 'node', node: 'node-b' });
  const alice = await issueCert(ca, { kind: 'user', user: 'alice', groups: ['admins'] });
  const sched = await startAgentService(t, { insecure: false, ca: ca.cert, server });

  const real = connect(client(t, sched.address, ca.cert, nodeA), 'node-a');
  t.ok(((await real.first) as SchedulerMessage__Output).registered, 'node-a registers with its own certificate');
  t.equal(sched.registry.cluster.get('node-a')?.connectivity, 'ready', 'node-a is ready');
  const joined = audits(sched.events).filter((e) => e.action === 'NodeJoined');
  t.match(joined, [{ type: 'allowed', target: 'node-a', actor: { name: 'node-a', kind: 'node', via: 'certificate' } }], 'its join is audited');

  t.test('node-b\'s certificate claiming node-a is refused and leaves node-a alone', async (t) => {
    const impostor = connect(client(t, sched.address, ca.cert, nodeB), 'node-a');
    const e = (await impostor.first) as grpc.ServiceError;
    t.equal(e.code, grpc.status.PERMISSION_DENIED, 'PERMISSION_DENIED');
    t.match(e.details, /names node "node-b"; it may not register as "node-a"/, 'saying which node the certificate names');
    t.equal(await sched.refused('name-mismatch'), 1, 'counted as name-mismatch');
    t.match(audits(sched.events).filter((x) => x.type === 'denied'), [{ action: 'Connect', target: 'node-a', actor: { name: 'node-b', kind: 'node' }, message: /may not register/ }], 'audited: denied, Connect, the claimed name');
    t.equal(sched.registry.cluster.get('node-b'), undefined, 'node-b is not registered either');
    t.equal(sched.streams.size, 1, "node-a's stream is still the only one");
    // The real node's stream still carries commands both ways.
    t.ok(sched.streams.send('node-a', { readLog: { requestId: 'probe', jobId: 'j', rank: 0, epoch: 1, offset: 0, maxBytes: 1 } }), 'a command can be sent to node-a');
    await new Promise((r) => setTimeout(r, 200));
    t.same(real.messages.map((m) => m.readLog?.requestId), ['probe'], 'and node-a receives it on its own stream');
  });

  t.test('a user certificate may not connect at all', async (t) => {
    const e = (await connect(client(t, sched.address, ca.cert, alice), 'alice-box').first) as grpc.ServiceError;
    t.equal(e.code, grpc.status.PERMISSION_DENIED, 'PERMISSION_DENIED');
    t.match(e.details, /user "alice" may not connect as an agent/, 'saying a user may not speak for a node');
    t.equal(await sched.refused('user-identity'), 1, 'counted as user-identity');
    t.equal(sched.registry.cluster.get('alice-box'), undefined, 'nothing registered');
  });

  t.test('closeRevoked ends the streams opened with a revoked certificate serial', async (t) => {
    const b = connect(client(t, sched.address, ca.cert, nodeB), 'node-b');
    t.ok((await b.first as SchedulerMessage__Output).registered, 'node-b registers as itself');
    t.same(sched.streams.closeRevoked(new Set(['0123456789ABCDEF'])), [], 'an unknown serial closes nothing');
    t.same(sched.streams.closeRevoked(new Set([nodeA.serial])), ['node-a'], "node-a's serial closes node-a's stream");
    const closed = await within(real.closed, 5000, "node-a's stream closing").catch((e: Error) => e);
    t.equal((closed as grpc.ServiceError).code, grpc.status.UNAUTHENTICATED, 'the agent is told UNAUTHENTICATED');
    t.match((closed as grpc.ServiceError).details, new RegExp(`certificate ${nodeA.serial} of node node-a is revoked`), 'naming the revoked serial');
    t.equal(sched.streams.size, 1, 'node-b keeps its stream');
    t.ok(sched.streams.send('node-b', { readLog: { requestId: 'still', jobId: 'j', rank: 0, epoch: 1, offset: 0, maxBytes: 1 } }), 'node-b can still be sent commands');
    t.notOk(sched.streams.send('node-a', { readLog: { requestId: 'gone', jobId: 'j', rank: 0, epoch: 1, offset: 0, maxBytes: 1 } }), 'node-a has no stream now');
  });
});

t.test('TLS with no verified client certificate: UNAUTHENTICATED', async (t) => {
  const ca = await createCa('test-ca');
  const server = await issueCert(ca, { kind: 'server', name: 'gantry-scheduler', hosts: ['127.0.0.1'] });
  // grpc.tls.requireClientCert false (the default): the handshake passes without a certificate,
  // and with one the CA did not sign, but neither names anyone.
  const sched = await startAgentService(t, { insecure: false, ca: ca.cert, server });
  const e = (await connect(client(t, sched.address, ca.cert), 'node-x').first) as grpc.ServiceError;
  t.equal(e.code, grpc.status.UNAUTHENTICATED, 'no certificate: UNAUTHENTICATED');
  t.match(e.details, /no credential: present a client certificate/, 'saying why');
  const other = await createCa('another-ca');
  const forged = await issueCert(other, { kind: 'node', node: 'node-x' });
  const e2 = (await connect(client(t, sched.address, ca.cert, forged), 'node-x').first) as grpc.ServiceError;
  t.equal(e2.code, grpc.status.UNAUTHENTICATED, "a node certificate from another CA: UNAUTHENTICATED (it names nobody)");
  t.equal(await sched.refused('unauthenticated'), 2, 'both counted as unauthenticated');
  t.match(audits(sched.events), [{ type: 'unauthenticated', action: 'Connect', actor: { kind: 'anonymous' } }, { type: 'unauthenticated' }], 'and audited');
  t.equal(sched.registry.cluster.size, 0, 'nothing registered');

  const mtls = await startAgentService(t, { insecure: false, ca: ca.cert, server, requireClientCert: true });
  const e3 = (await connect(client(t, mtls.address, ca.cert), 'node-x').first) as grpc.ServiceError;
  t.equal(e3.code, grpc.status.UNAVAILABLE, 'with grpc.tls.requireClientCert the handshake itself fails without a certificate');
  t.equal(await mtls.refused('unauthenticated'), 0, 'so the agent service never sees the call');
});

t.test('plaintext (grpc.insecure): anonymous agents register by the name they send, as before identities', async (t) => {
  const sched = await startAgentService(t, { insecure: true, requireApproval: true });
  const s = connect(client(t, sched.address, undefined), 'dev-box');
  t.ok((await s.first as SchedulerMessage__Output).registered, 'registered');
  t.equal(sched.registry.cluster.get('dev-box')?.awaitingApproval, true, 'a new name awaits approval when nodes.requireApproval is on');
  t.match(audits(sched.events), [{ type: 'allowed', action: 'NodeJoined', target: 'dev-box', actor: { kind: 'anonymous', via: 'none' }, message: /takes no work until approved.*gantry node approve dev-box/ }], 'the join is audited, saying it awaits approval');
  const again = connect(client(t, sched.address, undefined), 'dev-box');
  t.ok((await again.first as SchedulerMessage__Output).registered, 'a second stream for the name replaces the first, as before');
  t.equal(await within(s.closed, 5000, 'the first stream closing').catch((e: Error) => e.message), 'ended', 'the first stream is ended');
  t.equal(audits(sched.events).filter((e) => e.action === 'NodeJoined').length, 1, 'a reconnect is no new join');
});
