/**
 * The reporter with several scheduler addresses, over real gRPC on loopback: a standby (the real
 * standby handlers of scheduler/api/standby.ts) refuses naming the leader, and the agent dials that
 * leader next even when it is not the next address in its list; a scheduler answering Registered
 * with a term lower than the highest the agent has seen (a deposed leader) is hung up on, and the
 * agent dials its next address.
 */
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { agentConfigSchema } from '../../../agent/config.js';
import { judgeTerm } from '../../../agent/core/index.js';
import { Reporter } from '../../../agent/reporter/index.js';
import type { TermedMessage } from '../../../agent/term-fence.js';
import { standbyHandlers } from '../../../scheduler/api/standby.js';
import { emptyInventory } from '../../../shared/domain/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { loadGantryProto, type AgentMessage__Output, type SchedulerMessage } from '../../../shared/proto/index.js';
import { freePort } from '../../../shared/procs/index.js';
import { waitFor } from '../../harness/cluster.js';

const { proto } = loadGantryProto();
const log = createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false });

async function serve(t: Tap, handlers: grpc.UntypedServiceImplementation): Promise<string> {
  const port = await freePort();
  const server = new grpc.Server();
  server.addService(proto.gantry.v1.AgentService.service, handlers);
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  t.teardown(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}
type Tap = { teardown(fn: () => unknown): void };

/** A scheduler that answers every registration with Registered of `term`, counting registrations. */
function scheduler(term: number, registrations: { n: number }): grpc.UntypedServiceImplementation {
  return {
    Connect: (call: grpc.ServerDuplexStream<AgentMessage__Output, SchedulerMessage>) => {
      call.on('data', (m: AgentMessage__Output) => {
        if (m.register) {
          registrations.n++;
          call.write({ registered: { schedulerId: `term-${term}`, reportIntervalMs: 60_000, term } });
        }
      });
      call.on('error', () => {});
      call.on('end', () => call.end());
    },
  };
}

function reporter(t: Tap, addresses: string[], fence?: { admit(term: number, m: TermedMessage): boolean }): { r: Reporter; connected: string[] } {
  const config = agentConfigSchema.parse({});
  const connected: string[] = [];
  const r = new Reporter(
    {
      schedulerAddresses: addresses,
      ...(fence ? { fence } : {}),
      insecure: true,
      tls: config.scheduler.tls,
      nodeName: 'node-f',
      address: 'node-f',
      agentVersion: 'test',
      labels: {},
      allowedUsers: [],
      allowRoot: false,
      reportIntervalMs: 60_000,
      initialDelayMs: 20,
      maxDelayMs: 100,
    },
    () => ({ inventory: emptyInventory('node-f'), verdicts: [], tasks: [] }),
    { onConnected: () => connected.push(r.schedulerAddress), onDisconnected: () => undefined, onReportSent: () => undefined, onCommand: () => undefined },
    log,
  );
  t.teardown(() => r.stop());
  r.start();
  return { r, connected };
}

t.test('a standby sends the agent to the leader it names, past the next address in the list', async (t) => {
  const leaderRegs = { n: 0 };
  const otherRegs = { n: 0 };
  const leader = await serve(t, scheduler(7, leaderRegs));
  const other = await serve(t, scheduler(7, otherRegs));
  const standby = await serve(t, standbyHandlers(() => leader).agent as unknown as grpc.UntypedServiceImplementation);
  const { r, connected } = reporter(t, [standby, other, leader]);
  await waitFor('registered', () => r.isConnected, 10_000);
  t.same(connected, [leader], 'registered with the named leader');
  t.equal(otherRegs.n, 0, 'the next address in the list was not dialled');
});

t.test('a Registered of a lower term than the highest seen: the agent hangs up and dials the next address', async (t) => {
  let highest = 7;
  const refused: TermedMessage[] = [];
  const fence = {
    admit(term: number, m: TermedMessage): boolean {
      const j = judgeTerm(highest, term);
      highest = j.highest;
      if (!j.accept) refused.push(m);
      return j.accept;
    },
  };
  const deposedRegs = { n: 0 };
  const deposed = await serve(t, scheduler(3, deposedRegs));
  const current = await serve(t, scheduler(9, { n: 0 }));
  const { r, connected } = reporter(t, [deposed, current], fence);
  await waitFor('registered', () => r.isConnected, 10_000);
  t.ok(deposedRegs.n >= 1, 'the deposed leader was dialled first');
  t.same(refused, ['registered'], 'its Registered refused');
  t.same(connected, [current], 'and the agent registered with the current leader only');
  t.equal(highest, 9, "the current leader's term is the highest now");
});
