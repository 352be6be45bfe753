/**
 * schedulerCall: the CLI's typed unary call. The type checks run in `tsc -p tsconfig.test.json`
 * (scripts/test.sh runs it before tap): each @ts-expect-error line must be an error, or tsc fails.
 */
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { schedulerCall, schedulerClient, type SchedulerRequest, type SchedulerResponse, type SchedulerUnaryMethod } from '../../../shared/cli/client.js';
import type { ExplainJobResponse__Output, ListNodesResponse__Output, PbJobOut } from '../../../shared/proto/index.js';
import { freePort } from '../../../shared/procs/index.js';

/** Compile-time only: never called. */
function typeChecks(client: ReturnType<typeof schedulerClient>): void {
  const job: Promise<PbJobOut> = schedulerCall(client, 'GetJob', { id: 'j1' });
  const why: Promise<ExplainJobResponse__Output> = schedulerCall(client, 'ExplainJob', { id: 'j1' });
  const nodes: Promise<ListNodesResponse__Output> = schedulerCall(client, 'ListNodes', {});
  void [job, why, nodes];
  // @ts-expect-error GetJob's request is { id }, not { jobId }
  void schedulerCall(client, 'GetJob', { jobId: 'j1' });
  // @ts-expect-error GetJob answers a Job, not a node list
  const wrong: Promise<ListNodesResponse__Output> = schedulerCall(client, 'GetJob', { id: 'j1' });
  void wrong;
  // @ts-expect-error WatchEvents is a server stream, not a unary call
  void schedulerCall(client, 'WatchEvents', {});
  // @ts-expect-error close is grpc.Client's own, not an RPC
  void schedulerCall(client, 'close', {});
  // @ts-expect-error no such RPC
  void schedulerCall(client, 'GetJobs', {});
  const method: SchedulerUnaryMethod = 'SubmitJob';
  const req: SchedulerRequest<'SubmitJob'> = { spec: 'name: x', owner: 'me' };
  const res: SchedulerResponse<'CancelJob'> | undefined = undefined;
  void [method, req, res];
}
void typeChecks;

t.test('a call to a scheduler that is not there fails UNAVAILABLE, within its deadline', async (t) => {
  const port = await freePort();
  const client = schedulerClient(`127.0.0.1:${port}`);
  t.teardown(() => client.close());
  const started = Date.now();
  await t.rejects(schedulerCall(client, 'GetJob', { id: 'j1' }, 2_000), { code: grpc.status.UNAVAILABLE });
  t.ok(Date.now() - started < 5_000, 'gave up within the deadline');
});
