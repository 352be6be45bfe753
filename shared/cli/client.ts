/**
 * The CLI's gRPC client for SchedulerService: the connection (addresses, TLS, client certificate,
 * token) resolved from flags, environment and the CLI's contexts (connection.ts, credentials.ts);
 * a call that finds an address unavailable is tried on the next one.
 */
import { printable } from './printable.js';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { loadGantryProto, type SchedulerServiceClient } from '../proto/index.js';
import { ConfigError, InvalidArgumentError, UnavailableError, isGantryError } from '../errors/index.js';
import type { CliIO } from './command.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, type ConnectionFlags } from './connection.js';
import { connectionSettings, schedulerCredentials, type SchedulerCredentials } from './credentials.js';
import { isNotLeader, namedLeader, nextAddress } from './leader.js';

export { DEFAULT_SCHEDULER_ADDRESS } from './connection.js';

/**
 * A client for one address. With no credentials, plaintext: for the tests, the demo and the
 * benchmarks, which talk to a scheduler started with grpc.insecure; the CLI passes its own.
 */
export function schedulerClient(address: string, creds?: Pick<SchedulerCredentials, 'credentials' | 'channelOptions'>): SchedulerServiceClient {
  const { proto } = loadGantryProto();
  return new proto.gantry.v1.SchedulerService(address, creds?.credentials ?? grpc.credentials.createInsecure(), creds?.channelOptions ?? {});
}

/** Promisifies one unary call with a deadline. */
export function unaryCall<Req, Res>(
  client: grpc.Client,
  method: (req: Req, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
  timeoutMs = 10_000,
  metadata?: grpc.Metadata,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const opts: grpc.CallOptions = { deadline: Date.now() + timeoutMs };
    const cb = (err: grpc.ServiceError | null, res?: Res): void => (err ? reject(err) : resolve(res as Res));
    // grpc-js's unary methods take (request, [metadata,] options, callback).
    if (metadata) (method as unknown as (r: Req, m: grpc.Metadata, o: grpc.CallOptions, c: typeof cb) => unknown).call(client, req, metadata, opts, cb);
    else method.call(client, req, opts, cb);
  });
}

/**
 * A unary method's request and response, read from the generated client: every unary method's
 * last overload is `(argument, callback: requestCallback<Response>) => ClientUnaryCall`; streaming
 * methods and grpc.Client's own members do not have that shape.
 */
type UnaryShape<F> = F extends (argument: infer Req, callback: grpc.requestCallback<infer Res>) => grpc.ClientUnaryCall ? { req: Req; res: Res } : never;

/** The names of SchedulerService's unary methods on the generated client ('GetJob', 'SubmitJob', ...). */
export type SchedulerUnaryMethod = {
  [K in keyof SchedulerServiceClient]: [UnaryShape<SchedulerServiceClient[K]>] extends [never] ? never : K;
}[keyof SchedulerServiceClient];
export type SchedulerRequest<M extends SchedulerUnaryMethod> = UnaryShape<SchedulerServiceClient[M]>['req'];
export type SchedulerResponse<M extends SchedulerUnaryMethod> = UnaryShape<SchedulerServiceClient[M]>['res'];

/**
 * One unary SchedulerService call with a deadline, typed by the method's name: the request must be
 * the method's request message and the promise holds its response message.
 */
export function schedulerCall<M extends SchedulerUnaryMethod>(
  client: SchedulerServiceClient,
  method: M,
  req: SchedulerRequest<M>,
  timeoutMs = 10_000,
  metadata?: grpc.Metadata,
): Promise<SchedulerResponse<M>> {
  // Indexed by a generic name, the overloaded method has no call signature TypeScript can pick;
  // the types are checked above, at the name, so this one cast is the only one.
  const fn = client[method] as unknown as (req: SchedulerRequest<M>, opts: grpc.CallOptions, cb: grpc.requestCallback<SchedulerResponse<M>>) => grpc.ClientUnaryCall;
  return unaryCall(client, fn, req, timeoutMs, metadata);
}

const TLS_TROUBLE = /certificate|ssl|tls|handshake|wrong version number|self[- ]signed|altnames|EPROTO/i;
const NOT_LISTENING = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT/;

/** grpc-js's connection error without its boilerplate ("No connection established. Last error: ... Resolution note: "). */
function cleanDetail(detail: string): string {
  return detail.replace(/^No connection established\. Last error: (Error: )?/, '').replace(/\.?\s*Resolution note:\s*$/, '').trim();
}

/** One address's failure in words; a TLS failure says what to check. */
function describeUnavailable(address: string, err: grpc.ServiceError, settings: SchedulerCredentials['settings']): string {
  const detail = cleanDetail(err.details || err.message);
  if (err.code === grpc.status.DEADLINE_EXCEEDED) return `${address}: no connection within the deadline (${detail})`;
  if (NOT_LISTENING.test(detail)) return `${address}: ${detail}`;
  if (settings.insecure) return `${address}: ${detail} (plaintext, from ${settings.insecureFrom}: does the scheduler serve TLS?)`;
  if (/wrong version number/i.test(detail)) return `${address}: it does not answer in TLS; if it serves plaintext (grpc.insecure), use --insecure or GANTRY_INSECURE=1`;
  if (TLS_TROUBLE.test(detail)) {
    const ca = settings.ca ? `the CA ${settings.ca.path} (${settings.ca.from})` : "the system's CAs (no --ca)";
    return `${address}: TLS failed (${detail}): is the scheduler's certificate signed by ${ca} and for this address (else --server-name)? Or does it serve plaintext (--insecure)?`;
  }
  return `${address}: ${detail}`;
}

/**
 * Whether the scheduler itself gave this error (its API puts the Gantry code in the `gantry-code`
 * metadata): e.g. UNAVAILABLE "node gpu-01 is not connected" from ReadLogs is its answer, not a
 * sign that it cannot be reached.
 */
export function fromScheduler(e: unknown): boolean {
  const md = (e as grpc.ServiceError)?.metadata;
  return md instanceof grpc.Metadata && md.get('gantry-code').length > 0;
}

export function describeGrpcError(e: unknown, address: string): string {
  const err = e as grpc.ServiceError;
  if (isGantryError(e)) return e.message;
  if (err && typeof err.code === 'number') {
    if ((err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED) && !fromScheduler(e)) {
      return `cannot reach the scheduler at ${address} (${err.details || err.message})`;
    }
    // The scheduler's words may quote a caller's input (a field name, a value): escaped like any printed value.
    return `${grpc.status[err.code]}: ${printable(err.details || err.message)}`;
  }
  return e instanceof Error ? e.message : String(e);
}

export function isInvalidArgument(e: unknown): boolean {
  // A bad flag value caught before the call (InvalidArgumentError) is bad input too, and so is a bad
  // connection setting (ConfigError: the CLI's config file).
  if (e instanceof InvalidArgumentError || e instanceof ConfigError) return true;
  return (e as grpc.ServiceError)?.code === grpc.status.INVALID_ARGUMENT || (e as { code?: unknown })?.code === 'INVALID_ARGUMENT';
}

/**
 * The scheduler behind a list of addresses. Each call goes to the address that answered last
 * (the first one at the start); when that address is UNAVAILABLE (no connection, a failed TLS
 * handshake, a server going away, not the scheduler's own UNAVAILABLE: fromScheduler), or the
 * call's deadline passes before a connection is made, the call is tried on the next address; a
 * standby's refusal (NOT_LEADER, leader.ts) sends it to the leader the standby names (added to
 * the list if it is not there), else to the next address. Within one call each address is tried
 * at most once. Any other answer (an error included) is the scheduler's and is returned as is.
 */
export class Scheduler {
  private readonly clients = new Map<string, SchedulerServiceClient>();
  /** The addresses given, then the leaders standbys named that were not among them. */
  private addresses: readonly string[];
  private current = 0;
  private answered = false;
  /** Whether the last call that failed met a standby (NOT_LEADER): the leader may be changing. */
  private metStandby = false;

  constructor(
    private readonly creds: SchedulerCredentials,
    private readonly debug: (line: string) => void = () => undefined,
  ) {
    this.addresses = creds.settings.addresses;
  }

  /** The address that answered the last call (the first address before any call). */
  get address(): string {
    return this.addresses[this.current]!;
  }

  get addressCount(): number {
    return this.addresses.length;
  }

  private client(address: string): SchedulerServiceClient {
    let c = this.clients.get(address);
    if (!c) {
      c = schedulerClient(address, this.creds);
      this.clients.set(address, c);
    }
    return c;
  }

  async call<M extends SchedulerUnaryMethod>(method: M, req: SchedulerRequest<M>, timeoutMs = 10_000): Promise<SchedulerResponse<M>> {
    const failures: string[] = [];
    const tried = new Set<string>();
    const given = this.creds.settings.addresses.length;
    this.metStandby = false;
    for (let i = this.current; ; ) {
      const address = this.addresses[i]!;
      tried.add(address);
      const client = this.client(address);
      try {
        const res = await this.callRateLimited(client, method, req, timeoutMs);
        if (!this.answered || i !== this.current) this.debug(`gantry: scheduler ${address} answered${failures.length ? ` (after ${failures.join('; ')})` : ''}\n`);
        this.current = i;
        this.answered = true;
        return res;
      } catch (e) {
        const err = e as grpc.ServiceError;
        const connectDeadline = err.code === grpc.status.DEADLINE_EXCEEDED && client.getChannel().getConnectivityState(false) !== grpc.connectivityState.READY;
        const unreachable = err.code === grpc.status.UNAVAILABLE && !fromScheduler(e);
        const standby = isNotLeader(e);
        if (!unreachable && !connectDeadline && !standby) {
          this.current = i;
          throw e;
        }
        this.metStandby ||= standby;
        failures.push(standby ? `${address}: ${printable(err.details || err.message)}` : describeUnavailable(address, err, this.creds.settings));
        const next = nextAddress(this.addresses, tried, i, namedLeader(e), this.addresses.length - given);
        this.debug(`gantry: ${failures[failures.length - 1]}${next ? (next.why === 'leader' ? `; following it to the leader ${next.addresses[next.index]}` : '; trying the next address') : ''}\n`);
        if (!next) break;
        this.addresses = next.addresses;
        i = next.index;
      }
    }
    throw new UnavailableError(`cannot reach the scheduler: ${failures.join('; ')}`);
  }

  /**
   * call() for a request that may be repeated safely (a read, or a SubmitJob with its request id):
   * while no address answers and one of them was a standby in this or an earlier round (the leader
   * is changing: the old one gone, the new one not elected or still opening its port), asks again, waiting 250 ms doubling to 2 s between rounds,
   * for up to `waitMs`. With no standby met (nothing listening), it fails at once, as call() does.
   */
  async callAcrossFailover<M extends SchedulerUnaryMethod>(method: M, req: SchedulerRequest<M>, waitMs: number, timeoutMs = 10_000): Promise<SchedulerResponse<M>> {
    const until = Date.now() + waitMs;
    // Once a standby was met, a round with nothing listening is the takeover too: a standby
    // closes its port while it becomes the leader.
    let failover = false;
    for (let pauseMs = 250; ; pauseMs = Math.min(pauseMs * 2, 2000)) {
      try {
        return await this.call(method, req, timeoutMs);
      } catch (e) {
        failover ||= this.metStandby;
        if (!(e instanceof UnavailableError) || !failover || Date.now() + pauseMs > until) throw e;
        this.debug(`gantry: no leader answered (a failover?); asking again in ${pauseMs} ms\n`);
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    }
  }

  /**
   * One call to one address; when the scheduler says the caller is over its request rate
   * (RESOURCE_EXHAUSTED with `retry-after-ms`), waits that long and asks again, a few times, as
   * long as the wait is short. Any other answer is returned (or thrown) as is.
   */
  private async callRateLimited<M extends SchedulerUnaryMethod>(client: SchedulerServiceClient, method: M, req: SchedulerRequest<M>, timeoutMs: number): Promise<SchedulerResponse<M>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await schedulerCall(client, method, req, timeoutMs, this.creds.metadata);
      } catch (e) {
        const wait = retryAfterMs(e);
        if (wait === undefined || attempt >= RATE_LIMIT_RETRIES || wait > RATE_LIMIT_MAX_WAIT_MS) throw e;
        this.debug(`gantry: the scheduler asks to retry after ${wait} ms (rate limit); waiting\n`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** One call to the i-th address only, none other tried (`gantry status` asks every scheduler). */
  callAt<M extends SchedulerUnaryMethod>(i: number, method: M, req: SchedulerRequest<M>, timeoutMs = 10_000): Promise<SchedulerResponse<M>> {
    return this.callRateLimited(this.client(this.addressAt(i)), method, req, timeoutMs);
  }

  /** The i-th address. */
  addressAt(i: number): string {
    return this.creds.settings.addresses[i]!;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/** How many times a call over the rate limit is asked again, and the longest wait the CLI accepts. */
const RATE_LIMIT_RETRIES = 3;
const RATE_LIMIT_MAX_WAIT_MS = 5000;

/** The wait a RESOURCE_EXHAUSTED refusal of the rate limit asks for (its `retry-after-ms`); undefined for anything else. */
export function retryAfterMs(e: unknown): number | undefined {
  const err = e as grpc.ServiceError;
  if (err?.code !== grpc.status.RESOURCE_EXHAUSTED || typeof err.metadata?.get !== 'function') return undefined;
  const v = Number(err.metadata.get('retry-after-ms')[0]);
  return Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** Maps a failed call to an exit code: 2 for bad input, 1 otherwise; prints the message (naming the scheduler that gave it, if given). */
export function reportCallError(command: string, e: unknown, address: string, stderr: (s: string) => void, from = ''): number {
  stderr(`gantry ${command}: ${describeGrpcError(e, address)}${from ? ` (scheduler ${from})` : ''}\n`);
  return isInvalidArgument(e) ? 2 : 1;
}

/**
 * The scheduler a command talks to, from its connection flags, the CLI's environment and its
 * config file; a bad setting throws InvalidArgumentError or ConfigError naming it (exit 2).
 */
export function connectScheduler(flags: ConnectionFlags, io: CliIO): Scheduler {
  const creds = schedulerCredentials(connectionSettings(flags, io));
  return new Scheduler(creds, creds.settings.verbose ? io.stderr : undefined);
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }>;
/** The parsed flags of a spec: a string option's value is a string, a boolean's a boolean. */
type OptionValues<O extends OptionSpec> = { [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean } & ConnectionFlags;

/**
 * The common shape of a command that talks to the scheduler: parse flags (bad flags exit 2),
 * `--help`, an exact number of positionals, the connection flags (CONNECTION_USAGE), one
 * Scheduler for the calls, and errors mapped to exit codes (bad input or connection settings → 2,
 * others → 1: UNAUTHENTICATED and PERMISSION_DENIED print the scheduler's message).
 */
export async function runClientCommand<O extends OptionSpec>(
  name: string,
  argv: string[],
  io: CliIO,
  spec: { options: O; positionals: number; usage: string },
  fn: (ctx: { scheduler: Scheduler; values: OptionValues<O>; positionals: string[] }) => Promise<number>,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...spec.options, ...CONNECTION_OPTIONS, help: { type: 'boolean', short: 'h' } },
      allowPositionals: spec.positionals > 0,
      strict: true,
    });
  } catch (e) {
    io.stderr(`gantry ${name}: ${(e as Error).message}\n`);
    return 2;
  }
  // parseArgs types its values from the options it was given; those are the spec's, the connection's and help.
  const values = parsed.values as OptionValues<O> & { help?: boolean };
  const usage = `usage: gantry ${name} ${spec.usage} [connection flags]\n`;
  if (values.help) {
    io.stdout(`${usage}\n${CONNECTION_USAGE}`);
    return 0;
  }
  if (parsed.positionals.length !== spec.positionals) {
    io.stderr(usage);
    return 2;
  }
  let scheduler: Scheduler;
  try {
    scheduler = connectScheduler(values, io);
  } catch (e) {
    return reportCallError(name, e, '', io.stderr);
  }
  try {
    return await fn({ scheduler, values, positionals: parsed.positionals });
  } catch (e) {
    // The scheduler's own answer (e.g. UNAUTHENTICATED): say which scheduler gave it when there are several.
    const answered = typeof (e as grpc.ServiceError)?.code === 'number' && scheduler.addressCount > 1;
    return reportCallError(name, e, scheduler.address, io.stderr, answered ? scheduler.address : '');
  } finally {
    scheduler.close();
  }
}
