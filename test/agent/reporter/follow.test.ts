/**
 * The reporter with several scheduler addresses, over real gRPC on loopback: a standby (the real
 * standby handlers of scheduler/api/standby.ts) refuses naming the leader, and the agent dials that
 * leader next even when it is not the next address in its list; a scheduler answering Registered
 * with a term lower than the highest the agent has seen (a deposed leader) is hung up on, and the
 * agent dials its next address; while only standbys answer (between leaders), the agent keeps
 * trying every initialDelayMs or so, not with a growing backoff, so it registers soon after a
 * leader appears.
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

function reporter(t: Tap, addresses: string[], fence?: { admit(term: number, m: TermedMessage): boolean }, delays = { initialDelayMs: 20, maxDelayMs: 100 }): { r: Reporter; connected: string[] } {
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
      ...delays,
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

t.test('between leaders: two standbys name no leader for 6 s; the agent registers soon after one leads', async (t) => {
  // Each address is a scheduler that is a standby (the real standby handlers) until it leads.
  const leads = [false, false];
  const regs = { n: 0 };
  const standby = standbyHandlers(() => '').agent as unknown as grpc.UntypedServiceImplementation;
  const lead = scheduler(4, regs);
  const member = (i: number): grpc.UntypedServiceImplementation => ({
    Connect: (call: grpc.ServerDuplexStream<AgentMessage__Output, SchedulerMessage>) => ((leads[i] ? lead : standby).Connect as (c: typeof call) => void)(call),
  });
  const addresses = [await serve(t, member(0)), await serve(t, member(1))];
  // The agent's default backoff (initial 500 ms, at most 15 s) but a 100 ms start, so 6 s of refusals would grow it to seconds.
  const { r, connected } = reporter(t, addresses, undefined, { initialDelayMs: 100, maxDelayMs: 15_000 });
  await new Promise((resolve) => setTimeout(resolve, 6000));
  t.notOk(r.isConnected, 'no registration while only standbys answer');
  const ledAt = Date.now();
  leads[1] = true;
  await waitFor('registered with the new leader', () => r.isConnected, 10_000);
  const tookMs = Date.now() - ledAt;
  t.ok(tookMs < 1000, `registered ${tookMs} ms after a leader appeared (a growing backoff left up to 6.4 s here)`);
  t.same(connected, [addresses[1]]);
});
