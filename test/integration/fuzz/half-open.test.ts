/**
 * Connections a protocol error left half-open are freed (issue 18, the fuzz run's memory): after
 * Node's HTTP/2 answers a garbage header block with a GOAWAY it stops reading the socket, so when
 * the client goes, the scheduler's end sat in CLOSE-WAIT with its session until the keepalive ping
 * timed out (30 + 20 s): each fuzz round left about a hundred. grpc.maxConnectionIdleMs closes a
 * connection with no call open; here 1 s, so within 3 s none is left. An idle well-behaved client
 * is closed the same way and reconnects on its next call.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { schedulerCall, schedulerClient } from '../../../shared/cli/client.js';
import { startScheduler, waitFor } from '../../harness/cluster.js';
import { sendHttp2 } from './http2.js';

/** The scheduler's TCP connections on `port` in CLOSE-WAIT (state 08 in /proc/net/tcp{,6}). */
function closeWait(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === '08') n++;
    }
  }
  return n;
}

t.test('half-open connections are closed after grpc.maxConnectionIdleMs', async (t) => {
  const sched = await startScheduler(t, { extraArgs: ['--set', 'grpc.maxConnectionIdleMs=1000'] });
  const outcomes: string[] = [];
  // Variant 8: the preface, SETTINGS, then a HEADERS frame whose HPACK block is garbage; the client
  // closes its socket once it has the GOAWAY.
  for (let i = 0; i < 10; i++) outcomes.push(await sendHttp2({ port: sched.grpcPort }, 8, 100 + i));
  t.same(outcomes, Array(10).fill('GOAWAY'), 'each garbage header block is answered with a GOAWAY');
  const left = closeWait(sched.grpcPort);
  t.comment(`CLOSE-WAIT on the scheduler's port right after: ${left}`);
  await waitFor('no connection left half-open', async () => closeWait(sched.grpcPort) === 0, 3000);
  t.pass('none left within 3 s');

  const c = schedulerClient(sched.address);
  t.teardown(() => c.close());
  await schedulerCall(c, 'ListNodes', {});
  await new Promise((r) => setTimeout(r, 1500));
  t.same((await schedulerCall(c, 'ListNodes', {})).nodes, [], 'an idle client closed meanwhile is served on its next call');
});
