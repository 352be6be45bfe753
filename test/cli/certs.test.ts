/**
 * `gantry certs`, run as the built CLI (a child process): the files it writes and their modes, the
 * identities in them (shared/pki certificateIdentity), the scheduler certificate's names, refusing
 * to overwrite, reusing a CA (the one in --out, or --ca-cert/--ca-key), --days, bad input (exit 2);
 * and the README's openssl commands, which must make certificates that name the same identities.
 */
import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { certificateIdentity } from '../../shared/pki/index.js';
import { InvalidArgumentError } from '../../shared/errors/index.js';
import { parseDays, parseHosts, parseNodes, parseUsers } from '../../cli/certs-plan.js';
import { ROOT, requireBuilt, tempDir, which } from '../harness/cluster.js';

const entry = requireBuilt();

function certs(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [entry, 'certs', ...args], { cwd, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const mode = (f: string): string => (statSync(f).mode & 0o777).toString(8);
const cert = (f: string): X509Certificate => new X509Certificate(readFileSync(f));

t.test('the list flags', async (t) => {
  t.same(parseUsers('alice:ml+research, bob,carol@example.com:ops'), [
    { user: 'alice', groups: ['ml', 'research'] },
    { user: 'bob', groups: [] },
    { user: 'carol@example.com', groups: ['ops'] },
  ]);
  t.same(parseNodes('gpu-01,gpu-02.rack1'), ['gpu-01', 'gpu-02.rack1']);
  t.same(parseHosts('gantry.example,10.0.0.5,::1'), ['gantry.example', '10.0.0.5', '::1']);
  t.equal(parseDays('30'), 30);
  const bad: Array<[string, () => unknown, RegExp]> = [
    ['a user with two colons', () => parseUsers('a:b:c'), /^--users: "a:b:c": one ':'/],
    ['a user name with a slash', () => parseUsers('../etc:x'), /^--users: .* is not a user name/],
    ['an empty group', () => parseUsers('alice:ml+'), /^--users: .* "" is not a group name/],
    ['a user twice', () => parseUsers('a,b,a'), /^--users: "a" is listed twice/],
    ['a node name with a slash', () => parseNodes('gpu/01'), /^--nodes: "gpu\/01" is not a node name/],
    ['a node name starting with a dot', () => parseNodes('.hidden'), /^--nodes: /],
    ['no hosts', () => parseHosts(' , '), /^--scheduler-hosts: must list at least one/],
    ['days 0', () => parseDays('0'), /^--days: must be a whole number/],
    ['days 1.5', () => parseDays('1.5'), /^--days: /],
  ];
  for (const [name, fn, re] of bad) {
    t.throws(fn, InvalidArgumentError, name);
    try {
      fn();
    } catch (e) {
      t.match((e as Error).message, re, `${name}: names the flag`);
    }
  }
});

t.test('a CA, the scheduler, nodes and users in one directory', async (t) => {
  const dir = tempDir(t, 'gantry-certs-');
  const out = path.join(dir, 'pki');
  const r = await certs(['--out', 'pki', '--scheduler-hosts', 'localhost,127.0.0.1', '--nodes', 'gpu-01,gpu-02', '--users', 'alice:ml+research,bob', '--days', '30'], dir);
  t.equal(r.code, 0, r.stderr);
  const f = (n: string): string => path.join(out, n);
  const files = ['ca.pem', 'ca-key.pem', 'scheduler.pem', 'scheduler-key.pem', 'node-gpu-01.pem', 'node-gpu-01-key.pem', 'node-gpu-02.pem', 'node-gpu-02-key.pem', 'user-alice.pem', 'user-alice-key.pem', 'user-bob.pem', 'user-bob-key.pem'];
  t.same(readdirSync(out).sort(), [...files].sort(), 'these files, relative --out against the working directory');
  t.equal(mode(out), '700', 'the directory it made is 0700');
  for (const n of files) t.equal(mode(f(n)), n.endsWith('-key.pem') ? '600' : '644', `${n} is ${n.endsWith('-key.pem') ? '0600' : '0644'}`);

  const ca = cert(f('ca.pem'));
  t.ok(ca.ca, 'ca.pem is a CA');
  for (const n of files.filter((x) => x !== 'ca.pem' && !x.endsWith('-key.pem'))) {
    t.ok(cert(f(n)).verify(ca.publicKey), `${n} is signed by ca.pem`);
    t.ok(cert(f(n)).checkPrivateKey(createPrivateKey(readFileSync(f(n.replace('.pem', '-key.pem'))))), `${n} goes with its key`);
  }
  t.same(certificateIdentity(readFileSync(f('node-gpu-01.pem'))), { kind: 'node', name: 'gpu-01', groups: [], serial: cert(f('node-gpu-01.pem')).serialNumber.toUpperCase(), notAfterMs: Date.parse(cert(f('node-gpu-01.pem')).validTo) });
  t.match(certificateIdentity(readFileSync(f('node-gpu-02.pem'))), { kind: 'node', name: 'gpu-02' });
  t.match(certificateIdentity(readFileSync(f('user-alice.pem'))), { kind: 'user', name: 'alice', groups: ['ml', 'research'] });
  t.match(certificateIdentity(readFileSync(f('user-bob.pem'))), { kind: 'user', name: 'bob', groups: [] });
  t.match(certificateIdentity(readFileSync(f('scheduler.pem'))), { error: /not for client authentication/ }, 'the scheduler certificate names nobody');
  t.equal(cert(f('scheduler.pem')).subjectAltName, 'DNS:localhost, IP Address:127.0.0.1', 'the scheduler certificate carries the hosts');
  const days = (Date.parse(cert(f('user-bob.pem')).validTo) - Date.now()) / 86_400_000;
  t.ok(days > 29 && days <= 30, `--days 30: valid ${days.toFixed(2)} days`);

  t.match(r.stdout, `certFile: ${f('scheduler.pem')}`, "it prints the scheduler's grpc.tls");
  t.match(r.stdout, `certFile: ${f('node-gpu-02.pem')}`, "and each node's scheduler.tls");
  t.match(r.stdout, `--ca ${f('ca.pem')} --cert ${f('user-alice.pem')} --key ${f('user-alice-key.pem')}`, "and each user's CLI flags");
  t.match(r.stdout, `gantry: {schedulers: [localhost:7070], ca: ${f('ca.pem')}`, 'and a context');

  // Again with the same names: nothing is overwritten, nothing written.
  const before = readFileSync(f('node-gpu-01.pem'), 'utf8');
  const again = await certs(['--out', out, '--nodes', 'gpu-01,gpu-03'], dir);
  t.equal(again.code, 1, 'refuses to overwrite');
  t.match(again.stderr, /already holds node-gpu-01\.pem, node-gpu-01-key\.pem; nothing written \(--force overwrites\)/);
  t.equal(readFileSync(f('node-gpu-01.pem'), 'utf8'), before, 'node-gpu-01.pem unchanged');
  t.notOk(readdirSync(out).includes('node-gpu-03.pem'), 'and gpu-03 not written either');

  // A key made looser by hand gets 0600 back with --force; the CA in --out is reused.
  execFileSync('chmod', ['0644', f('node-gpu-01-key.pem')]);
  const forced = await certs(['--out', out, '--nodes', 'gpu-01,gpu-03', '--force'], dir);
  t.equal(forced.code, 0, forced.stderr);
  t.match(forced.stdout, `with the CA already in ${out}`);
  t.not(readFileSync(f('node-gpu-01.pem'), 'utf8'), before, '--force replaced node-gpu-01.pem');
  t.equal(mode(f('node-gpu-01-key.pem')), '600', 'the overwritten key is 0600 again');
  t.ok(cert(f('node-gpu-03.pem')).verify(ca.publicKey), 'gpu-03 is signed by the same CA');
  t.equal(cert(f('ca.pem')).fingerprint256, ca.fingerprint256, 'ca.pem is unchanged');
});

t.test('an existing CA: --ca-cert and --ca-key', async (t) => {
  const dir = tempDir(t, 'gantry-certs-ca-');
  t.equal((await certs(['--out', 'ca'], dir)).code, 0, 'a CA alone');
  const r = await certs(['--out', 'issued', '--ca-cert', 'ca/ca.pem', '--ca-key', 'ca/ca-key.pem', '--users', 'carol:ops'], dir);
  t.equal(r.code, 0, r.stderr);
  t.same(readdirSync(path.join(dir, 'issued')).sort(), ['ca.pem', 'user-carol-key.pem', 'user-carol.pem'], "a copy of the CA's certificate, not its key");
  t.equal(readFileSync(path.join(dir, 'issued', 'ca.pem'), 'utf8'), readFileSync(path.join(dir, 'ca', 'ca.pem'), 'utf8'));
  t.ok(cert(path.join(dir, 'issued', 'user-carol.pem')).verify(cert(path.join(dir, 'ca', 'ca.pem')).publicKey), 'signed by the given CA');

  const bad: Array<[string[], RegExp]> = [
    [['--out', 'x', '--ca-cert', 'ca/ca.pem'], /--ca-key: --ca-cert and --ca-key go together/],
    [['--out', 'x', '--ca-cert', 'ca/nope.pem', '--ca-key', 'ca/ca-key.pem'], /--ca-cert: cannot read .*nope\.pem: ENOENT/],
    [['--out', 'x', '--ca-cert', 'ca/ca-key.pem', '--ca-key', 'ca/ca.pem'], /--ca-key: .* are not a PEM certificate and its PKCS#8/],
    [['--nodes', 'a'], /--out: is required/],
    [['--out', 'x', '--users', 'a:b:c'], /--users: "a:b:c": one ':'/],
    [['--out', 'x', '--bogus'], /Unknown option '--bogus'/],
    [['--out', 'ca'], /already holds a CA and nothing else was asked for/],
  ];
  for (const [args, re] of bad) {
    const b = await certs(args, dir);
    t.equal(b.code, 2, `${args.join(' ')}: exit 2`);
    t.match(b.stderr, re, `${args.join(' ')}: says why`);
  }
  // A directory with half a CA is not silently given a new one.
  writeFileSync(path.join(dir, 'ca.pem'), readFileSync(path.join(dir, 'ca', 'ca.pem')));
  const half = await certs(['--out', '.', '--nodes', 'n1'], dir);
  t.equal(half.code, 2, 'half a CA: exit 2');
  t.match(half.stderr, /holds ca\.pem but not ca-key\.pem: put it back/);
});

t.test("the README's openssl commands make the same identities", { skip: which('openssl') ? false : 'openssl is not on PATH' }, async (t) => {
  const dir = tempDir(t, 'gantry-openssl-');
  t.equal((await certs(['--out', '.'], dir)).code, 0, 'a CA from gantry certs');
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('### With an existing PKI (openssl)');
  t.ok(at > 0, 'the README has the section');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
  execFileSync('bash', ['-euo', 'pipefail', '-c', block], { cwd: dir, stdio: 'pipe' });
  const ca = cert(path.join(dir, 'ca.pem'));
  t.match(certificateIdentity(readFileSync(path.join(dir, 'node-gpu-01.pem'))), { kind: 'node', name: 'gpu-01' });
  t.match(certificateIdentity(readFileSync(path.join(dir, 'user-alice.pem'))), { kind: 'user', name: 'alice', groups: ['ml', 'research'] });
  for (const n of ['node-gpu-01.pem', 'user-alice.pem']) t.ok(cert(path.join(dir, n)).verify(ca.publicKey), `${n} is signed by the CA`);
  t.equal(mode(path.join(dir, 'user-alice-key.pem')), '600');
});
