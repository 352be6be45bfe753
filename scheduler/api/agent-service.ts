/**
 * AgentService.Connect: one bidirectional stream per agent. Thin: identify the caller, validate,
 * convert, hand to the registry. The node a stream speaks for comes from its verified node
 * certificate (agent-identity.ts), never from the request alone.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { AgentMessage__Output, AgentServiceHandlers, SchedulerMessage } from '../../shared/proto/index.js';
import { diagnosticResultFromPb, inventoryFromPb, jobFaultFromPb, labelsFromPb, latencyEndpointFromPb, taskStatusFromPb, verdictFromPb, type DiagnosticResultWireView, type JobFaultView, type LatencyEndpointView, type TaskStatusView } from '../../shared/wire/index.js';
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, NotFoundError, PermissionDeniedError, UnauthenticatedError, UnavailableError } from '../../shared/errors/index.js';
import type { PbLogChunkOut } from '../../shared/proto/index.js';
import type { Logger } from '../../shared/log/index.js';
import { actorOf, presentedCredential, unverifiedActor, type Auditor, type CallAuthenticator, type Identity } from '../auth/index.js';
import type { NodeRegistry } from '../node-registry.js';
import type { SchedulerMetrics } from '../metrics.js';
import { registerRefusal, streamRefusal, type ConnectRefusal } from './agent-identity.js';
import { checkRegistrationStrings } from './request-limits.js';
import { toGrpcError } from './status-table.js';
import { undecodable } from './decode.js';
import { incidentFromPb } from './incident.js';

type AgentStream = ServerDuplexStream<AgentMessage__Output, SchedulerMessage>;

/** A registered node's live stream and who opened it. */
interface LiveStream {
  call: AgentStream;
  identity: Identity;
}

const NODE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;

export function validateNodeName(name: string, field: string): string {
  if (!NODE_NAME.test(name)) {
    throw new InvalidArgumentError(field, `must be 1-253 characters of letters, digits, '.', '_' or '-', starting and ending with a letter or digit; got ${JSON.stringify(name)}`);
  }
  return name;
}

/** At most this many accounts in an agent's allow-list (runner.allowedUsers), each at most this long. */
const MAX_ALLOWED_USERS = 1024;
const MAX_USER_NAME = 256;

/** The accounts an agent registers (runner.allowedUsers): non-empty names, each once, sorted. */
export function validateAllowedUsers(users: readonly string[], field: string): string[] {
  if (users.length > MAX_ALLOWED_USERS) throw new InvalidArgumentError(field, `lists ${users.length} accounts; at most ${MAX_ALLOWED_USERS}`);
  users.forEach((u, i) => {
    if (u === '' || u.length > MAX_USER_NAME) throw new InvalidArgumentError(`${field}[${i}]`, `must be 1-${MAX_USER_NAME} characters; got ${JSON.stringify(u.slice(0, 40))}`);
  });
  return [...new Set(users)].sort();
}

export interface AgentServiceDeps {
  registry: NodeRegistry;
  metrics: SchedulerMetrics;
  log: Logger;
  schedulerId: string;
  reportIntervalMs: number;
  /** The HA leader's term, told to agents in Registered (0 or absent: no HA). */
  term?: number;
  /** Task statuses re-announced at registration (after the node is registered). */
  onRegistered(node: string, tasks: TaskStatusView[]): Promise<void>;
  onTaskUpdate(node: string, task: TaskStatusView): Promise<void>;
  /** An application XID the agent attributed to one of its ranks (checked here first); absent: ignored. */
  onJobFault?(node: string, fault: JobFaultView): Promise<void>;
  /** The node's latency echo endpoint from its registration (null: probing is off there). */
  onLatencyEndpoint?(node: string, endpoint: LatencyEndpointView | null): void;
  /** The agent's answer to RunDiagnostic (scheduler/diagnostics); absent: answers are dropped. */
  onDiagnosticResult?(node: string, result: DiagnosticResultWireView): Promise<void>;
  /** Who opened a stream (CallAuthenticator.identify): a node, a user, or anonymous on a plaintext server. */
  identify: CallAuthenticator['identify'];
  /** The audit trail (refusals, joins), the one the user API records to. */
  auditor: Auditor;
}

export class AgentStreams {
  /** The live stream of each node; a newer connection from the same node replaces the older one. */
  private readonly streams = new Map<string, LiveStream>();
  /** ReadLog requests waiting for the agent's LogChunk. */
  private readonly pendingLogs = new Map<string, { node: string; resolve: (c: PbLogChunkOut) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  constructor(private readonly deps: AgentServiceDeps) {}

  get size(): number {
    return this.streams.size;
  }

  send(node: string, msg: SchedulerMessage): boolean {
    const s = this.streams.get(node);
    if (!s) return false;
    return s.call.write(msg);
  }

  /**
   * Ends the streams of nodes whose certificate serial (hex, upper case) is in `serials`, with
   * UNAUTHENTICATED; returns their names. The agents' ranks keep running; an agent reconnects,
   * and the authenticator refuses the revoked certificate then.
   */
  closeRevoked(serials: ReadonlySet<string>): string[] {
    const closed: string[] = [];
    for (const [node, s] of this.streams) {
      const serial = s.identity.serial;
      if (serial === undefined || !serials.has(serial)) continue;
      this.streams.delete(node);
      closed.push(node);
      this.deps.log.warn({ node, serial }, 'closing the stream of a node whose certificate is revoked');
      s.call.emit('error', toGrpcError(new UnauthenticatedError(`the certificate ${serial} of node ${node} is revoked`)));
    }
    this.deps.metrics.agentStreams.set(this.streams.size);
    return closed;
  }

  /** Ends a node's stream (its record was deleted); false when it had none. */
  disconnect(node: string): boolean {
    const s = this.streams.get(node);
    if (!s) return false;
    this.streams.delete(node);
    this.deps.metrics.agentStreams.set(this.streams.size);
    this.deps.log.info({ node }, 'agent stream closed by the scheduler');
    s.call.end();
    return true;
  }

  /** Asks a node's agent for part of a rank's log. */
  readLog(node: string, req: { jobId: string; rank: number; epoch: number; offset: number; maxBytes: number }, timeoutMs = 10_000): Promise<PbLogChunkOut> {
    const requestId = randomUUID();
    return new Promise<PbLogChunkOut>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingLogs.delete(requestId);
        reject(new UnavailableError(`node ${node} did not answer the log request within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pendingLogs.set(requestId, { node, resolve, reject, timer });
      if (!this.send(node, { readLog: { requestId, ...req } })) {
        clearTimeout(timer);
        this.pendingLogs.delete(requestId);
        reject(new UnavailableError(`node ${node} is not connected; its logs cannot be read now`));
      }
    });
  }

  closeAll(): void {
    for (const [id, p] of this.pendingLogs) {
      clearTimeout(p.timer);
      p.reject(new UnavailableError('the scheduler is stopping'));
      this.pendingLogs.delete(id);
    }
    for (const s of this.streams.values()) s.call.end();
    this.streams.clear();
  }

  handlers(): AgentServiceHandlers {
    return { Connect: (call) => this.connect(call) };
  }

  private connect(call: AgentStream): void {
    const { metrics, log } = this.deps;
    let node: string | undefined;
    let identity: Identity | undefined;
    let failed = false;
    const fail = (e: unknown): void => {
      if (failed) return;
      failed = true;
      // Identity refusals are counted and logged where they are decided (refuse()).
      if (!(e instanceof PermissionDeniedError || e instanceof UnauthenticatedError)) {
        metrics.invalidMessages.inc({ reason: e instanceof InvalidArgumentError ? e.field : 'internal' });
        log.warn({ node, err: (e as Error).message }, 'closing agent stream');
      }
      // grpc-js turns an 'error' on a server stream into the call's status, then ends it.
      call.emit('error', toGrpcError(e));
    };
    // Who is calling comes first: no message is handled before the caller is known and may connect.
    let chain = this.admit(call)
      .then((id) => void (identity = id))
      .catch(fail);
    call.on('data', (msg: AgentMessage__Output) => {
      // Handle messages strictly in order, one at a time; nothing more after a refusal. Bytes that
      // do not decode as an AgentMessage are bad input from the peer (api/decode.ts), not our fault.
      const bad = undecodable(msg);
      chain = chain
        .then(() => {
          if (failed) return undefined;
          if (bad !== undefined) throw new InvalidArgumentError('message', bad);
          return this.onMessage(call, msg, identity!, node, (n) => (node = n));
        })
        .catch(fail);
    });
    const done = (): void => {
      if (node && this.streams.get(node)?.call === call) {
        this.streams.delete(node);
        metrics.agentStreams.set(this.streams.size);
        log.info({ node }, 'agent stream closed');
      }
    };
    call.on('end', () => {
      done();
      call.end();
    });
    call.on('error', done);
    call.on('close', done);
  }

  /** The caller's identity, when it may open an agent stream at all; else the refusal (already counted, logged, audited). */
  private async admit(call: AgentStream): Promise<Identity> {
    let id: Identity;
    try {
      id = await this.deps.identify(call);
    } catch (e) {
      if (!(e instanceof UnauthenticatedError)) throw e;
      throw this.refuse(call, undefined, '', { reason: 'unauthenticated', error: e });
    }
    const refusal = streamRefusal(id);
    if (refusal) throw this.refuse(call, id, '', refusal);
    return id;
  }

  /** Counts, logs and audits a refused agent stream; returns the error to end it with. */
  private refuse(call: AgentStream, id: Identity | undefined, claimed: string, refusal: ConnectRefusal): Error {
    const { metrics, log, auditor } = this.deps;
    const peer = call.getPeer();
    metrics.nodeIdentityRefused.inc({ reason: refusal.reason });
    log.warn({ reason: refusal.reason, claimed: claimed || undefined, identity: id?.name, kind: id?.kind, serial: id?.serial, peer, err: refusal.error.message }, 'refused an agent stream');
    auditor.record({
      type: refusal.error instanceof UnauthenticatedError ? 'unauthenticated' : 'denied',
      actor: id ? actorOf(id) : unverifiedActor(presentedCredential(call)),
      action: 'Connect',
      target: claimed,
      permission: '',
      message: refusal.error.message,
      peer,
    });
    return refusal.error;
  }

  private async onMessage(call: AgentStream, msg: AgentMessage__Output, identity: Identity, node: string | undefined, setNode: (n: string) => void): Promise<void> {
    const { registry, metrics } = this.deps;
    if (msg.register) {
      const r = msg.register;
      const name = validateNodeName(r.nodeName, 'register.nodeName');
      if (node !== undefined && node !== name) throw new InvalidArgumentError('register.nodeName', 'a stream registers one node');
      // Before anything else: a refused stream must not replace (or otherwise touch) the real node's.
      const refusal = registerRefusal(identity, name);
      if (refusal) throw this.refuse(call, identity, name, refusal);
      const inventory = inventoryFromPb(r.inventory, 'register.inventory');
      const verdicts = r.verdicts.map((v, i) => verdictFromPb(v, `register.verdicts[${i}]`));
      const tasks = r.tasks.map((t, i) => taskStatusFromPb(t, `register.tasks[${i}]`));
      const latency = latencyEndpointFromPb(r.latency, 'register.latency');
      const allowedUsers = validateAllowedUsers(r.allowedUsers, 'register.allowedUsers');
      const labels = labelsFromPb(r.labels, 'register.labels');
      checkRegistrationStrings(r, 'register');
      const previous = this.streams.get(name);
      if (previous && previous.call !== call) previous.call.end();
      this.streams.set(name, { call, identity });
      setNode(name);
      metrics.agentStreams.set(this.streams.size);
      metrics.registrations.inc();
      const joined = registry.cluster.get(name) === undefined;
      const record = await registry.register({
        name,
        address: r.address || name,
        agentVersion: r.agentVersion,
        inventory,
        labels,
        verdicts,
        allowedUsers,
        allowRoot: r.allowRoot,
      });
      this.deps.log.info({ node: name, kind: identity.kind, via: identity.via, serial: identity.serial }, 'agent stream registered');
      if (joined) this.joined(call, name, identity, record.awaitingApproval === true);
      call.write({ registered: { schedulerId: this.deps.schedulerId, reportIntervalMs: this.deps.reportIntervalMs, term: this.deps.term ?? 0 } });
      this.deps.onLatencyEndpoint?.(name, latency);
      await this.deps.onRegistered(name, tasks);
      return;
    }
    if (node === undefined) throw new InvalidArgumentError('register', 'the first message on a stream must be a registration');
    if (msg.report) {
      metrics.reportsReceived.inc();
      const r = msg.report;
      await registry.report(node, {
        ...(r.inventoryChanged ? { inventory: inventoryFromPb(r.inventory, 'report.inventory') } : {}),
        ...(r.verdictsChanged ? { verdicts: r.verdicts.map((v, i) => verdictFromPb(v, `report.verdicts[${i}]`)) } : {}),
      });
      return;
    }
    if (msg.logChunk) {
      const p = this.pendingLogs.get(msg.logChunk.requestId);
      if (!p || p.node !== node) return; // late or not ours
      clearTimeout(p.timer);
      this.pendingLogs.delete(msg.logChunk.requestId);
      if (msg.logChunk.error) p.reject(new NotFoundError('log', msg.logChunk.error, `${node}: ${msg.logChunk.error}`));
      else p.resolve(msg.logChunk);
      return;
    }
    if (msg.diagnosticResult) {
      await this.deps.onDiagnosticResult?.(node, diagnosticResultFromPb(msg.diagnosticResult, 'diagnosticResult'));
      return;
    }
    if (msg.taskUpdate) {
      const status = taskStatusFromPb(msg.taskUpdate.status, 'taskUpdate.status');
      await this.deps.onTaskUpdate(node, status);
      // A failed prolog drains its node too (its NodeIncident drains it again: a no-op then).
      if (status.refusal === 'prolog-failed') await registry.autoDrain(node, 'prolog', status.message || `the prolog failed for job ${status.jobId}`);
      return;
    }
    if (msg.incident) {
      await registry.incident(node, incidentFromPb(msg.incident, 'incident'));
      return;
    }
    if (msg.jobFault) {
      const fault = jobFaultFromPb(msg.jobFault, 'jobFault');
      await this.deps.onJobFault?.(node, fault);
      return;
    }
    throw new InvalidArgumentError('body', 'empty agent message');
  }

  /** A node name never stored before registered: audited (NodeJoined), with whether it awaits approval. */
  private joined(call: AgentStream, name: string, identity: Identity, awaiting: boolean): void {
    const message = awaiting ? `node ${name} joined; it takes no work until approved (nodes.requireApproval): gantry node approve ${name}` : `node ${name} joined`;
    this.deps.auditor.record({ type: 'allowed', actor: actorOf(identity), action: 'NodeJoined', target: name, permission: '', message, peer: call.getPeer() });
  }
}
