/**
 * TLS switched on from config: the agent dials the scheduler over TLS, verifying it against a CA,
 * and proves its node with a node certificate the scheduler verifies (grpc.tls.caFile, client
 * certificates not required: the default).
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCa, issueCert } from '../../shared/certgen/index.js';
import { startAgent, startScheduler, tempDir } from '../harness/cluster.js';

t.test('agent registers over TLS', async (t) => {
  const dir = tempDir(t, 'gantry-tls-');
  const ca = await createCa('gantry-test-ca');
  const server = await issueCert(ca, { kind: 'server', name: 'gantry-scheduler', hosts: ['127.0.0.1', 'localhost'] });
  const node = await issueCert(ca, { kind: 'node', node: 'tls-node' });
  const f = (name: string, text: string): string => {
    writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const caFile = f('ca.crt', ca.cert);

  const sched = await startScheduler(t, {
    secure: true,
    extraArgs: ['--set', `grpc.tls.certFile=${f('server.crt', server.cert)}`, '--set', `grpc.tls.keyFile=${f('server.key', server.key)}`, '--set', `grpc.tls.caFile=${caFile}`],
  });
  // A plaintext agent cannot register...
  await startAgent(t, 'plain-node', sched.address);
  // ...a TLS agent that trusts the CA, with its node certificate, can.
  await startAgent(t, 'tls-node', sched.address, {
    secure: true,
    extraArgs: ['--set', `scheduler.tls.caFile=${caFile}`, '--set', `scheduler.tls.certFile=${f('node.crt', node.cert)}`, '--set', `scheduler.tls.keyFile=${f('node.key', node.key)}`],
  });
  const line = await sched.child.waitForLog('node registered', 15_000);
  t.equal(line.node, 'tls-node', 'the TLS agent registered');
  t.notMatch(sched.child.output(), /"node":"plain-node"/, 'the plaintext agent did not');
});
