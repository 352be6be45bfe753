/** WatchEvents over real gRPC: a scheduler child process, the CLI's client, a submitted job's events arrive. */
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import type { WatchEventsResponse__Output } from '../../../shared/proto/index.js';
import { eventFromPb, eventToPb } from '../../../shared/wire/index.js';
import { schedulerClient } from '../../../shared/cli/client.js';
import { watchEventsFilter } from '../../../scheduler/api/scheduler-service.js';
import { EVENT_SCHEMA_VERSION, jobEventSubject, type GantryEvent } from '../../../shared/events/index.js';
import { listNodes, startAgent, startScheduler, waitFor } from '../../harness/cluster.js';

const SPEC = 'kind: Batch\nname: watched\nshards: 1\ngpusPerRank: 1\ncommand: [sleep, "1"]\n';

t.test('filter and conversion (pure)', async (t) => {
  const job: GantryEvent = { v: EVENT_SCHEMA_VERSION, id: 'e1', at: '2026-01-01T00:00:00Z', kind: 'job', job: 'j.1', type: 'submitted', attempt: 0, epoch: 0, message: 'x' };
  const node: GantryEvent = { v: EVENT_SCHEMA_VERSION, id: 'e2', at: '2026-01-01T00:00:00Z', kind: 'node', node: 'n1', type: 'connectivity', connectivity: 'lost' };
  const f = (req: { jobId?: string; node?: string; kind?: string }) => watchEventsFilter({ jobId: '', node: '', kind: '', ...req });
  t.same([f({})(job), f({})(node)], [true, true]);
  t.same([f({ jobId: 'j.1' })(job), f({ jobId: 'j.1' })(node), f({ jobId: 'j.2' })(job)], [true, false, false]);
  t.same([f({ node: 'n1' })(node), f({ node: 'n1' })(job)], [true, false]);
  t.same([f({ kind: 'node' })(node), f({ kind: 'node' })(job)], [true, false]);
  try {
    f({ kind: 'jobs' });
    t.fail('bad kind accepted');
  } catch (e) {
    t.match((e as Error).message, /^kind: /);
  }
  const pb = eventToPb(job);
  t.equal(pb.subject, 'gantry.events.job.j%2E1');
  t.same(eventFromPb({ subject: pb.subject!, kind: pb.kind!, type: pb.type!, at: pb.at!, json: pb.json! }), job);
});

t.test('WatchEvents streams events as they are published', async (t) => {
  const sched = await startScheduler(t);
  const client = schedulerClient(sched.address);
  t.teardown(() => client.close());
  await startAgent(t, 'gpu-w.1', sched.address);
  await waitFor('the agent registered', async () => (await listNodes(sched.address)).some((n) => n.name === 'gpu-w.1' && n.connectivity === 'ready'));

  t.test('node filter: a cordon arrives', async (t) => {
    const got: WatchEventsResponse__Output[] = [];
    const call = client.WatchEvents({ node: 'gpu-w.1' }) as grpc.ClientReadableStream<WatchEventsResponse__Output>;
    call.on('data', (m: WatchEventsResponse__Output) => got.push(m));
    call.on('error', () => undefined);
    await new Promise((r) => call.on('metadata', r));
    await new Promise<void>((resolve, reject) => client.CordonNode({ name: 'gpu-w.1', reason: 'watch test' }, (e: grpc.ServiceError | null) => (e ? reject(new Error(e.details)) : resolve())));
    const ev = await waitFor('the schedulability event', () => got.find((m) => m.type === 'schedulability'));
    t.equal(ev.subject, 'gantry.events.node.gpu-w%2E1');
    t.match(eventFromPb(ev), { kind: 'node', node: 'gpu-w.1', schedulability: 'cordoned', reason: 'watch test' });
    t.ok(got.every((m) => m.kind === 'node'), 'only node events');
    call.cancel();
    await new Promise<void>((resolve) => client.UncordonNode({ name: 'gpu-w.1' }, () => resolve()));
  });

  const received: WatchEventsResponse__Output[] = [];
  const call = client.WatchEvents({ kind: 'job' }) as grpc.ClientReadableStream<WatchEventsResponse__Output>;
  const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
    call.on('error', (e: grpc.ServiceError) => resolve(e));
    call.on('end', () => resolve(undefined));
  });
  call.on('data', (m: WatchEventsResponse__Output) => received.push(m));
  // The stream is open once the server has the call; a submitted job's events then arrive.
  await new Promise((r) => call.on('metadata', r));
  const submitted = await new Promise<{ id: string }>((resolve, reject) =>
    client.SubmitJob({ spec: SPEC, owner: 'tester' }, (e: grpc.ServiceError | null, j?: unknown) => (e ? reject(new Error(`SubmitJob: ${e.details}`)) : resolve(j as { id: string }))),
  );
  const first = await waitFor('the submitted event', () => received.find((m) => m.type === 'submitted'));
  t.equal(first.kind, 'job');
  t.equal(first.subject, jobEventSubject(submitted.id));
  const e = eventFromPb(first);
  t.match(e, { kind: 'job', job: submitted.id, type: 'submitted' });

  call.cancel();
  const err = await ended;
  t.equal(err?.code, grpc.status.CANCELLED, 'the client cancels; the server unsubscribes');

  t.test('a bad kind is INVALID_ARGUMENT naming the field', async (t) => {
    const bad = client.WatchEvents({ kind: 'everything' }) as grpc.ClientReadableStream<unknown>;
    const e = await new Promise<grpc.ServiceError>((resolve) => bad.on('error', resolve));
    t.equal(e.code, grpc.status.INVALID_ARGUMENT);
    t.match(e.details, /^kind: /);
  });
});
