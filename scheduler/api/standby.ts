/**
 * What a standby scheduler (scheduler/ha) serves on the scheduler's gRPC port: every call of both
 * services is refused UNAVAILABLE with a message naming the leader, so a client that was given
 * several scheduler addresses moves on to the leader; grpc.health.v1 says NOT_SERVING, so a load
 * balancer does not send it traffic. Nothing is read or written.
 *
 * The one exception is GetControlPlane (`gantry status`), answered by every scheduler: a standby
 * authenticates the caller as the leader would (any verified identity, like WhoAmI) and reports
 * itself and the lease holder it knows.
 */
import type { ServerDuplexStream, ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { NotLeaderError } from '../../shared/errors/index.js';
import { loadGantryProto, type AgentServiceHandlers, type SchedulerServiceHandlers } from '../../shared/proto/index.js';
import type { ControlPlaneMember } from '../ha/control-plane.js';
import { toGrpcError } from './status-table.js';

/** The refusal's text: `not the leader; the leader is <address>` (or that none is known). */
export function notLeaderMessage(leader: string): string {
  return leader ? `this scheduler is a standby, not the leader; the leader is ${leader}` : 'this scheduler is a standby, not the leader; no leader is known yet';
}

function refusingHandlers(service: Record<string, { requestStream: boolean; responseStream: boolean }>, leader: () => string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(service)) {
    const error = (): ReturnType<typeof toGrpcError> => toGrpcError(new NotLeaderError(notLeaderMessage(leader()), leader()));
    if (m.requestStream) {
      out[name] = (call: ServerDuplexStream<unknown, unknown>) => call.emit('error', error());
    } else if (m.responseStream) {
      out[name] = (call: ServerWritableStream<unknown, unknown>) => call.emit('error', error());
    } else {
      out[name] = (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => cb(error());
    }
  }
  return out;
}

export interface StandbyControlPlane {
  /** Verifies the caller (the scheduler's Authenticator.identify); throws UnauthenticatedError. */
  identify(call: ServerUnaryCall<unknown, unknown>): Promise<unknown>;
  /** This standby's answer. */
  member(): ControlPlaneMember | Promise<ControlPlaneMember>;
}

/**
 * Handlers for both services that refuse every call, naming `leader()` (host:port, '' unknown),
 * but GetControlPlane, which `controlPlane` answers to any authenticated caller.
 */
export function standbyHandlers(leader: () => string, controlPlane?: StandbyControlPlane): { agent: AgentServiceHandlers; scheduler: SchedulerServiceHandlers } {
  const { proto } = loadGantryProto();
  const scheduler = refusingHandlers(proto.gantry.v1.SchedulerService.service as never, leader);
  if (controlPlane) {
    scheduler.GetControlPlane = (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
      Promise.resolve()
        .then(() => controlPlane.identify(call))
        .then(() => controlPlane.member())
        .then(
          (m) => cb(null, m),
          (e: unknown) => cb(toGrpcError(e)),
        );
    };
  }
  return {
    agent: refusingHandlers(proto.gantry.v1.AgentService.service as never, leader) as unknown as AgentServiceHandlers,
    scheduler: scheduler as unknown as SchedulerServiceHandlers,
  };
}
