/** SchedulerService: the user API. Thin handlers: validate, call, convert. */
import { Metadata, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../shared/errors/index.js';
import { rankEpoch, type JobRecord, type Schedulability } from '../../shared/domain/index.js';
import type { SchedulerServiceHandlers, WatchEventsRequest__Output, WatchEventsResponse } from '../../shared/proto/index.js';
import type { GantryEvent } from '../../shared/events/index.js';
import type { EventBus } from '../events/index.js';
import { connectivityFromPb, eventToPb, jobToPb, nodeToPb } from '../../shared/wire/index.js';
import type { ClusterModel } from '../cluster/index.js';
import type { JobManager } from '../jobs/index.js';
import type { NodeRegistry } from '../node-registry.js';
import type { AgentStreams } from './agent-service.js';
import { toGrpcError } from './status-table.js';
import type { Clock } from '../../shared/clock/index.js';

/** Job specs larger than this are refused before parsing (the validator refuses over 1 MiB too). */
export const MAX_SPEC_BYTES = 1024 * 1024;

function unary<Req, Res>(fn: (req: Req) => Res | Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => callback(null, res),
        (e: unknown) => callback(toGrpcError(e)),
      );
  };
}

const EVENT_KINDS = ['job', 'node', 'domain'] as const;

/** The WatchEvents filter: every set field must match (pure). */
export function watchEventsFilter(req: WatchEventsRequest__Output): (e: GantryEvent) => boolean {
  if (req.kind && !(EVENT_KINDS as readonly string[]).includes(req.kind)) throw new InvalidArgumentError('kind', `must be one of ${EVENT_KINDS.join(', ')}, not ${JSON.stringify(req.kind)}`);
  if (req.jobId && req.node) throw new InvalidArgumentError('job_id', 'choose job_id or node, not both (an event is about one job or one node)');
  return (e) => (!req.kind || e.kind === req.kind) && (!req.jobId || (e.kind === 'job' && e.job === req.jobId)) && (!req.node || (e.kind === 'node' && e.node === req.node));
}

/** WatchEvents: each matching event as it is published, until the client cancels or the scheduler stops. */
function watchEvents(events: EventBus) {
  return (call: ServerWritableStream<WatchEventsRequest__Output, WatchEventsResponse>): void => {
    let match: (e: GantryEvent) => boolean;
    try {
      match = watchEventsFilter(call.request);
    } catch (e) {
      call.emit('error', toGrpcError(e));
      return;
    }
    const unsubscribe = events.subscribe((e) => {
      if (match(e)) call.write(eventToPb(e));
    });
    const stop = (): void => unsubscribe();
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
    call.on('finish', stop);
    // Headers now, so a client knows the subscription is in place before any event arrives.
    call.sendMetadata(new Metadata());
  };
}

export function schedulerServiceHandlers(
  cluster: ClusterModel,
  registry: NodeRegistry,
  jobs: JobManager,
  streams: AgentStreams,
  clock: Clock,
  events: EventBus,
): SchedulerServiceHandlers {
  const node = (name: string) => {
    if (!name) throw new InvalidArgumentError('name', 'is required');
    const n = cluster.get(name);
    if (!n) throw new NotFoundError('node', name);
    return n;
  };
  const view = (j: JobRecord) => jobToPb({ ...j, message: jobs.displayMessage(j) });
  const setNode = async (name: string, s: Schedulability, reason: string, drainDeadlineMs = 0) => {
    node(name);
    const n = nodeToPb((await registry.setSchedulability(name, s, reason, drainDeadlineMs))!);
    if (drainDeadlineMs > 0) jobs.trigger('drain deadline set');
    return n;
  };
  return {
    ListNodes: unary((req) => {
      let filter: string | undefined;
      if (req.connectivity && req.connectivity !== 'CONNECTIVITY_UNSPECIFIED') {
        filter = connectivityFromPb(req.connectivity);
        if (!filter) throw new InvalidArgumentError('connectivity', `unknown value ${JSON.stringify(req.connectivity)}`);
      }
      return { nodes: cluster.list().filter((n) => !filter || n.connectivity === filter).map(nodeToPb) };
    }),
    GetNode: unary((req) => nodeToPb(node(req.name))),
    CordonNode: unary((req) => setNode(req.name, 'cordoned', req.reason || 'cordoned by operator')),
    UncordonNode: unary((req) => setNode(req.name, 'schedulable', '')),
    DrainNode: unary((req) => {
      if (req.deadlineSeconds > 30 * 86400) throw new InvalidArgumentError('deadline_seconds', 'must be at most 30 days');
      const deadline = req.deadlineSeconds > 0 ? clock.nowMs() + req.deadlineSeconds * 1000 : 0;
      const reason = req.reason || `drained by operator${deadline ? `; gangs still running at ${new Date(deadline).toISOString()} are stopped and requeued` : ''}`;
      return setNode(req.name, 'draining', reason, deadline);
    }),
    SubmitJob: unary(async (req) => {
      if (Buffer.byteLength(req.spec, 'utf8') > MAX_SPEC_BYTES) throw new InvalidArgumentError('spec', `is larger than ${MAX_SPEC_BYTES} bytes`);
      if (!req.spec.trim()) throw new InvalidArgumentError('spec', 'is empty');
      return jobToPb(await jobs.submit(req.spec, req.owner));
    }),
    GetJob: unary((req) => view(jobs.get(req.id))),
    ListJobs: unary((req) => ({ jobs: jobs.list({ state: req.state, queue: req.queue, owner: req.owner }).map(view) })),
    CancelJob: unary(async (req) => jobToPb(await jobs.cancel(req.id, req.reason))),
    ReadLogs: unary(async (req) => {
      const job = jobs.get(req.jobId);
      const rank = job.ranks.find((r) => r.rank === req.rank);
      if (!rank) {
        if (job.ranks.length === 0) throw new FailedPreconditionError(`job ${job.id} has not been placed yet; it has no logs`);
        throw new InvalidArgumentError('rank', `job ${job.id} has ranks 0-${job.ranks.length - 1}`);
      }
      const maxBytes = Math.min(Math.max(req.maxBytes || 65536, 1), 4 * 1024 * 1024);
      const chunk = await streams.readLog(rank.node, { jobId: job.id, rank: rank.rank, epoch: rankEpoch(job, rank), offset: req.offset, maxBytes });
      return { node: rank.node, data: chunk.data, nextOffset: chunk.nextOffset, eof: chunk.eof, finished: rank.state === 'exited' || !['placed', 'starting', 'running'].includes(job.state) };
    }),
    GetTopology: unary(() => jobs.topologyView()),
    WatchEvents: watchEvents(events),
    // Identity and authorization (issue 17) land in scheduler/auth; until then this refuses.
    WhoAmI: unary(() => {
      throw new FailedPreconditionError('WhoAmI needs the auth layer, which is not wired yet');
    }),
    // A node that joined while nodes.requireApproval was on takes work from now on (no-op for others).
    ApproveNode: unary(async (req) => {
      node(req.name);
      const n = await registry.approve(req.name);
      if (!n) throw new NotFoundError('node', req.name);
      jobs.trigger('node approved');
      return nodeToPb(n);
    }),
    // Refused while ranks run there; its agent's stream is ended, and a later registration is a new join.
    DeleteNode: unary(async (req) => {
      node(req.name);
      await jobs.removeNode(req.name, async () => {
        streams.disconnect(req.name);
        if (!(await registry.delete(req.name))) throw new NotFoundError('node', req.name);
      });
      return { name: req.name };
    }),
    ExplainJob: unary((req) => {
      const e = jobs.explain(req.id);
      return { id: e.job.id, state: e.job.state, fitsNow: e.fitsNow, reasons: e.reasons, text: e.text };
    }),
  };
}
