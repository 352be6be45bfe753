/**
 * NATS users and permissions (shared/natsauth) on real parts: the generated block and seed files,
 * the shipped deploy/nats/nats-server.conf checked by `nats-server -t`, and a real nats-server run
 * from it where each daemon's nkey can do what that daemon does and nothing else: an agent publishes
 * only its own node's telemetry (another node's window is refused by the server and never reaches
 * the scheduler) and never an event; the scheduler's event sink fills GANTRY_EVENTS; the events
 * user reads it the way `gantry events` does and cannot write to it.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect, nkeys, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { z } from 'zod';
import { NatsEventSink } from '../../../scheduler/events/index.js';
import { eventsCommand } from '../../../shared/cli/events.js';
import { EVENTS_STREAM, latencyTelemetrySubject, serviceTelemetrySubject, type GantryEvent } from '../../../shared/events/index.js';
import { natsClientShape, natsConnectionOptions } from '../../../shared/natsconn/index.js';
import { generateNatsAuthDir, natsAuth, nodeSeedFile, readNatsSeeds, userPublicKey } from '../../../shared/natsauth/index.js';
import { tempDir, waitFor, which } from '../../harness/cluster.js';
import { SHIPPED_NATS_CONF, startPermissionedNats } from '../../harness/nats-auth.js';

const schema = z.strictObject(natsClientShape);
const log = pino({ level: 'silent' });

/** A connection as a daemon makes it (shared/natsconn from a seed file), with the permission errors the server sent. */
async function connectAs(t: Test, url: string, seedFile: string, name: string): Promise<{ nc: NatsConnection; violations: Array<{ operation: string; subject: string }> }> {
  const nc = await connect({ ...natsConnectionOptions(schema.parse({ servers: url, nkeySeedFile: seedFile }), name), reconnect: false, timeout: 5000 });
  t.teardown(() => nc.close());
  const violations: Array<{ operation: string; subject: string }> = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error' && s.data === 'PERMISSIONS_VIOLATION' && s.permissionContext) violations.push(s.permissionContext);
  })();
  return { nc, violations };
}

function event(id: string, node: string): GantryEvent {
  return { v: 1, id, at: new Date().toISOString(), kind: 'node', node, type: 'registered', gpuCount: 8, agentVersion: 'test' };
}

/** `gantry events --json` in process, as the events user. */
async function gantryEvents(url: string, seedFile: string): Promise<{ code: number; events: GantryEvent[]; stderr: string }> {
  let out = '';
  let stderr = '';
  const code = await eventsCommand.run(['--json', '--nats-url', url, '--nats-nkey', seedFile], { stdout: (s) => (out += s), stderr: (s) => (stderr += s), env: {}, cwd: process.cwd() });
  return { code, stderr, events: out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as GantryEvent) };
}

t.test('natsAuth: one user per daemon, the block names their public keys, seeds can be kept', async (t) => {
  const a = natsAuth({ nodes: ['n1', 'gpu.rack-1'] });
  t.match(a.seeds.scheduler, /^SU[A-Z0-9]+$/);
  const pubs = [a.publicKeys.scheduler, a.publicKeys.events, a.publicKeys.nodes['n1']!, a.publicKeys.nodes['gpu.rack-1']!];
  t.equal(new Set(pubs).size, 4, 'four distinct users');
  for (const p of pubs) t.ok(a.conf.includes(`nkey: "${p}"`), `the block names ${p}`);
  for (const s of [a.seeds.scheduler, a.seeds.events, ...Object.values(a.seeds.nodes)]) t.notOk(a.conf.includes(s), 'no seed in the block');
  t.equal(userPublicKey(a.seeds.nodes['n1']!, 'x'), a.publicKeys.nodes['n1'], 'public key from seed');
  t.ok(a.conf.includes('publish: { allow: ["gantry.telemetry.*.gpu%2Erack-1"] }'), "a node's one publish permission, its name as one subject token");
  t.ok(a.conf.includes('"$JS.API.INFO"'), "'$' subjects are quoted (else nats-server reads a variable)");

  const b = natsAuth({ nodes: ['n1', 'n2'], keep: { scheduler: a.seeds.scheduler, nodes: { n1: a.seeds.nodes['n1']! } } });
  t.equal(b.seeds.scheduler, a.seeds.scheduler, 'kept: scheduler');
  t.equal(b.seeds.nodes['n1'], a.seeds.nodes['n1'], 'kept: n1');
  t.not(b.seeds.events, a.seeds.events, 'drawn: events');
  t.notOk(b.conf.includes(a.publicKeys.nodes['gpu.rack-1']!), 'a node no longer listed has no user');

  t.throws(() => natsAuth({ nodes: ['n1', 'n1'] }), { code: 'INVALID_ARGUMENT', message: /listed twice/ });
  t.throws(() => natsAuth({ nodes: [' n1'] }), { code: 'INVALID_ARGUMENT' });
  t.throws(() => natsAuth({ nodes: [''] }), { code: 'INVALID_ARGUMENT' });
  t.throws(() => natsAuth({ nodes: ['n1'], keep: { nodes: { n1: 'SUnotaseed' } } }), { code: 'INVALID_ARGUMENT', message: /node "n1"/ });
  const account = new TextDecoder().decode(nkeys.createAccount().getSeed());
  t.throws(() => natsAuth({ nodes: [], keep: { events: account } }), { code: 'INVALID_ARGUMENT', message: /user seed/ }, 'an account seed is not a user seed');
  t.throws(() => natsAuth({ nodes: ['n1'], keep: { scheduler: a.seeds.scheduler, nodes: { n1: a.seeds.scheduler } } }), { message: /share one seed/ });
});

t.test('generateNatsAuthDir: seed files 0600, read back and kept on the next run unless rotated', async (t) => {
  const dir = path.join(tempDir(t, 'gantry-natsauth-'), 'auth');
  const first = generateNatsAuthDir(dir, { nodes: ['n1', 'a b'] });
  t.equal(first.files.nodes['a b'], path.join(dir, nodeSeedFile('a b')));
  t.equal(path.basename(first.files.nodes['a b']!), 'node-a%20b.nk');
  for (const f of [first.files.scheduler, first.files.events, ...Object.values(first.files.nodes)]) t.equal(statSync(f).mode & 0o777, 0o600, `${path.basename(f)} is 0600`);
  t.equal(statSync(dir).mode & 0o777, 0o700, 'the directory is 0700');
  t.equal(readFileSync(first.files.conf, 'utf8'), first.auth.conf);
  t.same(readNatsSeeds(dir), { scheduler: first.auth.seeds.scheduler, events: first.auth.seeds.events, nodes: first.auth.seeds.nodes });

  const second = generateNatsAuthDir(dir, { nodes: ['n1', 'a b', 'n3'] });
  t.same({ ...second.auth.seeds, nodes: { n1: second.auth.seeds.nodes['n1'], 'a b': second.auth.seeds.nodes['a b'] } }, first.auth.seeds, 'adding a node keeps everyone else');
  t.match(second.auth.seeds.nodes['n3'], /^SU/);
  const rotated = generateNatsAuthDir(dir, { nodes: ['n1'], rotate: true });
  t.not(rotated.auth.seeds.scheduler, first.auth.seeds.scheduler, 'rotate draws afresh');
  t.equal(statSync(rotated.files.scheduler).mode & 0o777, 0o600, 'still 0600 after a rewrite');
  t.same(readNatsSeeds(path.join(dir, 'missing')), {}, 'no directory: no seeds');
});

t.test('the shipped nats-server.conf passes nats-server -t with a generated include', async (t) => {
  const bin = which('nats-server');
  if (!bin) throw new Error('nats-server is not on PATH (apt-get install nats-server)');
  const check = (conf: string): Promise<{ code: number; out: string }> =>
    new Promise((resolve) => execFile(bin, ['-c', conf, '-t'], (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr })));
  // The file byte for byte, beside a gantry/ directory as gantry nats-auth writes it.
  const dir = tempDir(t, 'gantry-natsconf-');
  const conf = path.join(dir, 'nats-server.conf');
  copyFileSync(SHIPPED_NATS_CONF, conf);
  generateNatsAuthDir(path.join(dir, 'gantry'), { nodes: ['gpu-01', 'gpu-02'] });
  const ok = await check(conf);
  t.equal(ok.code, 0, ok.out);
  t.match(ok.out, /is valid/);
  // The check can fail: a user entry with a broken permission block.
  const auth = path.join(dir, 'gantry', 'nats-auth.conf');
  writeFileSync(auth, readFileSync(auth, 'utf8').replace('publish: { allow: [', 'publish: { allow: [[ '));
  const bad = await check(conf);
  t.not(bad.code, 0, 'a broken include is refused');
  // And without the include the server has no users at all (nothing else in the file grants access).
  mkdirSync(path.join(dir, 'empty', 'gantry'), { recursive: true });
  copyFileSync(SHIPPED_NATS_CONF, path.join(dir, 'empty', 'nats-server.conf'));
  t.not((await check(path.join(dir, 'empty', 'nats-server.conf'))).code, 0, 'a missing include is refused');
});

t.test('each nkey does its daemon’s work and nothing else', async (t) => {
  const { nats, files } = await startPermissionedNats(t, ['n1', 'n2']);
  await t.rejects(connect({ servers: nats.url, reconnect: false, timeout: 3000 }), { code: 'AUTHORIZATION_VIOLATION' }, 'no nkey, no connection');

  const sched = await connectAs(t, nats.url, files.scheduler, 'scheduler');
  const seen: string[] = [];
  sched.nc.subscribe('gantry.telemetry.>', { callback: (err, m) => void (!err && seen.push(`${m.subject} ${m.string()}`)) });
  await sched.nc.flush();

  // Agent n1: its own latency and service windows go through; n2's subjects are refused by the server.
  const n1 = await connectAs(t, nats.url, files.nodes['n1']!, 'agent n1');
  n1.nc.publish(latencyTelemetrySubject('n2'), 'forged');
  n1.nc.publish(serviceTelemetrySubject('n2'), 'forged');
  n1.nc.publish(latencyTelemetrySubject('n1'), 'own');
  n1.nc.publish(serviceTelemetrySubject('n1'), 'own');
  await n1.nc.flush();
  await waitFor('own windows at the scheduler', () => seen.length >= 2, 5000, 20);
  await waitFor('two refusals reported to n1', () => n1.violations.length >= 2, 5000, 20);
  t.same(n1.violations, [
    { operation: 'publish', subject: 'gantry.telemetry.latency.n2' },
    { operation: 'publish', subject: 'gantry.telemetry.service.n2' },
  ]);
  // One more own window after the refusals: the forged ones, sent first on the same connection, would be ahead of it.
  n1.nc.publish(latencyTelemetrySubject('n1'), 'own again');
  await n1.nc.flush();
  await waitFor('the third window', () => seen.length >= 3, 5000, 20);
  t.same(seen, ['gantry.telemetry.latency.n1 own', 'gantry.telemetry.service.n1 own', 'gantry.telemetry.latency.n1 own again'], 'the scheduler never sees a forged window');
  t.equal(n1.nc.isClosed(), false, 'a refused publish does not cost the agent its connection');

  // The scheduler's event sink (its real code) creates GANTRY_EVENTS and stores an event.
  const sink = new NatsEventSink({ connection: natsConnectionOptions(schema.parse({ servers: nats.url, nkeySeedFile: files.scheduler }), 'scheduler events'), streamMaxBytes: 1 << 20, streamMaxAgeMs: 3_600_000 }, log);
  sink.start();
  t.teardown(() => sink.close());
  await waitFor('event sink connected', () => sink.ready, 5000, 20);
  await sink.publish(event('e1', 'n1'));

  // Agent n1 may not publish an event, nor subscribe to anything.
  n1.nc.publish('gantry.events.node.n2', JSON.stringify(event('forged-by-n1', 'n2')));
  n1.nc.subscribe('gantry.events.>');
  await n1.nc.flush();
  await waitFor('n1 refused twice more', () => n1.violations.length >= 4, 5000, 20);
  t.same(n1.violations.slice(2), [
    { operation: 'publish', subject: 'gantry.events.node.n2' },
    { operation: 'subscription', subject: 'gantry.events.>' },
  ]);

  // The events user: cannot write to the stream (a JetStream publish is refused, not stored) nor read telemetry.
  const ev = await connectAs(t, nats.url, files.events, 'events');
  await t.rejects(ev.nc.jetstream().publish('gantry.events.node.n1', JSON.stringify(event('forged-by-events', 'n1')), { timeout: 3000 }), { code: 'PERMISSIONS_VIOLATION' });
  ev.nc.subscribe('gantry.telemetry.>');
  await ev.nc.flush();
  await waitFor('the events user refused a subscription', () => ev.violations.some((v) => v.operation === 'subscription'), 5000, 20);

  // A restarted scheduler finds the stream and updates its limits (STREAM.INFO, STREAM.UPDATE), then publishes.
  const restarted = new NatsEventSink({ connection: natsConnectionOptions(schema.parse({ servers: nats.url, nkeySeedFile: files.scheduler }), 'scheduler events'), streamMaxBytes: 2 << 20, streamMaxAgeMs: 3_600_000 }, log);
  restarted.start();
  t.teardown(() => restarted.close());
  await waitFor('restarted sink connected', () => restarted.ready, 5000, 20);
  await restarted.publish(event('e2', 'n2'));
  // What GANTRY_EVENTS holds, read as `gantry events` reads it, with the events user's seed.
  const read = await gantryEvents(nats.url, files.events);
  t.equal(read.code, 0, read.stderr);
  t.same(read.events.map((e) => e.id), ['e1', 'e2'], 'the scheduler’s events, and nothing anyone else sent');
  const info = await (await sched.nc.jetstreamManager()).streams.info(EVENTS_STREAM);
  t.equal(info.state.messages, 2, 'the stream stores exactly two messages');
  t.equal(info.config.max_bytes, 2 << 20, 'the restarted scheduler updated the stream');

  // An agent's seed cannot read the stream either.
  const asAgent = await gantryEvents(nats.url, files.nodes['n2']!);
  t.equal(asAgent.code, 1, 'gantry events with an agent seed fails');
  t.same(asAgent.events, []);
});

t.test('a node joins: rerun with the whole list, reload the server; the others keep their seeds and connections', async (t) => {
  const { nats, files, auth } = await startPermissionedNats(t, ['n1']);
  const n1 = await connectAs(t, nats.url, files.nodes['n1']!, 'agent n1');
  const dir = path.dirname(files.conf);
  const again = generateNatsAuthDir(dir, { nodes: ['n1', 'n2'] });
  t.equal(again.auth.seeds.nodes['n1'], auth.seeds.nodes['n1'], "n1's seed is kept");
  await t.rejects(connectAs(t, nats.url, again.files.nodes['n2']!, 'agent n2'), { code: 'AUTHORIZATION_VIOLATION' }, 'n2 is unknown until the server reloads');
  nats.child.proc.kill('SIGHUP'); // what `nats-server --signal reload` sends
  const n2 = await waitFor('n2 admitted after the reload', async () => {
    try {
      return await connectAs(t, nats.url, again.files.nodes['n2']!, 'agent n2');
    } catch {
      return undefined;
    }
  }, 10_000, 100);
  const sched = await connectAs(t, nats.url, again.files.scheduler, 'scheduler');
  const seen: string[] = [];
  sched.nc.subscribe('gantry.telemetry.>', { callback: (err, m) => void (!err && seen.push(m.subject)) });
  await sched.nc.flush();
  n1.nc.publish(latencyTelemetrySubject('n1'), 'w');
  n2.nc.publish(latencyTelemetrySubject('n2'), 'w');
  await Promise.all([n1.nc.flush(), n2.nc.flush()]);
  await waitFor('both windows', () => seen.length >= 2, 5000, 20);
  t.same(seen.sort(), ['gantry.telemetry.latency.n1', 'gantry.telemetry.latency.n2'], "n1's connection survived the reload; n2 is in");
});

t.test('the events user reads a long stream: the ordered consumer\'s flow control answers are allowed', async (t) => {
  const { nats, files } = await startPermissionedNats(t, []);
  const sink = new NatsEventSink({ connection: natsConnectionOptions(schema.parse({ servers: nats.url, nkeySeedFile: files.scheduler }), 'scheduler events'), streamMaxBytes: 64 << 20, streamMaxAgeMs: 3_600_000 }, log);
  sink.start();
  t.teardown(() => sink.close());
  await waitFor('event sink connected', () => sink.ready, 5000, 20);
  // Enough bytes that the server asks the reader for flow control (it stalls if the answer is refused).
  const message = 'x'.repeat(2000);
  const total = 2000;
  for (let b = 0; b < total / 200; b++) {
    await Promise.all(Array.from({ length: 200 }, (_, i) => sink.publish({ v: 1, id: `e${b}-${i}`, at: new Date().toISOString(), kind: 'job', job: 'j', type: 'running', attempt: 0, epoch: 1, message })));
  }
  let timer: NodeJS.Timeout | undefined;
  const read = await Promise.race([gantryEvents(nats.url, files.events), new Promise<'stalled'>((r) => (timer = setTimeout(() => r('stalled'), 20_000)))]);
  clearTimeout(timer);
  if (read === 'stalled') return t.fail('gantry events stalled');
  t.equal(read.code, 0, read.stderr);
  t.equal(read.events.length, total, 'every event read');
});
