import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { checkRequestStrings } from './request-limits.js';
import { toGrpcError } from './status-table.js';

/** A unary handler from a function: the request's strings checked (request-limits.ts), then the answer or the error as a gRPC status. */
export function unary<Req, Res>(fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => {
        checkRequestStrings(call.request);
        return fn(call.request, call);
      })
      .then(
        (res) => callback(null, res),
        (e: unknown) => callback(toGrpcError(e)),
      );
  };
}
