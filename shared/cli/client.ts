/** The CLI's gRPC client for SchedulerService: address from --scheduler or GANTRY_SCHEDULER_ADDRESS. */
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { loadGantryProto, type SchedulerServiceClient } from '../proto/index.js';
import type { CliIO } from './command.js';

export const DEFAULT_SCHEDULER_ADDRESS = '127.0.0.1:7070';

export function schedulerClient(address: string): SchedulerServiceClient {
  const { proto } = loadGantryProto();
  return new proto.gantry.v1.SchedulerService(address, grpc.credentials.createInsecure());
}

/** Promisifies one unary call with a deadline. */
export function unaryCall<Req, Res>(
  client: grpc.Client,
  method: (req: Req, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
  timeoutMs = 10_000,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    method.call(client, req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res as Res)));
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
): Promise<SchedulerResponse<M>> {
  // Indexed by a generic name, the overloaded method has no call signature TypeScript can pick;
  // the types are checked above, at the name, so this one cast is the only one.
  const fn = client[method] as unknown as (req: SchedulerRequest<M>, opts: grpc.CallOptions, cb: grpc.requestCallback<SchedulerResponse<M>>) => grpc.ClientUnaryCall;
  return unaryCall(client, fn, req, timeoutMs);
}

export function describeGrpcError(e: unknown, address: string): string {
  const err = e as grpc.ServiceError;
  if (err && typeof err.code === 'number') {
    if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED) {
      return `cannot reach the scheduler at ${address} (${err.details || err.message})`;
    }
    return `${grpc.status[err.code]}: ${err.details || err.message}`;
  }
  return e instanceof Error ? e.message : String(e);
}

export function isInvalidArgument(e: unknown): boolean {
  // A bad flag value caught before the call (InvalidArgumentError) is bad input too.
  return (e as grpc.ServiceError)?.code === grpc.status.INVALID_ARGUMENT || (e as { code?: unknown })?.code === 'INVALID_ARGUMENT';
}

/** The scheduler address: --scheduler, else GANTRY_SCHEDULER_ADDRESS, else the default. */
export function schedulerAddress(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? env.GANTRY_SCHEDULER_ADDRESS ?? DEFAULT_SCHEDULER_ADDRESS;
}

/** Maps a failed call to an exit code: 2 for bad input, 1 otherwise; prints the message. */
export function reportCallError(command: string, e: unknown, address: string, stderr: (s: string) => void): number {
  stderr(`gantry ${command}: ${describeGrpcError(e, address)}\n`);
  return isInvalidArgument(e) ? 2 : 1;
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }>;
/** The parsed flags of a spec: a string option's value is a string, a boolean's a boolean. */
type OptionValues<O extends OptionSpec> = { [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean } & { scheduler?: string };

/**
 * The common shape of a command that talks to the scheduler: parse flags (bad flags exit 2),
 * `--help`, an exact number of positionals, `--scheduler`, one client for the call, and errors
 * mapped to exit codes (INVALID_ARGUMENT → 2, others → 1).
 */
export async function runClientCommand<O extends OptionSpec>(
  name: string,
  argv: string[],
  io: CliIO,
  spec: { options: O; positionals: number; usage: string },
  fn: (ctx: { client: SchedulerServiceClient; values: OptionValues<O>; positionals: string[]; address: string }) => Promise<number>,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...spec.options, scheduler: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: spec.positionals > 0,
      strict: true,
    });
  } catch (e) {
    io.stderr(`gantry ${name}: ${(e as Error).message}\n`);
    return 2;
  }
  // parseArgs types its values from the options it was given; those are the spec's, plus scheduler and help.
  const values = parsed.values as OptionValues<O> & { help?: boolean };
  const usage = `usage: gantry ${name} ${spec.usage} [--scheduler host:port]\n`;
  if (values.help) {
    io.stdout(usage);
    return 0;
  }
  if (parsed.positionals.length !== spec.positionals) {
    io.stderr(usage);
    return 2;
  }
  const address = schedulerAddress(values.scheduler, io.env);
  const client = schedulerClient(address);
  try {
    return await fn({ client, values, positionals: parsed.positionals, address });
  } catch (e) {
    return reportCallError(name, e, address, io.stderr);
  } finally {
    client.close();
  }
}
