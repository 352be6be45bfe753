/**
 * The agent's side of AgentService.Connect: one long-lived stream. On every (re)connect it sends a
 * full registration; after that, reports carry the inventory and verdicts only when they changed.
 * When the stream fails it reconnects with full-jitter exponential backoff (exponential-backoff);
 * a stream that was established resets the backoff, and so does a standby's refusal (it is retried
 * within about initialDelayMs: the control plane is up, between leaders or naming one). reloadCredentials() re-reads the TLS files
 * (the agent's SIGHUP) and reconnects with them.
 *
 * Several scheduler addresses (the HA schedulers): it dials one; when a stream fails or ends it
 * dials the leader a standby's refusal named, if it is in the list, else the next address
 * (addresses.ts). Ranks keep running meanwhile, and the next registration re-announces them, so a
 * new leader adopts them as a restarted scheduler does. A Registered whose HA term is lower than
 * the highest this agent has seen (agent/term-fence.ts) is a deposed leader's: the agent hangs up
 * and dials the next address.
 */
import * as grpc from '@grpc/grpc-js';
import { backOff } from 'exponential-backoff';
import type { HealthVerdict, Inventory } from '../../shared/domain/index.js';
import { readConfigFile, readTlsFiles, type ClientTlsOptions, type TlsFilePaths } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import { normalizeSerial, parseRevokedSerials } from '../../shared/pki/index.js';
import type { Logger } from '../../shared/log/index.js';
import { loadGantryProto, type AgentMessage, type AgentServiceClient, type SchedulerMessage__Output } from '../../shared/proto/index.js';
import type { TermFence } from '../term-fence.js';
import { leaderFromMetadata, nextAddressIndex } from './addresses.js';
import { diagnosticResultToPb, inventoryToPb, jobFaultToPb, taskStatusToPb, verdictToPb, type DiagnosticResultWireView, type JobFaultView, type TaskStatusView } from '../../shared/wire/index.js';

export interface ReportState {
  inventory: Inventory;
  verdicts: HealthVerdict[];
  /** Every task the agent knows, re-announced on each (re)connect. */
  tasks: TaskStatusView[];
}

/** A NodeIncident (agent.proto) as the agent builds it: the node found unfit after (or before) a job. */
export interface IncidentView {
  source: 'prolog' | 'epilog' | 'gpu-clean';
  jobId: string;
  reason: string;
  leftovers: Array<{ pid: number; user: string; name: string; gpu: number; usedMemoryBytes: number }>;
  atMs: number;
}

/** Incidents kept while not connected, sent on the next registration; past this the oldest are dropped. */
export const MAX_QUEUED_INCIDENTS = 256;

export interface ReporterOptions {
  /** scheduler.address: one address, or the HA schedulers' (non-empty). */
  schedulerAddresses: readonly string[];
  /** The HA term rule for Registered (absent: every term accepted). */
  fence?: Pick<TermFence, 'admit'>;
  /** Plaintext (scheduler.insecure): no TLS, no node certificate. */
  insecure: boolean;
  tls: ClientTlsOptions;
  /** scheduler.maxReceiveMessageBytes and scheduler.maxSendMessageBytes (grpc-js's defaults when absent). */
  maxReceiveMessageBytes?: number;
  maxSendMessageBytes?: number;
  nodeName: string;
  address: string;
  /** The latency echo responder, announced at registration (absent: probing is off). */
  latency?: () => { address: string; port: number } | undefined;
  agentVersion: string;
  labels: Record<string, string>;
  /** runner.allowedUsers and runner.allowRoot, announced at registration: placement sends a job only where its account is allowed. */
  allowedUsers: readonly string[];
  allowRoot: boolean;
  /** 0 = use the interval the scheduler asks for. */
  reportIntervalMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface ReporterEvents {
  /** The scheduler acknowledged a registration that announced these tasks. */
  onConnected(announced: TaskStatusView[]): void;
  onDisconnected(reason: string): void;
  onReportSent(): void;
  onCommand(msg: SchedulerMessage__Output): void;
  /** A connection attempt failed before the scheduler acknowledged the registration (each time; backoff follows). */
  onAttemptFailed?(reason: string): void;
}

/** The revoked list at `file` ('' = none); a ConfigError naming `key` when it cannot be read or holds a bad line. */
export function readRevokedSchedulerSerials(file: string, key: string): ReadonlySet<string> {
  if (!file) return new Set();
  const { serials, errors } = parseRevokedSerials(readConfigFile(file, key).toString('utf8'));
  if (errors.length) throw new ConfigError(key, `${file} ${errors.join('; ')}`);
  return serials;
}

export function channelCredentials(insecure: boolean, tls: TlsFilePaths, keyPrefix: string): grpc.ChannelCredentials {
  if (insecure) return grpc.credentials.createInsecure();
  const files = readTlsFiles(tls, keyPrefix);
  return grpc.credentials.createSsl(files.ca, files.key, files.cert);
}

export class Reporter {
  private client: AgentServiceClient | undefined;
  private call: grpc.ClientDuplexStream<AgentMessage, SchedulerMessage__Output> | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private seq = 0;
  private sent: { inventory: string; verdicts: string } | undefined;
  private connected = false;
  /** The index in opts.schedulerAddresses of the address the client dials. */
  private current = 0;
  /** reloadCredentials() cancelled the stream: the next one dials the same address. */
  private reloading = false;
  /** Serials of scheduler certificates this agent refuses (scheduler.tls.revokedSerialsFile). */
  private revoked: ReadonlySet<string> = new Set();
  /** Incidents not yet written to a registered stream (bounded: MAX_QUEUED_INCIDENTS). */
  private incidents: IncidentView[] = [];
  /** Incidents dropped from a full queue since start. */
  droppedIncidents = 0;

  constructor(
    private readonly opts: ReporterOptions,
    private readonly state: () => ReportState,
    private readonly events: ReporterEvents,
    private readonly log: Logger,
  ) {}

  get isConnected(): boolean {
    return this.connected;
  }

  /** The scheduler address dialled now (or last). */
  get schedulerAddress(): string {
    return this.opts.schedulerAddresses[this.current]!;
  }

  start(): void {
    this.client = this.newClient();
    this.running = true;
    this.loop = this.run();
  }

  /** A client with credentials read from the TLS files now (ConfigError when one cannot be read). */
  private newClient(): AgentServiceClient {
    this.revoked = readRevokedSchedulerSerials(this.opts.tls.revokedSerialsFile, 'scheduler.tls.revokedSerialsFile');
    const { proto } = loadGantryProto();
    const creds = channelCredentials(this.opts.insecure, this.opts.tls, 'scheduler.tls');
    const channelOptions: grpc.ChannelOptions = {
      'grpc.keepalive_time_ms': 20_000,
      'grpc.keepalive_timeout_ms': 10_000,
      // Its own connection: after a reload the handshake presents the new certificate.
      'grpc.use_local_subchannel_pool': 1,
      ...(this.opts.maxReceiveMessageBytes !== undefined ? { 'grpc.max_receive_message_length': this.opts.maxReceiveMessageBytes } : {}),
      ...(this.opts.maxSendMessageBytes !== undefined ? { 'grpc.max_send_message_length': this.opts.maxSendMessageBytes } : {}),
      ...(this.opts.tls.serverName ? { 'grpc.ssl_target_name_override': this.opts.tls.serverName } : {}),
    };
    return new proto.gantry.v1.AgentService(this.schedulerAddress, creds, channelOptions);
  }

  /**
   * Reads scheduler.tls's files again (a renewed node certificate, a new CA) and reconnects with
   * them: the current stream ends and the next one dials with the new material. Throws
   * ConfigError, keeping the current connection, when a file cannot be read.
   */
  reloadCredentials(): void {
    if (!this.running) return;
    const next = this.newClient();
    const old = this.client;
    this.client = next;
    this.reloading = this.call !== undefined;
    this.call?.cancel();
    old?.close();
  }

  /** After a stream failed or ended: the next address to dial (the named leader, or the next one). */
  private moveOn(leader: string): void {
    const next = nextAddressIndex(this.opts.schedulerAddresses, this.current, leader);
    if (next === this.current || !this.running) return;
    const from = this.schedulerAddress;
    this.current = next;
    let client: AgentServiceClient;
    try {
      client = this.newClient();
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'cannot read the TLS files for the next scheduler address; keeping the last');
      return;
    }
    const old = this.client;
    this.client = client;
    old?.close();
    this.log.info({ from, to: this.schedulerAddress, leader: leader || undefined }, leader === this.schedulerAddress ? 'dialling the leader the scheduler named' : 'dialling the next scheduler address');
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await backOff(() => this.session(), {
          jitter: 'full',
          startingDelay: this.opts.initialDelayMs,
          maxDelay: this.opts.maxDelayMs,
          timeMultiple: 2,
          numOfAttempts: Number.MAX_SAFE_INTEGER,
          retry: (e: unknown, attempt: number) => {
            if (this.running) this.events.onAttemptFailed?.((e as Error).message);
            if (attempt === 1 || attempt % 10 === 0) {
              this.log.warn({ err: (e as Error).message, attempt }, 'cannot reach the scheduler; retrying');
            }
            return this.running;
          },
        });
      } catch {
        // backOff gives up only when retry() says stop.
      }
    }
  }

  /**
   * One stream: resolves when an established stream ends (so the backoff starts afresh), rejects
   * when the stream fails before the scheduler acknowledged the registration.
   */
  private session(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!this.running || !this.client) return resolve();
      const call = this.client.Connect();
      this.call = call;
      let established = false;
      let finished = false;
      let announced: TaskStatusView[] = [];
      const finish = (reason: string, err?: Error, leader = ''): void => {
        if (finished) return;
        finished = true;
        this.stopReporting();
        if (this.call === call) this.call = undefined;
        // A reload's cancel dials the same address again, with the new credentials.
        if (this.reloading) this.reloading = false;
        else if (this.opts.schedulerAddresses.length > 1) this.moveOn(leader);
        if (this.connected) {
          this.connected = false;
          this.events.onDisconnected(reason);
        }
        if (established || !this.running) resolve();
        // A standby answered: the control plane is up, between leaders or naming one. Not a fault to
        // back off from: try again soon (half to one and a half initialDelayMs), with the backoff
        // afresh. Backing off here grew the delay to many seconds while the schedulers elected a
        // leader (a nats-server's death), and agents came back after the new leader had them lost.
        else if (standbyRefusal(err)) setTimeout(resolve, this.opts.initialDelayMs * (0.5 + Math.random()));
        else reject(err ?? new Error(reason));
      };
      call.on('data', (msg: SchedulerMessage__Output) => {
        // Nothing from a scheduler whose certificate is revoked is acted on: not even its first answer.
        if (!established && this.revoked.size > 0) {
          const serial = normalizeSerial(call.getAuthContext()?.sslPeerCertificate?.serialNumber ?? '');
          if (serial && this.revoked.has(serial)) {
            this.log.error({ serial }, "the scheduler's certificate is revoked (scheduler.tls.revokedSerialsFile); not registering with it");
            call.cancel();
            finish('revoked scheduler certificate', new Error(`the scheduler's certificate ${serial} is revoked`));
            return;
          }
        }
        if (msg.registered) {
          if (this.opts.fence && !this.opts.fence.admit(Number(msg.registered.term ?? 0), 'registered', { scheduler: msg.registered.schedulerId, address: this.schedulerAddress })) {
            call.cancel();
            finish('a deposed leader (stale term)', new Error(`the scheduler at ${this.schedulerAddress} answered with a stale term ${String(msg.registered.term)}`));
            return;
          }
          established = true;
          this.connected = true;
          this.log.info({ scheduler: msg.registered.schedulerId, address: this.schedulerAddress, term: Number(msg.registered.term ?? 0) }, 'registered with the scheduler');
          this.events.onConnected(announced);
          this.flushIncidents();
          this.startReporting(this.opts.reportIntervalMs || msg.registered.reportIntervalMs || 5000);
          return;
        }
        this.events.onCommand(msg);
      });
      call.on('error', (e: grpc.ServiceError) => finish(`stream error: ${e.details || e.message}`, e, leaderFromMetadata(e.metadata)));
      call.on('end', () => finish('stream ended by the scheduler'));
      const s = this.state();
      announced = s.tasks;
      this.sent = { inventory: JSON.stringify(s.inventory), verdicts: JSON.stringify(s.verdicts) };
      call.write({
        register: {
          nodeName: this.opts.nodeName,
          agentVersion: this.opts.agentVersion,
          address: this.opts.address,
          inventory: inventoryToPb(s.inventory),
          labels: this.opts.labels,
          verdicts: s.verdicts.map(verdictToPb),
          tasks: s.tasks.map(taskStatusToPb),
          allowedUsers: [...this.opts.allowedUsers],
          allowRoot: this.opts.allowRoot,
          ...(this.opts.latency?.() ? { latency: this.opts.latency() } : {}),
        },
      });
    });
  }

  private startReporting(intervalMs: number): void {
    this.stopReporting();
    this.reportTimer = setInterval(() => this.sendReport(), intervalMs);
  }

  private stopReporting(): void {
    if (this.reportTimer) clearInterval(this.reportTimer);
    this.reportTimer = undefined;
  }

  /** Sends a report now (also used when the state changed and should not wait for the timer). */
  sendReport(): void {
    const call = this.call;
    if (!call || !this.connected) return;
    const s = this.state();
    const inventory = JSON.stringify(s.inventory);
    const verdicts = JSON.stringify(s.verdicts);
    const inventoryChanged = inventory !== this.sent?.inventory;
    const verdictsChanged = verdicts !== this.sent?.verdicts;
    this.sent = { inventory, verdicts };
    call.write({
      report: {
        seq: ++this.seq,
        sentUnixMs: Date.now(),
        ...(inventoryChanged ? { inventory: inventoryToPb(s.inventory) } : {}),
        inventoryChanged,
        verdicts: verdictsChanged ? s.verdicts.map(verdictToPb) : [],
        verdictsChanged,
      },
    });
    this.events.onReportSent();
  }

  /** Sends a task's new status at once; false when not connected (the next registration carries it). */
  sendTaskUpdate(status: TaskStatusView): boolean {
    const call = this.call;
    if (!call || !this.connected) return false;
    call.write({ taskUpdate: { status: taskStatusToPb(status) } });
    return true;
  }

  /** An application XID attributed to one of this node's ranks (agent/job-faults.ts); false when not connected. */
  sendJobFault(fault: JobFaultView): boolean {
    const call = this.call;
    if (!call || !this.connected) return false;
    call.write({ jobFault: jobFaultToPb(fault) });
    return true;
  }

  /** Answers a RunDiagnostic command; false when not connected (the scheduler then counts the try unanswered). */
  sendDiagnosticResult(r: DiagnosticResultWireView): boolean {
    const call = this.call;
    if (!call || !this.connected) return false;
    call.write({ diagnosticResult: diagnosticResultToPb(r) });
    return true;
  }

  /**
   * Sends a NodeIncident; while not connected it is queued (bounded, the oldest dropped past
   * MAX_QUEUED_INCIDENTS) and sent once the next registration is acknowledged.
   */
  sendIncident(incident: IncidentView): void {
    this.incidents.push(incident);
    if (this.incidents.length > MAX_QUEUED_INCIDENTS) {
      this.droppedIncidents += this.incidents.length - MAX_QUEUED_INCIDENTS;
      this.incidents.splice(0, this.incidents.length - MAX_QUEUED_INCIDENTS);
      this.log.warn({ dropped: this.droppedIncidents }, 'incident queue full; dropped the oldest');
    }
    this.flushIncidents();
  }

  private flushIncidents(): void {
    const call = this.call;
    if (!call || !this.connected) return;
    for (const i of this.incidents.splice(0)) {
      call.write({
        incident: {
          source: i.source,
          jobId: i.jobId,
          reason: i.reason,
          atUnixMs: i.atMs,
          leftovers: i.leftovers.map((l) => ({ pid: l.pid, user: l.user, name: l.name, gpu: l.gpu, usedMemoryBytes: l.usedMemoryBytes })),
        },
      });
    }
  }

  /** Answers a ReadLog command. */
  sendLogChunk(chunk: { requestId: string; data: string; nextOffset: number; eof: boolean; error: string }): void {
    this.call?.write({ logChunk: chunk });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopReporting();
    this.call?.end();
    this.call?.cancel();
    this.client?.close();
    // The loop may sit in a backoff delay; it ends at its next turn, without holding up the stop.
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, 200).unref())]);
  }
}

/** Whether a stream failed because a standby scheduler refused it (gantry-code NOT_LEADER). */
function standbyRefusal(err: Error | undefined): boolean {
  const e = err as Partial<grpc.ServiceError> | undefined;
  return e?.code === grpc.status.UNAVAILABLE && String(e.metadata?.get('gantry-code')[0] ?? '') === 'NOT_LEADER';
}
