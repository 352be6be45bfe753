/** SchedulerService: the user API. Thin handlers: validate, call, convert. */
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { InvalidArgumentError, NotFoundError } from '../../shared/errors/index.js';
import type { SchedulerServiceHandlers } from '../../shared/proto/index.js';
import { connectivityFromPb, nodeToPb } from '../../shared/wire/index.js';
import type { ClusterModel } from '../cluster/index.js';
import { toGrpcError } from './status-table.js';

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

export function schedulerServiceHandlers(cluster: ClusterModel): SchedulerServiceHandlers {
  return {
    ListNodes: unary((req) => {
      let filter: string | undefined;
      if (req.connectivity && req.connectivity !== 'CONNECTIVITY_UNSPECIFIED') {
        filter = connectivityFromPb(req.connectivity);
        if (!filter) throw new InvalidArgumentError('connectivity', `unknown value ${JSON.stringify(req.connectivity)}`);
      }
      return { nodes: cluster.list().filter((n) => !filter || n.connectivity === filter).map(nodeToPb) };
    }),
    GetNode: unary((req) => {
      if (!req.name) throw new InvalidArgumentError('name', 'is required');
      const n = cluster.get(req.name);
      if (!n) throw new NotFoundError('node', req.name);
      return nodeToPb(n);
    }),
  };
}
