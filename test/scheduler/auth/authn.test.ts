/**
 * Who is calling, over real gRPC on loopback: a server with the scheduler's TLS material
 * (ServerTlsMaterial) and the Authenticator answering WhoAmI with the identity it verified; real
 * certificates from shared/pki and tokens signed with jose. Also the authenticator's config errors,
 * the revoked list and server certificates reloaded in place.
 */
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { Authenticator, ServerTlsMaterial, authConfigSchema, normalizeSerial, parseRevokedSerials, type AuthConfig } from '../../../scheduler/auth/index.js';
import { toGrpcError } from '../../../scheduler/api/status-table.js';
import { ConfigError } from '../../../shared/errors/index.js';
import { loadGantryProto, type SchedulerServiceClient } from '../../../shared/proto/index.js';
import { createCa, issueCert } from '../../../shared/certgen/index.js';
import type { Clock } from '../../../shared/clock/index.js';
import { clientAs, makePki, makeTokenIssuer, servedSerial, type TestPki } from '../../harness/auth.js';

const silent = pino({ level: 'silent' });

function auth(over: Record<string, unknown> = {}): AuthConfig {
  return authConfigSchema.parse(over);
}

/** A gRPC server whose WhoAmI answers with the identity `authn` verified (or its refusal). */
async function serve(t: Test, authn: Authenticator, credentials: grpc.ServerCredentials): Promise<string> {
  const { proto } = loadGantryProto();
  const server = new grpc.Server();
  server.addService(proto.gantry.v1.SchedulerService.service, {
    WhoAmI: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      authn.identify(call).then(
        (id) => cb(null, { name: id.name, kind: id.kind, authenticatedBy: id.via, groups: [...id.groups], expiresUnixMs: id.expiresMs ?? 0 }),
        (e: unknown) => cb(toGrpcError(e)),
      );
    },
  } as never);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

interface Who {
  name: string;
  kind: string;
  authenticatedBy: string;
  groups: string[];
  expiresUnixMs: number;
}

function whoAmI(client: SchedulerServiceClient, metadata = new grpc.Metadata()): Promise<Who | grpc.ServiceError> {
  return new Promise((resolve) => client.WhoAmI({}, metadata, { deadline: Date.now() + 10_000 }, (e, r) => resolve(e ?? (r as unknown as Who))));
}

function refused(t: Test, r: Who | grpc.ServiceError, code: grpc.status, re: RegExp, msg: string): void {
  const e = r as grpc.ServiceError;
  t.equal(e.code, code, `${msg}: ${grpc.status[code]}`);
  t.match(e.details, re, `${msg}: says why`);
}

function configError(fn: () => unknown): ConfigError | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  return undefined;
}

async function mtls(t: Test, pki: TestPki, authOver: Record<string, unknown> = {}, clock?: Clock): Promise<{ authn: Authenticator; address: string; material: ServerTlsMaterial }> {
  const authn = new Authenticator({ insecure: false, auth: auth(authOver) }, { clock: clock ?? { nowMs: () => Date.now() }, log: silent });
  const material = new ServerTlsMaterial({ caFile: pki.caFile, certFile: pki.server.certFile, keyFile: pki.server.keyFile, requireClientCert: false }, 'grpc.tls');
  return { authn, material, address: await serve(t, authn, material.credentials()) };
}

t.test('client certificates: users, nodes, strangers, revoked and expired', async (t) => {
  const pki = await makePki(t);
  const revokedFile = path.join(pki.dir, 'revoked.txt');
  writeFileSync(revokedFile, '# revoked serials\n\n');
  let now = Date.now();
  const { authn, address } = await mtls(t, pki, { revokedSerialsFile: revokedFile }, { nowMs: () => now });
  const alice = await pki.user('alice', ['ml', 'research']);
  const node = await pki.node('gpu-07.rack2');

  const a = (await whoAmI(clientAs(t, address, pki, alice))) as Who;
  t.match(a, { name: 'alice', kind: 'user', authenticatedBy: 'certificate', groups: ['ml', 'research'] }, 'a user certificate: CN and O');
  t.ok(a.expiresUnixMs > Date.now() + 300 * 86400_000, "the certificate's end of validity");
  t.match(await whoAmI(clientAs(t, address, pki, node)), { name: 'gpu-07.rack2', kind: 'node', authenticatedBy: 'certificate', groups: [] }, 'a node certificate: the URI SAN');

  const other = await createCa('another-ca');
  const strangerCert = await issueCert(other, { kind: 'user', user: 'alice', groups: ['admins'] });
  const stranger = clientAs(t, address, pki, { ...strangerCert, certFile: 'x', keyFile: 'x' });
  refused(t, await whoAmI(stranger), grpc.status.UNAUTHENTICATED, /^no credential: present a client certificate signed by the scheduler's CA$/, "another CA's certificate counts for nothing");
  refused(t, await whoAmI(clientAs(t, address, pki, null)), grpc.status.UNAUTHENTICATED, /^no credential/, 'no certificate and no token');

  const seen: Array<ReadonlySet<string>> = [];
  authn.onRevoked((s) => seen.push(s));
  // As openssl prints serials: colon-separated, lower case.
  writeFileSync(revokedFile, `# alice left\n${alice.serial.toLowerCase().match(/../g)!.join(':')}  # ticket 42\nnot-a-serial\n`);
  const report = authn.reload();
  t.same(report.revoked, { count: 1, skipped: ['line 3: "not-a-serial" is not a hex serial'] }, 'the reload counts the serial and skips the bad line');
  t.same(seen, [new Set([normalizeSerial(alice.serial)])], 'onRevoked listeners get the revoked set');
  const aliceAgain = clientAs(t, address, pki, alice);
  refused(t, await whoAmI(aliceAgain), grpc.status.UNAUTHENTICATED, new RegExp(`^certificate ${alice.serial} of user "alice" is revoked \\(auth.revokedSerialsFile\\)$`), 'a revoked certificate');
  t.match(await whoAmI(clientAs(t, address, pki, node)), { kind: 'node' }, 'other certificates still pass');

  writeFileSync(revokedFile, '');
  authn.reload();
  t.match(await whoAmI(aliceAgain), { name: 'alice' }, 'an emptied list revokes nothing, on the same connection');

  now += 400 * 86400_000;
  refused(t, await whoAmI(aliceAgain), grpc.status.UNAUTHENTICATED, /of user "alice" expired at /, 'a certificate that expired while its connection stayed open');
});

t.test('bearer tokens over TLS', async (t) => {
  const pki = await makePki(t);
  const iss = await makeTokenIssuer(pki.dir);
  const { address } = await mtls(t, pki, { tokens: { issuer: iss.issuer, audience: iss.audience, publicKeyFiles: [iss.publicKeyFile] } });
  const as = async (token: string) => whoAmI(clientAs(t, address, pki, { token }));

  const ok = (await as(await iss.sign('erin', { groups: ['ml'] }))) as Who;
  t.match(ok, { name: 'erin', kind: 'user', authenticatedBy: 'token', groups: ['ml'] }, 'a good token names its subject and groups');
  t.ok(Math.abs(ok.expiresUnixMs - (Date.now() + 3600_000)) < 120_000, 'expires_unix_ms is its exp');

  const other = await makeTokenIssuer(pki.dir, 'mallory');
  refused(t, await as(await iss.sign('erin', {}, other.privateKey)), grpc.status.UNAUTHENTICATED, /signature does not verify/, 'a bad signature');
  refused(t, await as(await iss.sign('erin', { exp: Math.floor(Date.now() / 1000) - 3600 })), grpc.status.UNAUTHENTICATED, /^the bearer token expired at /, 'an expired token');
  refused(t, await as(await iss.sign('erin', { iss: 'https://elsewhere' })), grpc.status.UNAUTHENTICATED, /issuer is "https:\/\/elsewhere", not /, 'a wrong issuer');
  refused(t, await as(await iss.sign('erin', { aud: 'another-service' })), grpc.status.UNAUTHENTICATED, /audience is "another-service", not "gantry"/, 'a wrong audience');
  refused(t, await as(await iss.sign('erin', { exp: null })), grpc.status.UNAUTHENTICATED, /no valid exp claim/, 'a token that never expires');
  refused(t, await as(await iss.sign('erin', { groups: 'ml' })), grpc.status.UNAUTHENTICATED, /groups claim .* is not a list/, 'groups that are not a list');
  refused(t, await as('not.a.jwt'), grpc.status.UNAUTHENTICATED, /not a JWT/, 'garbage');

  const md = new grpc.Metadata();
  md.set('authorization', 'Basic YWxpY2U6cGFzcw==');
  refused(t, await whoAmI(clientAs(t, address, pki, null), md), grpc.status.UNAUTHENTICATED, /not "Bearer <JWT>"/, 'another scheme');

  const alice = await pki.user('alice');
  const both = clientAs(t, address, pki, alice);
  const withBadToken = new grpc.Metadata();
  withBadToken.set('authorization', 'Bearer not.a.jwt');
  t.match(await whoAmI(both, withBadToken), { name: 'alice', authenticatedBy: 'certificate' }, 'a verified certificate wins over a token');
});

t.test('token keys: several PEM keys, a JWKS file, algorithms, reload', async (t) => {
  const pki = await makePki(t);
  const a = await makeTokenIssuer(pki.dir, 'a');
  const b = await makeTokenIssuer(pki.dir, 'b', 'RS256');
  const pemAuth = { tokens: { issuer: a.issuer, publicKeyFiles: [a.publicKeyFile, b.publicKeyFile], algorithms: ['ES256', 'RS256'] } };
  const { authn, address } = await mtls(t, pki, pemAuth);
  const as = async (token: string) => whoAmI(clientAs(t, address, pki, { token }));
  t.match(await as(await a.sign('u1')), { name: 'u1' }, 'the first key (ES256)');
  t.match(await as(await b.sign('u2', { iss: a.issuer })), { name: 'u2' }, 'the second key (RS256), tried in turn');

  // Rotation: the first file now holds another key; until SIGHUP the old one verifies.
  const c = await makeTokenIssuer(pki.dir, 'c');
  writeFileSync(a.publicKeyFile, readFileSync(c.publicKeyFile));
  const byC = await c.sign('u3', { iss: a.issuer });
  refused(t, await as(byC), grpc.status.UNAUTHENTICATED, /signature does not verify/, 'before the reload, the new key is unknown');
  t.same(authn.reload().tokens, { source: `publicKeyFiles ${a.publicKeyFile}, ${b.publicKeyFile}` }, 'the reload reads the key files again');
  t.match(await as(byC), { name: 'u3' }, 'after it, the new key verifies');
  refused(t, await as(await a.sign('u1')), grpc.status.UNAUTHENTICATED, /signature does not verify/, 'and the replaced one no longer does');
  writeFileSync(a.publicKeyFile, 'garbage');
  t.match(authn.reload().tokens, { error: /auth\.tokens\.publicKeyFiles\[0\]: .* is not a PEM public key/ }, 'a bad key file on reload is reported ...');
  t.match(await as(byC), { name: 'u3' }, '... and the keys in use stay');

  const jwks = new Authenticator({ insecure: false, auth: auth({ tokens: { issuer: b.issuer, jwksFile: b.jwksFile, algorithms: ['RS256'] } }) }, { clock: { nowMs: () => Date.now() }, log: silent });
  const jwksAddress = await serve(t, jwks, new ServerTlsMaterial({ caFile: '', certFile: pki.server.certFile, keyFile: pki.server.keyFile, requireClientCert: false }, 'grpc.tls').credentials());
  t.match(await whoAmI(clientAs(t, jwksAddress, pki, { token: await b.sign('u4') })), { name: 'u4' }, 'a JWKS file, on a server without a CA (tokens only)');
  refused(t, await whoAmI(clientAs(t, jwksAddress, pki, { token: await a.sign('u5', { iss: b.issuer }) })), grpc.status.UNAUTHENTICATED, /signed with "ES256"; auth.tokens.algorithms accepts RS256/, 'an algorithm not accepted');
  const alice = await pki.user('alice');
  refused(t, await whoAmI(clientAs(t, jwksAddress, pki, alice)), grpc.status.UNAUTHENTICATED, /^no credential/, 'without a CA no client certificate is asked for, so none counts');
});

t.test("the issuer's JWKS URL: fetched, and UNAVAILABLE while it cannot be", async (t) => {
  const pki = await makePki(t);
  const iss = await makeTokenIssuer(pki.dir);
  let fetched = 0;
  const jwksServer = http.createServer((_req, res) => {
    fetched++;
    res.setHeader('content-type', 'application/json');
    res.end(readFileSync(iss.jwksFile));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  t.teardown(() => jwksServer.close());
  const url = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
  const { address } = await mtls(t, pki, { tokens: { issuer: iss.issuer, jwksUrl: url } });
  t.match(await whoAmI(clientAs(t, address, pki, { token: await iss.sign('erin') })), { name: 'erin', authenticatedBy: 'token' }, 'a token verified with keys fetched from the URL');
  t.equal(fetched, 1, 'the JWKS was fetched once');

  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const gone = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/jwks`;
  await new Promise<void>((r) => closed.close(() => r()));
  const { address: down } = await mtls(t, pki, { tokens: { issuer: iss.issuer, jwksUrl: gone } });
  refused(t, await whoAmI(clientAs(t, down, pki, { token: await iss.sign('erin') })), grpc.status.UNAVAILABLE, /^cannot fetch the token issuer's keys from http:\/\/127\.0\.0\.1:\d+\/jwks/, 'an unreachable issuer is no verdict on the token');
});

t.test('the anonymous caller exists only on a plaintext server', async (t) => {
  const clock = { nowMs: () => Date.now() };
  const err = configError(() => new Authenticator({ insecure: false, auth: auth({ anonymousRole: 'admin' }) }, { clock, log: silent }));
  t.equal(err?.key, 'auth.anonymousRole', 'anonymousRole with TLS is a config error naming the key');
  t.match(err?.message, /allowed only with grpc.insecure/);

  const anon = new Authenticator({ insecure: true, auth: auth({ anonymousRole: 'user' }) }, { clock, log: silent });
  const { proto } = loadGantryProto();
  const plain = await serve(t, anon, grpc.ServerCredentials.createInsecure());
  const client = new proto.gantry.v1.SchedulerService(plain, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  t.match(await whoAmI(client), { name: 'anonymous', kind: 'anonymous', authenticatedBy: 'none' }, 'plaintext + anonymousRole: the anonymous caller');
  const bad = new grpc.Metadata();
  bad.set('authorization', 'Bearer x.y.z');
  refused(t, await whoAmI(client, bad), grpc.status.UNAUTHENTICATED, /bearer tokens are not accepted: auth.tokens.issuer is not set/, 'a present but unusable token is refused, not ignored');

  const none = new Authenticator({ insecure: true, auth: auth() }, { clock, log: silent });
  const plain2 = await serve(t, none, grpc.ServerCredentials.createInsecure());
  const client2 = new proto.gantry.v1.SchedulerService(plain2, grpc.credentials.createInsecure());
  t.teardown(() => client2.close());
  refused(t, await whoAmI(client2), grpc.status.UNAUTHENTICATED, /plaintext server .* accepts bearer tokens only/, 'plaintext without anonymousRole');
});

t.test('config errors name the key', async (t) => {
  const pki = await makePki(t);
  const iss = await makeTokenIssuer(pki.dir);
  const clock = { nowMs: () => Date.now() };
  const make = (tokens: Record<string, unknown>, extra: Record<string, unknown> = {}) => configError(() => new Authenticator({ insecure: false, auth: auth({ tokens, ...extra }) }, { clock, log: silent }));
  const cases: Array<[string, ConfigError | undefined, string, RegExp]> = [
    ['an issuer without keys', make({ issuer: iss.issuer }), 'auth.tokens.issuer', /exactly one key source/],
    ['two key sources', make({ issuer: iss.issuer, jwksFile: iss.jwksFile, publicKeyFiles: [iss.publicKeyFile] }), 'auth.tokens.publicKeyFiles', /choose one key source; auth.tokens.jwksFile is set too/],
    ['keys without an issuer', make({ jwksFile: iss.jwksFile }), 'auth.tokens.jwksFile', /issuer is empty/],
    ['a shared-secret algorithm', make({ issuer: iss.issuer, jwksFile: iss.jwksFile, algorithms: ['HS256'] }), 'auth.tokens.algorithms', /"HS256" is not an accepted algorithm/],
    ['a missing key file', make({ issuer: iss.issuer, publicKeyFiles: [path.join(pki.dir, 'nope.pem')] }), 'auth.tokens.publicKeyFiles[0]', /cannot read/],
    ['a private key for a public one', make({ issuer: iss.issuer, publicKeyFiles: [pki.server.keyFile] }), 'auth.tokens.publicKeyFiles[0]', /holds a private key/],
    ['a certificate for a key', make({ issuer: iss.issuer, publicKeyFiles: [pki.server.certFile] }), 'auth.tokens.publicKeyFiles[0]', /not a PEM public key/],
    ['a JWKS file that is not one', make({ issuer: iss.issuer, jwksFile: pki.caFile }), 'auth.tokens.jwksFile', /is not a JSON Web Key Set/],
    ['a JWKS URL that is not one', make({ issuer: iss.issuer, jwksUrl: 'ftp://x/keys' }), 'auth.tokens.jwksUrl', /https/],
    ['a missing revoked list', make({}, { revokedSerialsFile: path.join(pki.dir, 'none.txt') }), 'auth.revokedSerialsFile', /cannot read/],
  ];
  writeFileSync(path.join(pki.dir, 'bad-revoked.txt'), 'AB:CD\nzz\n');
  cases.push(['a bad revoked line at start', make({}, { revokedSerialsFile: path.join(pki.dir, 'bad-revoked.txt') }), 'auth.revokedSerialsFile', /line 2: "zz" is not a hex serial/]);
  for (const [name, err, key, re] of cases) {
    t.equal(err?.key, key, `${name}: ${key}`);
    t.match(err?.message, re, `${name}: says why`);
  }
});

t.test('serials in every spelling compare equal', async (t) => {
  t.equal(normalizeSerial('00:1a:2B'), '1A2B');
  t.equal(normalizeSerial('1A2B'), '1A2B');
  t.equal(normalizeSerial('0'), '0');
  t.equal(normalizeSerial('xyz'), undefined);
  t.same(parseRevokedSerials('1a # c\n  \n#x\n02\n'), { serials: new Set(['1A', '2']), errors: [] });
});

t.test('the server certificate is reloaded in place; bad files are refused and the old one stays', async (t) => {
  const pki = await makePki(t);
  const { address, material } = await mtls(t, pki);
  const port = Number(address.split(':')[1]);
  t.equal(await servedSerial(port, pki.ca.cert), pki.server.serial, 'the first certificate is served');
  t.equal(material.served.serial, pki.server.serial);

  const renewed = await pki.renewServer();
  t.equal(await servedSerial(port, pki.ca.cert), pki.server.serial, 'until the reload, the old one is still served');
  t.equal(material.reload().serial, renewed.serial, 'reload reads the renewed files');
  t.equal(await servedSerial(port, pki.ca.cert), renewed.serial, 'new handshakes get the renewed certificate');
  const alice = await pki.user('alice');
  t.match(await whoAmI(clientAs(t, address, pki, alice)), { name: 'alice' }, 'and gRPC works over it');

  await pki.renewServer();
  writeFileSync(pki.server.keyFile, (await issueCert(pki.ca, { kind: 'user', user: 'x', groups: [] })).key);
  const err = configError(() => material.reload());
  t.equal(err?.key, 'grpc.tls.keyFile', "a key that is not the certificate's is refused, naming the key");
  t.equal(await servedSerial(port, pki.ca.cert), renewed.serial, 'the previous certificate is still served');
  writeFileSync(pki.server.certFile, 'not a certificate');
  t.equal(configErrorOrKey(() => material.reload()), 'grpc.tls.certFile', 'an unreadable certificate names certFile');
  t.match(await whoAmI(clientAs(t, address, pki, alice)), { name: 'alice' }, 'and the server keeps working');
});

function configErrorOrKey(fn: () => unknown): string | undefined {
  return configError(fn)?.key;
}
