/**
 * `gantry events` as a child process against a real nats-server with JetStream: the test publishes
 * events through the scheduler's outbox and NatsEventSink (which creates GANTRY_EVENTS) and reads them back.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { EventOutbox, NatsEventSink } from '../../../scheduler/events/index.js';
import { MemoryStore } from '../../../scheduler/store/index.js';
import { EVENT_SCHEMA_VERSION, type GantryEvent, type JobEvent, type NodeEvent } from '../../../shared/events/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { startChild } from '../../../shared/procs/index.js';
import { parseSince, formatEvent, eventsFilterSubject } from '../../../shared/cli/events.js';
import { requireBuilt, startNats, waitFor } from '../../harness/cluster.js';

const entry = requireBuilt();

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [entry, 'events', ...args], { env: { ...process.env, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

let seq = 0;
function jobEvent(job: string, type: JobEvent['type'], message: string): JobEvent {
  return { v: EVENT_SCHEMA_VERSION, id: `ev-${++seq}`, at: new Date().toISOString(), kind: 'job', job, type, attempt: 1, epoch: 1, message };
}
function cordoned(node: string): NodeEvent {
  return { v: EVENT_SCHEMA_VERSION, id: `ev-${++seq}`, at: new Date().toISOString(), kind: 'node', node, type: 'schedulability', schedulability: 'cordoned', reason: 'maintenance' };
}

t.test('pure helpers', async (t) => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  t.equal(parseSince('10m', now), now - 600_000);
  t.equal(parseSince('1d', now), now - 86_400_000);
  t.equal(parseSince('2026-03-01T11:00:00Z', now), now - 3_600_000);
  t.equal(parseSince('2026-03-01T13:00:00+02:00', now), now - 3_600_000);
  for (const bad of ['yesterday', '2026-03-01', '2026-13-01T00:00:00Z', '-5m', '']) {
    try {
      parseSince(bad, now);
      t.fail(`${JSON.stringify(bad)} accepted`);
    } catch (e) {
      t.match((e as Error).message, /--since/, `${JSON.stringify(bad)} refused naming --since`);
    }
  }
  t.equal(eventsFilterSubject({ job: 'a.b' }), 'gantry.events.job.a%2Eb');
  t.equal(eventsFilterSubject({ node: 'gpu-1' }), 'gantry.events.node.gpu-1');
  t.equal(eventsFilterSubject({}), 'gantry.events.>');
  t.match(formatEvent(cordoned('gpu-1')), /node\s+gpu-1  schedulability  cordoned: maintenance\n$/);
  t.match(formatEvent({ v: EVENT_SCHEMA_VERSION, id: 'ev-x', at: new Date().toISOString(), kind: 'node', node: 'bad', type: 'excluded', reason: 'inventory.gpus: 1108 GPUs; at most 1024' }), /node\s+bad  excluded  inventory\.gpus: 1108 GPUs; at most 1024\n$/);
  t.match(
    formatEvent({ v: EVENT_SCHEMA_VERSION, id: 'ev-i', at: new Date().toISOString(), kind: 'node', node: 'n1', type: 'incident', source: 'gpu-clean', jobId: 'train-7', reason: '1 process left', leftovers: [{ pid: 42, user: 'alice', name: 'python', gpu: 3, usedMemoryBytes: 1 }] }),
    /node\s+n1  incident  gpu-clean after train-7: 1 process left; left: pid 42 \(alice\) on GPU 3\n$/,
  );
  t.match(
    formatEvent({ v: EVENT_SCHEMA_VERSION, id: 'ev-b', at: new Date().toISOString(), kind: 'node', node: 'n2', type: 'breaker', action: 'drain', wanted: 'health: epilog: exit 1', why: '2 of 10 nodes would be out' }),
    /node\s+n2  breaker  held back drain \(health: epilog: exit 1\): 2 of 10 nodes would be out\n$/,
  );
  t.match(formatEvent({ ...jobEvent('j1', 'placed', 'placed on 2 nodes'), nodes: ['a', 'b'] }), /job\s+j1  placed  placed on 2 nodes \(attempt 1, nodes a,b\)\n$/);
  const fault = { xid: 13, rank: 1, epoch: 1, node: 'n2', gpu: 3, pid: 4242, processName: 'py\u001b[2J', atMs: 0, evidence: 'Xid 13' };
  t.match(
    formatEvent({ ...jobEvent('j1', 'fault', 'all 2 ranks running'), fault }),
    /job\s+j1  fault  XID 13 on rank 1 \(node n2, GPU 3, pid 4242 py\\x1b\[2J\); all 2 ranks running \(attempt 1\)\n$/,
    'a fault event: which XID hit which rank first (escaped), then the job message',
  );
  const audit = { v: 1, id: 'a1', at: '2026-12-06T10:00:00.000Z', kind: 'audit', actor: { name: 'bob', kind: 'user', via: 'token' }, target: 'j1', peer: 'ipv4:10.0.0.9:51000' } as const;
  t.match(
    formatEvent({ ...audit, type: 'denied', action: 'CancelJob', permission: 'jobs.cancelAll', message: 'user "bob" may not cancel job j1 of "alice"' }),
    /audit\s+CancelJob  denied  bob \(token\) j1 \[jobs\.cancelAll\]: user "bob" may not cancel job j1 of "alice" from ipv4:10\.0\.0\.9:51000\n$/,
    'an audit event: who, on what, the permission, why',
  );
  t.match(
    formatEvent({ ...audit, type: 'unauthenticated', actor: { name: '', kind: 'anonymous', via: 'token' }, action: 'ListJobs', target: '', permission: '', message: 'the token expired' }),
    /audit\s+ListJobs  unauthenticated  \(unverified\) \(bad token\): the token expired/,
    'a refused credential says which kind it was',
  );
});

t.test('gantry events against JetStream', async (t) => {
  const nats = await startNats(t);
  const log = createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false });
  const sink = new NatsEventSink({ connection: { servers: nats.url }, streamMaxBytes: 64 << 20, streamMaxAgeMs: 3_600_000 }, log);
  const bus = new EventOutbox(new MemoryStore(), sink, log);
  t.teardown(() => bus.close());
  const publish = async (...events: GantryEvent[]): Promise<void> => {
    for (const e of events) bus.publish(e);
    t.ok(await bus.flush(10_000), 'events stored');
  };
  const env = { GANTRY_NATS_URL: nats.url };

  await t.test('no stream yet: exit 1 naming the stream', async (t) => {
    const r = await run([], env);
    t.equal(r.code, 1);
    t.match(r.stderr, /no stream GANTRY_EVENTS on nats:\/\/127\.0\.0\.1:/);
  });

  sink.start(); // the first publish creates GANTRY_EVENTS
  bus.start();
  await publish(jobEvent('train.1', 'submitted', 'submitted by alice'), cordoned('gpu-node.1'), jobEvent('other', 'submitted', 'submitted by bob'), jobEvent('train.1', 'placed', 'placed'));

  t.test('replays everything and exits', async (t) => {
    const r = await run([], env);
    t.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    t.equal(lines.length, 4, r.stdout);
    t.match(lines[0], /job\s+train\.1  submitted  submitted by alice/);
    t.match(lines[1], /node\s+gpu-node\.1  schedulability  cordoned: maintenance/);
    t.match(lines[3], /train\.1  placed/);
  });

  t.test('--job filters to one job (dots in the id are one token)', async (t) => {
    const r = await run(['--job', 'train.1', '--json', '--nats-url', nats.url]);
    t.equal(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as JobEvent);
    t.same(events.map((e) => [e.job, e.type]), [['train.1', 'submitted'], ['train.1', 'placed']]);
  });

  t.test('--node filters to one node', async (t) => {
    const r = await run(['--node', 'gpu-node.1'], env);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim().split('\n').length, 1);
    t.match(r.stdout, /gpu-node\.1  schedulability/);
  });

  t.test('a filter with no events prints nothing and exits 0', async (t) => {
    const r = await run(['--node', 'nobody'], env);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '');
  });

  t.test('--since starts at a time', async (t) => {
    // JetStream stamps messages with the server's clock: leave a clear gap around the cut.
    await new Promise((r) => setTimeout(r, 300));
    const cut = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 300));
    await publish(jobEvent('late', 'submitted', 'after the cut'));
    const r = await run(['--since', cut], env);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim().split('\n').length, 1, r.stdout);
    t.match(r.stdout, /late  submitted  after the cut/);
    const all = await run(['--since', '1h'], env);
    t.equal(all.stdout.trim().split('\n').length, 5, 'a relative --since reaches back over all five');
  });

  t.test('--follow prints new events until SIGTERM', async (t) => {
    const child = startChild('gantry events', process.execPath, [entry, 'events', '--follow', '--job', 'live'], { env: { ...process.env, ...env } });
    t.teardown(() => child.kill());
    await publish(jobEvent('live', 'submitted', 'first'));
    await waitFor('first event', () => child.output().includes('live  submitted  first'));
    await publish(jobEvent('live', 'running', 'second'));
    await waitFor('second event', () => child.output().includes('live  running  second'));
    t.notMatch(child.output(), /late|train/, 'only the followed job');
    t.equal(await child.stop(5000), 0, 'SIGTERM ends it with exit 0');
  });

  t.test('bad input exits 2 with a clear message', async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [['--since', 'yesterday'], /--since: "yesterday" is neither an RFC 3339 time/],
      [['--job', 'a', '--node', 'b'], /--job: choose --job or --node/],
      [['--frobnicate'], /Unknown option '--frobnicate'/],
      [['--nats-url', 'http://x'], /--nats-url: must be nats:\/\/host:port/],
    ];
    for (const [args, re] of cases) {
      const r = await run(args, env);
      t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
      t.match(r.stderr, re, `${args.join(' ')}: message`);
    }
  });

  t.test('--help', async (t) => {
    const r = await run(['--help']);
    t.equal(r.code, 0);
    t.match(r.stdout, /usage: gantry events/);
  });
});

t.test('NATS unreachable: exit 1 naming the server', async (t) => {
  const r = await run(['--nats-url', 'nats://127.0.0.1:1']);
  t.equal(r.code, 1);
  t.match(r.stderr, /cannot reach NATS at nats:\/\/127\.0\.0\.1:1/);
});
