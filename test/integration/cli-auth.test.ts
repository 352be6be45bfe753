/**
 * The CLI's credentials end to end, with real parts: `gantry certs` makes the PKI, a scheduler
 * serves TLS with it (client certificates verified against its CA; bearer tokens from a test
 * issuer), an agent registers with its node certificate, and the built CLI (a child process, with
 * no GANTRY_* variable of this process and an empty config directory) talks to it with flags, with
 * GANTRY_* variables and with a context file, over an address list whose first address is dead;
 * the scheduler says who each caller is (WhoAmI) and refuses what it may not do.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { freePort } from '../../shared/procs/index.js';
import { requireBuilt, startAgent, startScheduler, tempDir, waitFor } from '../harness/cluster.js';

const entry = requireBuilt();
const ISSUER = 'https://issuer.gantry.test';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI with only what the test gives: no GANTRY_* of this process, an empty config directory. */
function gantryWith(baseEnv: NodeJS.ProcessEnv): (args: string[], env?: NodeJS.ProcessEnv) => Promise<Ran> {
  return (args, env = {}) =>
    new Promise((resolve) => {
      execFile(process.execPath, [entry, ...args], { env: { ...baseEnv, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });
}

function nodeNames(r: Ran): string[] {
  return (JSON.parse(r.stdout) as Array<{ name: string }>).map((n) => n.name);
}

t.test('the CLI with certificates, tokens and contexts against a TLS scheduler', async (t) => {
  const dir = tempDir(t, 'gantry-cli-auth-');
  const xdg = path.join(dir, 'xdg');
  mkdirSync(xdg);
  const baseEnv: NodeJS.ProcessEnv = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GANTRY_'))), XDG_CONFIG_HOME: xdg };
  const gantry = gantryWith(baseEnv);

  // The PKI, from the CLI itself.
  const made = await gantry(['certs', '--out', path.join(dir, 'pki'), '--scheduler-hosts', 'localhost,127.0.0.1', '--nodes', 'gpu-01', '--users', 'alice:ml,bob']);
  t.equal(made.code, 0, made.stderr);
  const pki = (n: string): string => path.join(dir, 'pki', n);

  // A token issuer: an ES256 key pair, the public half in a PEM file the scheduler reads.
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  writeFileSync(path.join(dir, 'issuer.pem'), await exportSPKI(publicKey));
  const token = (sub: string, groups: string[]): Promise<string> =>
    new SignJWT({ groups }).setProtectedHeader({ alg: 'ES256' }).setIssuer(ISSUER).setSubject(sub).setIssuedAt().setExpirationTime('10m').sign(privateKey);
  writeFileSync(path.join(dir, 'carol.jwt'), `${await token('carol', ['ml'])}\n`);

  const sched = await startScheduler(t, {
    secure: true,
    extraArgs: [
      '--set', `grpc.tls.certFile=${pki('scheduler.pem')}`,
      '--set', `grpc.tls.keyFile=${pki('scheduler-key.pem')}`,
      '--set', `grpc.tls.caFile=${pki('ca.pem')}`,
      '--set', 'auth.roles.admin.users=[alice]',
      '--set', `auth.tokens.issuer=${ISSUER}`,
      '--set', `auth.tokens.publicKeyFiles=[${path.join(dir, 'issuer.pem')}]`,
    ],
  });
  await startAgent(t, 'gpu-01', sched.address, {
    secure: true,
    extraArgs: ['--set', `scheduler.tls.caFile=${pki('ca.pem')}`, '--set', `scheduler.tls.certFile=${pki('node-gpu-01.pem')}`, '--set', `scheduler.tls.keyFile=${pki('node-gpu-01-key.pem')}`],
  });
  const alice = ['--ca', pki('ca.pem'), '--cert', pki('user-alice.pem'), '--key', pki('user-alice-key.pem')];

  await t.test('flags: --scheduler, --ca, --cert, --key', async (t) => {
    // The agent registers with its node certificate; the CLI sees it once it has.
    const r = await waitFor('gpu-01 in gantry nodes --json', async () => {
      const ran = await gantry(['nodes', '--json', '--scheduler', sched.address, ...alice]);
      if (ran.code !== 0) throw new Error(ran.stderr);
      return nodeNames(ran).includes('gpu-01') ? ran : undefined;
    }, 30_000, 300);
    t.same(nodeNames(r), ['gpu-01'], 'the node that proved itself with its certificate');
    const table = await gantry(['nodes', '--scheduler', sched.address, ...alice]);
    t.equal(table.code, 0, table.stderr);
    t.match(table.stdout, /^NAME\s+STATE.*\ngpu-01\s+ready/, 'the table too');
  });

  await t.test('environment: GANTRY_SCHEDULER_ADDRESS, GANTRY_CA, GANTRY_CERT, GANTRY_KEY', async (t) => {
    const r = await gantry(['nodes', '--json'], { GANTRY_SCHEDULER_ADDRESS: sched.address, GANTRY_CA: pki('ca.pem'), GANTRY_CERT: pki('user-alice.pem'), GANTRY_KEY: pki('user-alice-key.pem') });
    t.equal(r.code, 0, r.stderr);
    t.same(nodeNames(r), ['gpu-01']);
  });

  await t.test('a context file: relative paths, current-context, --context, use-context', async (t) => {
    // Its own config directory: the other subtests keep an empty one.
    const home = path.join(dir, 'xdg-contexts');
    const file = path.join(home, 'gantry', 'config.yaml');
    mkdirSync(path.dirname(file), { recursive: true });
    const g = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> => gantry(args, { XDG_CONFIG_HOME: home, ...env });
    writeFileSync(
      file,
      [
        '# the CLI contexts of this test',
        'current-context: alice',
        'contexts:',
        `  alice: {schedulers: ['${sched.address}'], ca: ../../pki/ca.pem, cert: ../../pki/user-alice.pem, key: ../../pki/user-alice-key.pem}`,
        `  broken: {schedulers: ['${sched.address}'], ca: ../../pki/ca.pem, cert: ../../pki/nobody.pem, key: ../../pki/user-alice-key.pem}`,
        `  plain: {schedulers: ['${sched.address}'], insecure: true}`,
        '',
      ].join('\n'),
    );
    const r = await g(['nodes', '--json']);
    t.equal(r.code, 0, r.stderr);
    t.same(nodeNames(r), ['gpu-01'], "the current context's scheduler and certificate");
    const broken = await g(['nodes', '--context', 'broken']);
    t.equal(broken.code, 2, 'a context naming a missing certificate: exit 2');
    t.match(broken.stderr, /config contexts\.broken\.cert: cannot read the client certificate .*nobody\.pem: ENOENT/);
    const plain = await g(['nodes'], { GANTRY_CONTEXT: 'plain' });
    t.equal(plain.code, 1, 'plaintext to a TLS scheduler fails');
    t.match(plain.stderr, /plaintext, from contexts\.plain\.insecure: does the scheduler serve TLS\?/);

    const list = await g(['config', 'get-contexts']);
    t.equal(list.code, 0, list.stderr);
    t.match(list.stdout, /^\*\s+alice\s+127\.0\.0\.1:\d+\s+certificate$/m);
    t.equal((await g(['config', 'use-context', 'plain'])).code, 0);
    t.equal((await g(['config', 'current-context'])).stdout, 'plain\n', 'switched');
    t.match((await g(['nodes'])).stderr, /contexts\.plain\.insecure/, 'and used');
    const none = await g(['config', 'use-context', 'nope']);
    t.equal(none.code, 2);
    t.match(none.stderr, /no context "nope" in .*config\.yaml \(it has alice, broken, plain\)/);
    t.equal((await g(['config', 'use-context', 'alice'])).code, 0);
    t.match((await g(['config', 'get-contexts'])).stdout, /^\*\s+alice/m, 'switched back');
    t.match(readFileSync(file, 'utf8'), /^# the CLI contexts of this test$/m, 'use-context kept the comment');

    // GANTRY_CONFIG_FILE names another file; a bad key there exits 2 naming it.
    const other = path.join(dir, 'other.yaml');
    writeFileSync(other, `contexts:\n  x: {schedulers: ['${sched.address}'], certificate: a.pem}\n`);
    const bad = await g(['nodes', '--context', 'x'], { GANTRY_CONFIG_FILE: other });
    t.equal(bad.code, 2);
    t.match(bad.stderr, /config contexts\.x\.certificate: unknown key/);
  });

  await t.test('an address list: a dead address first, then the scheduler', async (t) => {
    const dead = `127.0.0.1:${await freePort()}`;
    const r = await gantry(['nodes', '--json', '--scheduler', `${dead},${sched.address}`, ...alice]);
    t.equal(r.code, 0, r.stderr);
    t.same(nodeNames(r), ['gpu-01'], 'the second address answered');
    t.equal(r.stderr, '', 'quietly');
    const v = await gantry(['nodes', '-v', ...alice], { GANTRY_SCHEDULER_ADDRESS: `${dead}, ${sched.address}` });
    t.equal(v.code, 0, v.stderr);
    t.match(v.stderr, new RegExp(`${dead}: connect ECONNREFUSED.*trying the next address`), '--verbose: the dead one');
    t.match(v.stderr, `scheduler ${sched.address} answered`, '--verbose: which answered');
    const dead2 = `127.0.0.1:${await freePort()}`;
    const none = await gantry(['nodes', '--scheduler', `${dead},${dead2}`, ...alice]);
    t.equal(none.code, 1, 'none answers: exit 1');
    t.match(none.stderr, new RegExp(`cannot reach the scheduler: ${dead}: connect ECONNREFUSED.*; ${dead2}: connect ECONNREFUSED`), 'naming each address');
  });

  await t.test('no CA, a missing file, a wrong key: the errors say which', async (t) => {
    const noCa = await gantry(['nodes', '--scheduler', sched.address]);
    t.equal(noCa.code, 1, 'the system CAs do not know the scheduler: exit 1');
    t.match(noCa.stderr, /TLS failed \(self-signed certificate in certificate chain\).*--ca/);
    t.notMatch(noCa.stderr, /DEP0123|DeprecationWarning/, 'no warning about an IP address as the TLS server name');
    const missing = await gantry(['nodes', '--scheduler', sched.address, '--ca', pki('ca.pem'), '--cert', pki('nope.pem'), '--key', pki('user-alice-key.pem')]);
    t.equal(missing.code, 2);
    t.match(missing.stderr, /^gantry nodes: --cert: cannot read the client certificate .*nope\.pem: ENOENT$/m);
    const missingEnv = await gantry(['nodes'], { GANTRY_SCHEDULER_ADDRESS: sched.address, GANTRY_CA: pki('nope-ca.pem') });
    t.equal(missingEnv.code, 2);
    t.match(missingEnv.stderr, /GANTRY_CA: cannot read the CA certificate .*nope-ca\.pem: ENOENT/);
    const mismatch = await gantry(['nodes', '--scheduler', sched.address, '--ca', pki('ca.pem'), '--cert', pki('user-bob.pem'), '--key', pki('user-alice-key.pem')]);
    t.equal(mismatch.code, 2);
    t.match(mismatch.stderr, /--cert: cannot use these TLS files: .*key values mismatch/);
    const plain = await gantry(['nodes', '--scheduler', sched.address, '--insecure']);
    t.equal(plain.code, 1);
    t.match(plain.stderr, /plaintext, from --insecure: does the scheduler serve TLS\?/);
    const mixed = await gantry(['nodes', '--scheduler', sched.address, '--insecure', '--ca', pki('ca.pem')]);
    t.equal(mixed.code, 2);
    t.match(mixed.stderr, /--ca: plaintext \(--insecure\) uses no TLS/);
  });

  await t.test('whoami: the certificate names alice, an admin', async (t) => {
    const r = await gantry(['whoami', '--json', '--scheduler', sched.address, ...alice]);
    t.equal(r.code, 0, r.stderr);
    if (r.code !== 0) return;
    const w = JSON.parse(r.stdout) as Record<string, unknown>;
    t.match(w, { name: 'alice', kind: 'user', authenticatedBy: 'certificate', groups: ['ml'], scheduler: sched.address }, 'alice, a user, by her certificate');
    t.ok((w.roles as string[]).includes('admin'), 'auth.roles.admin.users names alice');
    t.ok((w.permissions as string[]).includes('nodes.manage'), 'an admin may manage nodes');
    const text = await gantry(['whoami', '--scheduler', sched.address, ...alice]);
    t.match(text.stdout, /^name +alice$/m, 'the text form');
  });

  await t.test('a bearer token from --token-file, GANTRY_TOKEN and a context', async (t) => {
    const tokenFlags = ['--scheduler', sched.address, '--ca', pki('ca.pem')];
    const r = await gantry(['whoami', '--json', ...tokenFlags, '--token-file', path.join(dir, 'carol.jwt')]);
    t.equal(r.code, 0, r.stderr);
    if (r.code === 0) t.match(JSON.parse(r.stdout), { name: 'carol', kind: 'user', authenticatedBy: 'token', groups: ['ml'] }, 'carol, by her token (--token-file)');
    const env = await gantry(['whoami', '--json', ...tokenFlags], { GANTRY_TOKEN: await token('dave', []) });
    t.equal(env.code, 0, env.stderr);
    if (env.code === 0) t.match(JSON.parse(env.stdout), { name: 'dave', authenticatedBy: 'token' }, 'dave, by GANTRY_TOKEN');
    const sso = path.join(dir, 'sso.yaml');
    writeFileSync(sso, `current-context: sso\ncontexts:\n  sso: {schedulers: ['${sched.address}'], ca: pki/ca.pem, tokenFile: carol.jwt}\n`);
    const ctx = await gantry(['whoami', '--json'], { GANTRY_CONFIG_FILE: sso });
    t.equal(ctx.code, 0, ctx.stderr);
    if (ctx.code === 0) t.match(JSON.parse(ctx.stdout), { name: 'carol', authenticatedBy: 'token' }, "carol, by the context's tokenFile");
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setIssuer(ISSUER).setSubject('mallory').setExpirationTime('10m').sign((await generateKeyPair('ES256')).privateKey);
    const bad = await gantry(['nodes', ...tokenFlags, '--token', forged]);
    t.equal(bad.code, 1, 'a token signed by another key: exit 1');
    t.match(bad.stderr, /UNAUTHENTICATED: /, "the scheduler's message");
  });

  await t.test('no credential, and a user without the permission', async (t) => {
    const anon = await gantry(['nodes', '--scheduler', sched.address, '--ca', pki('ca.pem')]);
    t.equal(anon.code, 1, 'TLS but no certificate or token: exit 1');
    t.match(anon.stderr, /^gantry nodes: UNAUTHENTICATED: /m, "the scheduler's message");
    const bob = await gantry(['cordon', 'gpu-01', '--scheduler', sched.address, '--ca', pki('ca.pem'), '--cert', pki('user-bob.pem'), '--key', pki('user-bob-key.pem')]);
    t.equal(bob.code, 1, 'bob may not cordon: exit 1');
    t.match(bob.stderr, /^gantry cordon: PERMISSION_DENIED: .*nodes\.manage/m, 'the permission bob lacks');
  });
});
