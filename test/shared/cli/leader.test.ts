/**
 * The CLI follows the leader (shared/cli/leader.ts): the address choice alone, the leader read
 * from a refusal, and the client on real gRPC on loopback: standbys serving the scheduler's own
 * standby handlers (scheduler/api/standby.ts) and a "leader" answering WhoAmI. A call given only
 * the standby's address reaches the leader it names; a call during a failover (the standby names
 * a leader that is gone) is asked again until a leader answers; with nothing listening it fails
 * at once.
 */
import t from 'tap';
import type { Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import { loadGantryProto } from '../../../shared/proto/index.js';
import { connectScheduler } from '../../../shared/cli/client.js';
import { MAX_FOLLOWED_ADDRESSES, isNotLeader, namedLeader, nextAddress } from '../../../shared/cli/leader.js';
import type { CliIO } from '../../../shared/cli/command.js';
import { standbyHandlers } from '../../../scheduler/api/standby.js';
import { toGrpcError } from '../../../scheduler/api/status-table.js';
import { NotLeaderError, UnavailableError } from '../../../shared/errors/index.js';
import { freePort } from '../../../shared/procs/index.js';

t.test('the next address: the named leader first, else the next one not tried; each once', async (t) => {
  const list = ['a:1', 'b:2', 'c:3'];
  t.same(nextAddress(list, new Set(['a:1']), 0, 'c:3', 0), { addresses: list, index: 2, why: 'leader' }, 'to the leader the standby named');
  t.same(nextAddress(list, new Set(['a:1']), 0, undefined, 0), { addresses: list, index: 1, why: 'next' }, 'no leader named: the next address');
  t.same(nextAddress(list, new Set(['b:2', 'c:3']), 2, 'c:3', 0), { addresses: list, index: 0, why: 'next' }, 'a leader tried already in this call: round the list');
  t.same(nextAddress(list, new Set(['c:3', 'a:1']), 2, undefined, 0), { addresses: list, index: 1, why: 'next' }, 'starting past the end wraps');
  t.equal(nextAddress(list, new Set(list), 1, 'a:1', 0), undefined, 'all tried: the call fails');
  t.same(nextAddress(list, new Set(['a:1']), 0, 'd:4', 0), { addresses: [...list, 'd:4'], index: 3, why: 'leader' }, 'a leader not in the list is added');
  t.same(nextAddress(list, new Set(['a:1']), 0, 'd:4', MAX_FOLLOWED_ADDRESSES), { addresses: list, index: 1, why: 'next' }, 'but only so many per call');
});

const refusal = (e: unknown): grpc.ServiceError => toGrpcError(e) as grpc.ServiceError;

t.test('the leader a refusal names: metadata gantry-leader, else the message; only NOT_LEADER counts', async (t) => {
  const md = refusal(new NotLeaderError('standby', '10.0.0.5:7070'));
  t.ok(isNotLeader(md));
  t.equal(namedLeader(md), '10.0.0.5:7070', 'from the gantry-leader metadata');
  const text = refusal(new NotLeaderError('this scheduler is a standby, not the leader; the leader is sched-b.example:7070'));
  t.equal(namedLeader(text), 'sched-b.example:7070', 'from the message (a server without the metadata)');
  t.equal(namedLeader(refusal(new NotLeaderError('this scheduler is a standby, not the leader; no leader is known yet'))), undefined, 'no leader known');
  t.equal(namedLeader(refusal(new NotLeaderError('x', 'not an address'))), undefined, 'a name that is not host:port is ignored');
  const own = refusal(new UnavailableError('node gpu-01 is not connected; the leader is a:1'));
  t.notOk(isNotLeader(own), "the scheduler's own UNAVAILABLE is not a standby's refusal");
  t.equal(namedLeader(own), undefined);
});

async function serve(t: Test, handlers: grpc.UntypedServiceImplementation, port = 0): Promise<{ address: string; calls: () => number; server: grpc.Server }> {
  const { proto } = loadGantryProto();
  const server = new grpc.Server();
  let n = 0;
  const counted: grpc.UntypedServiceImplementation = {};
  for (const [k, h] of Object.entries(handlers)) {
    const unary = h as grpc.handleUnaryCall<unknown, unknown>;
    counted[k] = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      n++;
      unary(call, cb);
    };
  }
  server.addService(proto.gantry.v1.SchedulerService.service, counted);
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  return { address: `127.0.0.1:${bound}`, calls: () => n, server };
}

const leaderHandlers = (name: string): grpc.UntypedServiceImplementation => ({
  WhoAmI: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { name, kind: 'leader', groups: [] }),
});

const io = (debug: string[] = []): CliIO => ({ stdout: () => undefined, stderr: (l) => void debug.push(l), env: { HOME: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent' }, cwd: '/' });

t.test('on gRPC: a standby sends the call to the leader it names, in the list or not', async (t) => {
  const leader = await serve(t, leaderHandlers('the-leader'));
  const standby = await serve(t, standbyHandlers(() => leader.address).scheduler as unknown as grpc.UntypedServiceImplementation);
  const debug: string[] = [];
  const both = connectScheduler({ scheduler: `${standby.address},${leader.address}`, insecure: true, verbose: true }, io(debug));
  t.teardown(() => both.close());
  t.equal((await both.call('WhoAmI', {}, 5_000)).name, 'the-leader', 'the standby first: followed to the leader');
  t.equal(both.address, leader.address, 'the leader is kept for the next calls');
  t.match(debug.join(''), `${standby.address}: this scheduler is a standby, not the leader; the leader is ${leader.address}; following it to the leader ${leader.address}`);
  await both.call('WhoAmI', {}, 5_000);
  t.equal(standby.calls(), 1, 'the standby was asked once');

  const only = connectScheduler({ scheduler: standby.address, insecure: true }, io());
  t.teardown(() => only.close());
  t.equal((await only.call('WhoAmI', {}, 5_000)).name, 'the-leader', 'given only the standby: the leader it names is added');
  t.equal(only.address, leader.address);
});

t.test('on gRPC: across a failover the call is asked again until the new leader answers; with no standby it fails at once', async (t) => {
  const nextPort = await freePort();
  // The standby names a leader that is gone (killed), as it does until the lease runs out.
  const standby = await serve(t, standbyHandlers(() => `127.0.0.1:${nextPort}`).scheduler as unknown as grpc.UntypedServiceImplementation);
  const s = connectScheduler({ scheduler: standby.address, insecure: true }, io());
  t.teardown(() => s.close());
  await t.rejects(s.call('WhoAmI', {}, 2_000), { code: 'UNAVAILABLE', message: /standby.*ECONNREFUSED/ }, 'one call: every address tried once, then it fails');
  const started = Date.now();
  setTimeout(() => void serve(t, leaderHandlers('new-leader'), nextPort), 700);
  t.equal((await s.callAcrossFailover('WhoAmI', {}, 10_000, 2_000)).name, 'new-leader', 'asked again until the leader it names answers');
  t.ok(Date.now() - started >= 600, 'it waited for it');

  const dead = connectScheduler({ scheduler: `127.0.0.1:${await freePort()}`, insecure: true }, io());
  t.teardown(() => dead.close());
  await t.rejects(dead.callAcrossFailover('WhoAmI', {}, 60_000, 2_000), { code: 'UNAVAILABLE', message: /ECONNREFUSED/ }, 'nothing listening and no standby met: no waiting');
});
