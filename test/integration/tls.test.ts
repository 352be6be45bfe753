/** TLS switched on from config: the agent dials the scheduler over TLS, verifying it against a CA. */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAgent, startScheduler, tempDir, which } from '../harness/cluster.js';

t.test('agent registers over TLS', async (t) => {
  const openssl = which('openssl');
  t.ok(openssl, 'openssl is installed');
  if (!openssl) return;
  const dir = tempDir(t, 'gantry-tls-');
  const f = (n: string): string => path.join(dir, n);
  const ssl = (...args: string[]): void => void execFileSync(openssl, args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=gantry-test-ca', '-keyout', f('ca.key'), '-out', f('ca.crt'));
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=gantry-scheduler', '-keyout', f('server.key'), '-out', f('server.csr'));
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('server.crt'));

  const sched = await startScheduler(t, {
    extraArgs: ['--set', 'grpc.tls.enabled=true', '--set', `grpc.tls.certFile=${f('server.crt')}`, '--set', `grpc.tls.keyFile=${f('server.key')}`],
  });
  // A plaintext agent cannot register...
  await startAgent(t, 'plain-node', sched.address);
  // ...a TLS agent that trusts the CA can.
  await startAgent(t, 'tls-node', sched.address, {
    extraArgs: ['--set', 'scheduler.tls.enabled=true', '--set', `scheduler.tls.caFile=${f('ca.crt')}`],
  });
  const line = await sched.child.waitForLog('node registered', 15_000);
  t.equal(line.node, 'tls-node', 'the TLS agent registered');
  t.notMatch(sched.child.output(), /"node":"plain-node"/, 'the plaintext agent did not');
});
