/**
 * systemd notify and watchdog on the real daemons (built CLI, child processes): each runs with
 * NOTIFY_SOCKET pointed at a datagram socket this test owns (test/harness/notify-listener.py) and
 * WATCHDOG_USEC=400000, and sends READY=1 (the scheduler once it serves; the agent after its first
 * report), WATCHDOG=1 every 200 ms, and STOPPING=1 at SIGTERM, then exits 0.
 */
import t from 'tap';
import { startAgent, startScheduler, listNodes, waitFor } from '../harness/cluster.js';
import { startNotifyListener } from '../harness/notify.js';

const WATCHDOG_USEC = '400000';

t.test('scheduler: READY=1 once it serves, periodic WATCHDOG=1, STOPPING=1 on SIGTERM', async (t) => {
  const listener = await startNotifyListener(t);
  const sched = await startScheduler(t, { env: { NOTIFY_SOCKET: listener.socket, WATCHDOG_USEC } });
  const [ready] = await listener.waitFor('READY=1');
  t.ok(ready, 'READY=1');
  t.ok(listener.messages.some((m) => /^STATUS=serving gRPC on port \d+$/.test(m.msg)), 'with a STATUS line');
  // Not before it serves: the "scheduler running" log (after the gRPC server is up) came first; and a call is answered.
  t.ok(sched.child.output().includes('"scheduler running"'), 'logged running');
  t.same(await listNodes(sched.address), [], 'serving');
  const readyAt = ready!.atMs;
  const pings = await listener.waitFor('WATCHDOG=1', 5);
  t.ok(pings.filter((m) => m.atMs > readyAt).length >= 3, 'pings go on after READY=1');
  t.equal(listener.count('READY=1'), 1, 'READY=1 once');
  if (process.getuid?.() === 0) t.ok(listener.messages.every((m) => m.pid === sched.child.proc.pid), "as root each message carries the scheduler's own pid (NotifyAccess=main)");
  const code = await sched.child.stop(20_000);
  t.equal(code, 0, 'exit 0 on SIGTERM');
  t.equal(listener.count('STOPPING=1'), 1, 'STOPPING=1');
  const stopAt = listener.messages.find((m) => m.msg === 'STOPPING=1')!.atMs;
  t.notOk(listener.messages.some((m) => m.msg === 'WATCHDOG=1' && m.atMs > stopAt), 'no ping after STOPPING=1');
});

t.test('agent (an @abstract NOTIFY_SOCKET): READY=1 after its registration, WATCHDOG=1, STOPPING=1 on SIGTERM', async (t) => {
  const sched = await startScheduler(t);
  const listener = await startNotifyListener(t, { abstract: true });
  const agent = await startAgent(t, 'notify-a', sched.address, { env: { NOTIFY_SOCKET: listener.socket, WATCHDOG_USEC } });
  await listener.waitFor('READY=1');
  t.ok(listener.messages.some((m) => m.msg.startsWith('STATUS=registered with the scheduler')), 'READY after the registration (its first report)');
  await waitFor('the node is ready', async () => (await listNodes(sched.address)).some((n) => n.name === 'notify-a' && n.connectivity === 'ready'));
  await listener.waitFor('WATCHDOG=1', 5);
  t.equal(await agent.child.stop(20_000), 0, 'exit 0 on SIGTERM');
  t.equal(listener.count('STOPPING=1'), 1, 'STOPPING=1');
  t.equal(listener.count('READY=1'), 1, 'READY=1 once');
});

t.test('agent with no scheduler to reach: READY=1 all the same once its first report fails, and it keeps retrying', async (t) => {
  const listener = await startNotifyListener(t);
  const agent = await startAgent(t, 'notify-b', '127.0.0.1:1', { env: { NOTIFY_SOCKET: listener.socket, WATCHDOG_USEC } });
  await listener.waitFor('READY=1');
  t.ok(listener.messages.some((m) => m.msg.startsWith('STATUS=cannot reach the scheduler at 127.0.0.1:1')), 'its STATUS says why');
  await listener.waitFor('WATCHDOG=1', 3);
  t.equal(await agent.child.stop(20_000), 0);
  t.equal(listener.count('STOPPING=1'), 1);
});
