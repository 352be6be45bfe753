/** TLS switched on from config: the agent dials the scheduler over TLS, verifying it against a CA. */
import t from 'tap';
import { makeTestCerts, startAgent, startScheduler } from '../harness/cluster.js';

t.test('agent registers over TLS', async (t) => {
  const c = makeTestCerts(t);

  const sched = await startScheduler(t, {
    secure: true,
    extraArgs: ['--set', `grpc.tls.certFile=${c.cert}`, '--set', `grpc.tls.keyFile=${c.key}`],
  });
  // A plaintext agent cannot register...
  await startAgent(t, 'plain-node', sched.address);
  // ...a TLS agent that trusts the CA can.
  await startAgent(t, 'tls-node', sched.address, {
    secure: true,
    extraArgs: ['--set', `scheduler.tls.caFile=${c.ca}`],
  });
  const line = await sched.child.waitForLog('node registered', 15_000);
  t.equal(line.node, 'tls-node', 'the TLS agent registered');
  t.notMatch(sched.child.output(), /"node":"plain-node"/, 'the plaintext agent did not');
});
