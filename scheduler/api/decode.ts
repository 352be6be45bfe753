/**
 * Requests that do not decode as their message: grpc-js answers them INTERNAL ("Error deserializing
 * request"), as if the server were at fault. Here the service's deserializers keep the failure as
 * a marker instead of throwing, and every handler answers a marked request INVALID_ARGUMENT naming
 * the message type, before the call reaches authentication or its handler.
 */
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { InvalidArgumentError } from '../../shared/errors/index.js';
import { toGrpcError } from './status-table.js';

const UNDECODABLE = Symbol('undecodable');

interface Undecodable {
  [UNDECODABLE]: string;
}

/** Why a request (or a message of a client stream) did not decode; undefined when it did. */
export function undecodable(request: unknown): string | undefined {
  return typeof request === 'object' && request !== null && UNDECODABLE in request ? (request as Undecodable)[UNDECODABLE] : undefined;
}

/** The message type a method takes, e.g. gantry.v1.SubmitJobRequest, for the refusal's text. */
function requestType(path: string, def: { requestType?: { type?: { name?: string } } }): string {
  return def.requestType?.type?.name ? `gantry.v1.${def.requestType.type.name}` : `the request of ${path}`;
}

/**
 * The service definition with tolerant request deserializers, and the handlers wrapped to refuse
 * what did not decode. Unary and server-streaming methods are refused here; a client stream's
 * handler (AgentService.Connect) checks each message itself with undecodable().
 */
export function refuseUndecodable<H extends UntypedServiceImplementation>(service: ServiceDefinition, handlers: H): { service: ServiceDefinition; handlers: H } {
  const tolerant: Record<string, unknown> = {};
  const wrapped: Record<string, unknown> = { ...handlers };
  for (const [name, method] of Object.entries(service)) {
    const what = requestType(method.path, method as never);
    const decode = method.requestDeserialize;
    tolerant[name] = {
      ...method,
      requestDeserialize: (buf: Buffer): unknown => {
        try {
          return decode(buf);
        } catch (e) {
          return { [UNDECODABLE]: `the ${buf.length}-byte body does not decode as ${what}: ${(e as Error).message}` };
        }
      },
    };
    const handler = handlers[name] as ((...args: never[]) => void) | undefined;
    if (!handler || method.requestStream) continue;
    const refusal = (why: string): ReturnType<typeof toGrpcError> => toGrpcError(new InvalidArgumentError('request', why));
    wrapped[name] = method.responseStream
      ? (call: ServerWritableStream<unknown, unknown>): void => {
          const why = undecodable(call.request);
          if (why === undefined) (handler as (c: typeof call) => void)(call);
          else call.emit('error', refusal(why));
        }
      : (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
          const why = undecodable(call.request);
          if (why === undefined) (handler as (c: typeof call, cb: typeof callback) => void)(call, callback);
          else callback(refusal(why));
        };
  }
  return { service: tolerant as ServiceDefinition, handlers: wrapped as H };
}
