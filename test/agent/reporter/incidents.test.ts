/**
 * Reporter.sendIncident over real gRPC on loopback: an incident sent while connected goes out at
 * once; incidents sent while the scheduler is away are queued (bounded, the oldest dropped) and go
 * out after the next registration.
 */
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { agentConfigSchema } from '../../../agent/config.js';
import { MAX_QUEUED_INCIDENTS, Reporter, type IncidentView } from '../../../agent/reporter/index.js';
import { emptyInventory } from '../../../shared/domain/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { loadGantryProto, type AgentMessage__Output, type SchedulerMessage } from '../../../shared/proto/index.js';
import { freePort } from '../../../shared/procs/index.js';
import { waitFor } from '../../harness/cluster.js';

const { proto } = loadGantryProto();
const log = createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false });

async function fakeScheduler(port: number, got: AgentMessage__Output[]): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(proto.gantry.v1.AgentService.service, {
    Connect: (call: grpc.ServerDuplexStream<AgentMessage__Output, SchedulerMessage>) => {
      call.on('data', (m: AgentMessage__Output) => {
        got.push(m);
        if (m.register) call.write({ registered: { schedulerId: 'fake', reportIntervalMs: 60_000 } });
      });
      call.on('error', () => {});
      call.on('end', () => call.end());
    },
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  return server;
}

const incident = (n: number): IncidentView => ({
  source: 'gpu-clean',
  jobId: `job-${n}`,
  reason: `GPUs not clean: GPU 0: C process ${1000 + n} left`,
  leftovers: [{ pid: 1000 + n, user: 'alice', name: 'python', gpu: 0, usedMemoryBytes: 2566 * 2 ** 20 }],
  atMs: 1_700_000_000_000 + n,
});

t.test('incidents: sent at once when connected, queued (bounded) while not, flushed after the next registration', async (t) => {
  const port = await freePort();
  const got: AgentMessage__Output[] = [];
  const config = agentConfigSchema.parse({});
  const reporter = new Reporter(
    {
      schedulerAddresses: [`127.0.0.1:${port}`],
      insecure: true,
      tls: config.scheduler.tls,
      nodeName: 'node-r',
      address: 'node-r',
      agentVersion: 'test',
      labels: {},
      allowedUsers: [],
      allowRoot: false,
      reportIntervalMs: 60_000,
      initialDelayMs: 20,
      maxDelayMs: 100,
    },
    () => ({ inventory: emptyInventory('node-r'), verdicts: [], tasks: [] }),
    { onConnected: () => undefined, onDisconnected: () => undefined, onReportSent: () => undefined, onCommand: () => undefined },
    log,
  );
  t.teardown(() => reporter.stop());
  reporter.start();
  // No scheduler yet: more incidents than the queue holds.
  for (let i = 0; i < MAX_QUEUED_INCIDENTS + 5; i++) reporter.sendIncident(incident(i));
  t.equal(reporter.droppedIncidents, 5, 'past the bound the oldest are dropped');
  let server = await fakeScheduler(port, got);
  await waitFor('the queued incidents', () => got.filter((m) => m.incident).length === MAX_QUEUED_INCIDENTS, 15_000);
  const first = got.findIndex((m) => m.incident);
  t.ok(got.findIndex((m) => m.register) < first, 'after the registration');
  const sent = got.flatMap((m) => (m.incident ? [m.incident] : []));
  t.equal(sent[0]!.jobId, 'job-5', 'the oldest kept first');
  t.same(
    { ...sent[0]!, leftovers: sent[0]!.leftovers.map((l) => ({ ...l })) },
    { source: 'gpu-clean', jobId: 'job-5', reason: 'GPUs not clean: GPU 0: C process 1005 left', atUnixMs: 1_700_000_000_005, leftovers: [{ pid: 1005, user: 'alice', name: 'python', gpu: 0, usedMemoryBytes: 2566 * 2 ** 20 }] },
    'every field on the wire',
  );

  reporter.sendIncident(incident(9999));
  await waitFor('an incident sent while connected', () => got.some((m) => m.incident?.jobId === 'job-9999'), 10_000);

  // The scheduler goes away and comes back: an incident from meanwhile is sent once, after the new registration.
  server.forceShutdown();
  await waitFor('the reporter saw the loss', () => !reporter.isConnected, 10_000);
  reporter.sendIncident(incident(424242));
  got.length = 0;
  server = await fakeScheduler(port, got);
  t.teardown(() => server.forceShutdown());
  await waitFor('the incident after the reconnect', () => got.some((m) => m.incident?.jobId === 'job-424242'), 15_000);
  t.ok(got.findIndex((m) => m.register) < got.findIndex((m) => m.incident), 'after the new registration');
  t.equal(got.filter((m) => m.incident).length, 1, 'once');
});
