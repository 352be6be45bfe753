/**
 * SchedulerService: the user API. Thin handlers: validate, call, convert. Every handler runs behind
 * guardSchedulerService (authz.ts): the caller is verified and holds the RPC's permission; the
 * per-job checks (own job or every job) are made here, where the job is known.
 */
import { Metadata, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError } from '../../shared/errors/index.js';
import { rankEpoch, type JobRecord, type Schedulability } from '../../shared/domain/index.js';
import type { SchedulerServiceHandlers, WatchEventsRequest__Output, WatchEventsResponse } from '../../shared/proto/index.js';
import type { GantryEvent } from '../../shared/events/index.js';
import type { EventBus } from '../events/index.js';
import { connectivityFromPb, eventToPb, jobToPb, nodeToPb } from '../../shared/wire/index.js';
import type { ClusterModel } from '../cluster/index.js';
import { checkRequestId, type JobManager } from '../jobs/index.js';
import type { NodeRegistry } from '../node-registry.js';
import type { AgentStreams } from './agent-service.js';
import { toGrpcError } from './status-table.js';
import { checkRequestStrings } from './request-limits.js';
import type { Clock } from '../../shared/clock/index.js';
import { permissionsOf, rolesOf, runAsAccounts, seesAllJobs, type AuthPolicy, type Identity } from '../auth/index.js';
import type { ControlPlaneMember } from '../ha/control-plane.js';
import { authorizeSubmitter, callerOf, cancelMessage, requireJob } from './authz.js';
import type { UsageService } from '../usage/index.js';
import { usageHandlers } from './usage-service.js';
import { unary } from './unary.js';

/** The most bytes one ReadLogs answers (its chunk travels in one agent message, under the message limits). */
export const MAX_LOG_READ_BYTES = 1024 * 1024;

/** Job specs larger than this are refused before parsing (the validator refuses over 1 MiB too). */
export const MAX_SPEC_BYTES = 1024 * 1024;


const EVENT_KINDS = ['job', 'node', 'domain', 'audit'] as const;

/** The WatchEvents filter: every set field must match (pure). */
export function watchEventsFilter(req: WatchEventsRequest__Output): (e: GantryEvent) => boolean {
  if (req.kind && !(EVENT_KINDS as readonly string[]).includes(req.kind)) throw new InvalidArgumentError('kind', `must be one of ${EVENT_KINDS.join(', ')}, not ${JSON.stringify(req.kind)}`);
  if (req.jobId && req.node) throw new InvalidArgumentError('job_id', 'choose job_id or node, not both (an event is about one job or one node)');
  return (e) => (!req.kind || e.kind === req.kind) && (!req.jobId || (e.kind === 'job' && e.job === req.jobId)) && (!req.node || (e.kind === 'node' && e.node === req.node));
}

/**
 * Which events a caller may watch: every event with events.watchAll; else only the job events of
 * its own jobs (no node, domain or audit events), and asking for more is refused.
 */
function watchScope(id: Identity, policy: AuthPolicy, jobs: JobManager, req: WatchEventsRequest__Output): (e: GantryEvent) => boolean {
  if (seesAllJobs(id, policy, 'watch')) return () => true;
  if (req.node || (req.kind && req.kind !== 'job')) {
    throw new PermissionDeniedError('events.watchAll', `${id.kind} ${JSON.stringify(id.name)} may watch the events of its own jobs only; ${req.node ? 'node' : req.kind} events need the permission events.watchAll`);
  }
  if (req.jobId) requireJob(id, policy, 'watch', jobs.get(req.jobId));
  const own = (jobId: string): boolean => {
    try {
      return jobs.get(jobId).owner === id.name;
    } catch {
      return false; // not a job (any more)
    }
  };
  return (e) => id.kind === 'user' && e.kind === 'job' && own(e.job);
}

/** WatchEvents: each matching event as it is published, until the client cancels or the scheduler stops. */
function watchEvents(events: EventBus, jobs: JobManager, policy: AuthPolicy) {
  return (call: ServerWritableStream<WatchEventsRequest__Output, WatchEventsResponse>): void => {
    let match: (e: GantryEvent) => boolean;
    try {
      checkRequestStrings(call.request);
      const filter = watchEventsFilter(call.request);
      const scope = watchScope(callerOf(call).identity, policy, jobs, call.request);
      match = (e) => filter(e) && scope(e);
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
  policy: AuthPolicy,
  /** This scheduler's place in the control plane (GetControlPlane); scheduler/ha/control-plane.ts. */
  controlPlane: () => ControlPlaneMember | Promise<ControlPlaneMember>,
  /** Usage accounting (GetUsage, GetClusterUsage; api/usage-service.ts); absent: UNAVAILABLE. */
  usage?: UsageService,
): SchedulerServiceHandlers {
  const node = (name: string) => {
    if (!name) throw new InvalidArgumentError('name', 'is required');
    const n = cluster.get(name);
    if (!n) throw new NotFoundError('node', name);
    return n;
  };
  const view = (j: JobRecord) => jobToPb({ ...j, message: jobs.displayMessage(j) });
  /** The job, when the caller may act on it this way (its own, or every job's permission). */
  const jobFor = (call: object, verb: 'read' | 'cancel' | 'logs', id: string): JobRecord => {
    const j = jobs.get(id);
    requireJob(callerOf(call).identity, policy, verb, j);
    return j;
  };
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
    SubmitJob: unary(async (req, call) => {
      if (Buffer.byteLength(req.spec, 'utf8') > MAX_SPEC_BYTES) throw new InvalidArgumentError('spec', `is larger than ${MAX_SPEC_BYTES} bytes`);
      if (!req.spec.trim()) throw new InvalidArgumentError('spec', 'is empty');
      const requestId = checkRequestId(req.requestId);
      const caller = callerOf(call).identity;
      return jobToPb(await jobs.submit(req.spec, (spec) => authorizeSubmitter(caller, policy, req.owner, spec), requestId));
    }),
    GetJob: unary((req, call) => view(jobFor(call, 'read', req.id))),
    ListJobs: unary((req, call) => {
      const id = callerOf(call).identity;
      let owner = req.owner;
      if (!seesAllJobs(id, policy, 'read')) {
        if (owner && owner !== id.name) throw new PermissionDeniedError('jobs.readAll', `${id.kind} ${JSON.stringify(id.name)} may list its own jobs only; the jobs of ${JSON.stringify(owner)} need the permission jobs.readAll`);
        if (id.kind !== 'user') return { jobs: [] };
        owner = id.name;
      }
      return { jobs: jobs.list({ state: req.state, queue: req.queue, owner }).map(view) };
    }),
    CancelJob: unary(async (req, call) => {
      jobFor(call, 'cancel', req.id);
      return jobToPb(await jobs.cancel(req.id, cancelMessage(callerOf(call).identity, req.reason)));
    }),
    ReleaseJob: unary(async (req, call) => {
      jobFor(call, 'cancel', req.id);
      return jobToPb(await jobs.release(req.id, callerOf(call).identity.name));
    }),
    ReadLogs: unary(async (req, call) => {
      // A uint64 beyond 2^53 arrives rounded (longs: Number): refused here rather than sent to the agent.
      if (!Number.isSafeInteger(req.offset) || req.offset < 0) throw new InvalidArgumentError('offset', `must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got ${String(req.offset)}`);
      const job = jobs.get(req.jobId);
      requireJob(callerOf(call).identity, policy, 'logs', job);
      const rank = job.ranks.find((r) => r.rank === req.rank);
      if (!rank) {
        if (job.ranks.length === 0) throw new FailedPreconditionError(`job ${job.id} has not been placed yet; it has no logs`);
        throw new InvalidArgumentError('rank', `job ${job.id} has ranks 0-${job.ranks.length - 1}`);
      }
      // At most 1 MiB a read: the chunk comes from the agent in one message, which must stay under
      // the agent's scheduler.maxSendMessageBytes and this scheduler's grpc.maxReceiveMessageBytes
      // (4 MiB each by default, 64 KiB at the least); follow with next_offset for more.
      const maxBytes = Math.min(Math.max(req.maxBytes || 65536, 1), MAX_LOG_READ_BYTES);
      const chunk = await streams.readLog(rank.node, { jobId: job.id, rank: rank.rank, epoch: rankEpoch(job, rank), offset: req.offset, maxBytes });
      return { node: rank.node, data: chunk.data, nextOffset: chunk.nextOffset, eof: chunk.eof, finished: rank.state === 'exited' || !['placed', 'starting', 'running'].includes(job.state) };
    }),
    GetTopology: unary(() => jobs.topologyView()),
    WatchEvents: watchEvents(events, jobs, policy),
    WhoAmI: unary((_req, call) => {
      const id = callerOf(call).identity;
      return {
        name: id.name,
        kind: id.kind,
        authenticatedBy: id.via,
        groups: [...id.groups],
        roles: rolesOf(id, policy),
        permissions: [...permissionsOf(id, policy)].sort(),
        runAs: runAsAccounts(id, policy),
        expiresUnixMs: id.expiresMs ?? 0,
      };
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
    GetControlPlane: unary(() => controlPlane()),
    ...usageHandlers(usage, policy, clock),
    ExplainJob: unary((req, call) => {
      jobFor(call, 'read', req.id);
      const e = jobs.explain(req.id);
      return { id: e.job.id, state: e.job.state, fitsNow: e.fitsNow, reasons: e.reasons, text: e.text };
    }),
  };
}
