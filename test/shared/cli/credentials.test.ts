/**
 * What the CLI's client puts on the wire, seen by a real gRPC server on loopback (grpc-js, TLS with
 * shared/pki certificates) that serves SchedulerService's WhoAmI and answers with what it received:
 * the authorization metadata, the client certificate's CN, the transport. This shows the token and
 * the certificate travel as documented (a call credential on TLS, plain metadata on --insecure),
 * --server-name, and the address list's rules (UNAVAILABLE moves on; any other answer is final; the
 * address that answered is kept), which the real scheduler cannot show until its side of identity
 * lands (test/integration/cli-auth.test.ts has the end-to-end checks).
 */
import t from 'tap';
import type { Test } from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadGantryProto } from '../../../shared/proto/index.js';
import { connectScheduler, type Scheduler } from '../../../shared/cli/client.js';
import type { CliIO } from '../../../shared/cli/command.js';
import type { ConnectionFlags } from '../../../shared/cli/connection.js';
import { createCa, issueCert } from '../../../shared/certgen/index.js';
import { freePort } from '../../../shared/procs/index.js';
import { tempDir } from '../../harness/cluster.js';

interface Echo {
  server: grpc.Server;
  address: string;
  calls: number;
}

/**
 * A SchedulerService whose WhoAmI answers what it saw (name: the authorization header; groups: the
 * verified client certificate's CN and grpc-js's transport type, both empty without a verified
 * client certificate), or fails with `fail`.
 */
async function echoServer(t: Test, creds: grpc.ServerCredentials, fail?: { code: grpc.status; details: string; gantryCode?: string }): Promise<Echo> {
  const { proto } = loadGantryProto();
  const server = new grpc.Server();
  const echo: Echo = { server, address: '', calls: 0 };
  server.addService(proto.gantry.v1.SchedulerService.service, {
    WhoAmI: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      echo.calls++;
      if (fail) {
        // The scheduler's API sends its own errors' code as gantry-code (scheduler/api/status-table.ts).
        const metadata = new grpc.Metadata();
        if (fail.gantryCode) metadata.set('gantry-code', fail.gantryCode);
        return cb({ code: fail.code, details: fail.details, metadata });
      }
      const auth = call.getAuthContext();
      const cn = auth.sslPeerCertificate?.subject?.CN;
      cb(null, { name: String(call.metadata.get('authorization')[0] ?? ''), kind: 'echo', groups: [`cn=${typeof cn === 'string' ? cn : ''}`, `transport=${auth.transportSecurityType ?? ''}`] });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))));
  echo.address = `127.0.0.1:${port}`;
  t.teardown(() => server.forceShutdown());
  return echo;
}

t.test('what the CLI sends', async (t) => {
  const dir = tempDir(t, 'gantry-cli-creds-');
  const ca = await createCa();
  const server = await issueCert(ca, { kind: 'server', name: 'gantry-scheduler', hosts: ['127.0.0.1'] });
  const namedOnly = await issueCert(ca, { kind: 'server', name: 'gantry-scheduler', hosts: ['gantry-scheduler'] });
  const alice = await issueCert(ca, { kind: 'user', user: 'alice', groups: ['ml'] });
  const f = (name: string, text: string): string => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const files = { ca: f('ca.pem', ca.cert), cert: f('alice.pem', alice.cert), key: f('alice-key.pem', alice.key), token: f('token', 'eyJ.tok.en\n') };
  // TLS that asks for a client certificate and takes calls without one too (createSsl asks for
  // none unless it requires one): through a certificate provider, as grpc-js allows.
  const tlsServer = (c: { cert: string; key: string }): grpc.ServerCredentials => {
    const provider: grpc.experimental.CertificateProvider = {
      addCaCertificateListener: (l) => void setImmediate(() => l({ caCertificate: Buffer.from(ca.cert) })),
      removeCaCertificateListener: () => undefined,
      addIdentityCertificateListener: (l) => void setImmediate(() => l({ certificate: Buffer.from(c.cert), privateKey: Buffer.from(c.key) })),
      removeIdentityCertificateListener: () => undefined,
    };
    return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
  };
  const tls = await echoServer(t, tlsServer(server));
  const named = await echoServer(t, tlsServer(namedOnly));
  const plain = await echoServer(t, grpc.ServerCredentials.createInsecure());

  const xdg = path.join(dir, 'xdg');
  mkdirSync(xdg);
  const io = (env: NodeJS.ProcessEnv = {}): CliIO => ({ stdout: () => undefined, stderr: () => undefined, env: { HOME: dir, XDG_CONFIG_HOME: xdg, ...env }, cwd: dir });
  const whoami = async (flags: ConnectionFlags, env: NodeJS.ProcessEnv = {}): Promise<{ name: string; groups: string[] }> => {
    const s: Scheduler = connectScheduler(flags, io(env));
    try {
      return await s.call('WhoAmI', {}, 5_000);
    } finally {
      s.close();
    }
  };

  await t.test('TLS: the client certificate and the token (a call credential)', async (t) => {
    const r = await whoami({ scheduler: tls.address, ca: files.ca, cert: files.cert, key: files.key, 'token-file': files.token });
    t.equal(r.name, 'Bearer eyJ.tok.en', 'authorization: Bearer <the token file, trimmed>');
    t.same(r.groups, ['cn=alice', 'transport=ssl'], "alice's certificate, over TLS");
  });

  await t.test('TLS with a CA only: no certificate, no token', async (t) => {
    const r = await whoami({}, { GANTRY_SCHEDULER_ADDRESS: tls.address, GANTRY_CA: files.ca });
    t.equal(r.name, '', 'no authorization header');
    t.same(r.groups, ['cn=', 'transport='], 'no client certificate (the server is TLS only: the call was TLS)');
  });

  await t.test('plaintext: the token as call metadata', async (t) => {
    const r = await whoami({ scheduler: plain.address, insecure: true }, { GANTRY_TOKEN: 'eyJ.env.tok' });
    t.equal(r.name, 'Bearer eyJ.env.tok');
    t.same(r.groups, ['cn=', 'transport=']);
  });

  await t.test('--server-name: a certificate that names a host other than the address', async (t) => {
    const r = await whoami({ scheduler: named.address, ca: files.ca, 'server-name': 'gantry-scheduler' });
    t.same(r.groups, ['cn=', 'transport='], 'verified against the name given');
    await t.rejects(whoami({ scheduler: named.address, ca: files.ca }), { message: /TLS failed \(.*altnames.*\).*--server-name/ }, 'not against the address');
  });

  await t.test('an address list: UNAVAILABLE moves on, the one that answered is kept, other answers are final', async (t) => {
    const standby = await echoServer(t, tlsServer(server), { code: grpc.status.UNAVAILABLE, details: 'not the leader' });
    const denies = await echoServer(t, tlsServer(server), { code: grpc.status.PERMISSION_DENIED, details: 'alice lacks nodes.read' });
    const dead = `127.0.0.1:${await freePort()}`;
    const debug: string[] = [];
    const s = connectScheduler({ scheduler: `${dead},${standby.address},${tls.address}`, ca: files.ca, cert: files.cert, key: files.key }, { ...io(), stderr: (l) => void debug.push(l) });
    t.teardown(() => s.close());
    t.equal((await s.call('WhoAmI', {}, 5_000)).groups[0], 'cn=alice', 'the third address answered');
    t.equal(s.address, tls.address);
    t.equal(standby.calls, 1, 'the standby was asked once');
    t.same(debug, [], 'quiet without --verbose');
    await s.call('WhoAmI', {}, 5_000);
    t.equal(standby.calls, 1, 'the next call goes straight to the address that answered');
    t.equal(tls.calls >= 2, true);

    const v = connectScheduler({ scheduler: `${denies.address},${tls.address}`, ca: files.ca, verbose: true }, { ...io(), stderr: (l) => void debug.push(l) });
    t.teardown(() => v.close());
    const before = tls.calls;
    await t.rejects(v.call('WhoAmI', {}, 5_000), { code: grpc.status.PERMISSION_DENIED, details: 'alice lacks nodes.read' }, "another answer is the scheduler's: returned as is");
    t.equal(tls.calls, before, 'and not tried elsewhere');

    const all = connectScheduler({ scheduler: `${standby.address},${dead}`, ca: files.ca, verbose: true }, { ...io(), stderr: (l) => void debug.push(l) });
    t.teardown(() => all.close());
    await t.rejects(all.call('WhoAmI', {}, 5_000), { code: 'UNAVAILABLE', message: new RegExp(`cannot reach the scheduler: ${standby.address}: not the leader; ${dead}: connect ECONNREFUSED`) });
    t.match(debug.join(''), `${standby.address}: not the leader; trying the next address`, '--verbose tells each step');

    // The scheduler's own UNAVAILABLE (say, a node that is not connected) is its answer.
    const nodeGone = await echoServer(t, tlsServer(server), { code: grpc.status.UNAVAILABLE, details: 'node gpu-01 is not connected', gantryCode: 'UNAVAILABLE' });
    const own = connectScheduler({ scheduler: `${nodeGone.address},${tls.address}`, ca: files.ca }, io());
    t.teardown(() => own.close());
    const calls = tls.calls;
    await t.rejects(own.call('WhoAmI', {}, 5_000), { code: grpc.status.UNAVAILABLE, details: 'node gpu-01 is not connected' }, "the scheduler's own UNAVAILABLE is returned as is");
    t.equal(tls.calls, calls, 'not tried elsewhere');
  });
});
