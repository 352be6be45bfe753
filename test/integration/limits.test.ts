/**
 * Hostile input through the real API (issue 18, limits): a deeply nested spec, a 1 MB owner,
 * control characters, 60,000 env keys, too many ranks and an oversized message are refused with the
 * right status and field, nothing is stored, and a connected agent's node stays ready throughout;
 * the per-caller rate limit trips with RESOURCE_EXHAUSTED and a retry hint, and recovers.
 */
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { schedulerCall, schedulerClient } from '../../shared/cli/client.js';
import { gantryCli, httpGet, listNodes, startAgent, startScheduler, waitFor } from '../harness/cluster.js';
import { jobYaml } from '../builders/job.js';

type Failure = grpc.ServiceError;

async function refused(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (e) {
    return e as Failure;
  }
  throw new Error('the call succeeded; a refusal was expected');
}

t.test('input limits', async (t) => {
  const sched = await startScheduler(t, { lostAfterMs: 3000, extraArgs: [
      ...['--set', 'jobs.maxRanksPerJob=4', '--set', 'grpc.maxReceiveMessageBytes=2097152'],
      ...['--set', 'jobs.maxEnvVars=16', '--set', 'jobs.maxEnvValueBytes=64', '--set', 'jobs.maxCommandArgs=3', '--set', 'jobs.maxCommandArgBytes=64'],
    ],
  });
  await startAgent(t, 'lim-0', sched.address, { topology: { leaf: 'leaf-0', spine: 'spine-0' } });
  await waitFor('lim-0 ready', async () => (await listNodes(sched.address)).some((n) => n.name === 'lim-0' && n.connectivity === 'ready'));
  const c = schedulerClient(sched.address);
  t.teardown(() => c.close());
  const submit = (spec: string, owner = '') => schedulerCall(c, 'SubmitJob', { spec, owner }, 60_000);
  const invalid = async (p: Promise<unknown>, field: RegExp, what: string): Promise<void> => {
    const e = await refused(p);
    t.equal(e.code, grpc.status.INVALID_ARGUMENT, `${what}: INVALID_ARGUMENT`);
    t.match(e.details, field, `${what}: ${e.details.slice(0, 120)}`);
  };

  t.test('twenty 800 KB nested specs at once are refused fast, and the node stays ready', async (t) => {
    const nested = '['.repeat(400_000) + ']'.repeat(400_000);
    const t0 = performance.now();
    let slowestListNodesMs = 0;
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const s = performance.now();
        await listNodes(sched.address);
        slowestListNodesMs = Math.max(slowestListNodesMs, performance.now() - s);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const errors = await Promise.all(Array.from({ length: 20 }, () => refused(submit(nested))));
    const totalMs = performance.now() - t0;
    probing = false;
    await probe;
    for (const e of errors) t.equal(e.code, grpc.status.INVALID_ARGUMENT);
    t.match(errors[0]!.details, /nests deeper than 64 levels; it is refused before parsing/);
    // Reported, not asserted (a loaded 2-core machine): before this change, 20 took 49 s and ListNodes up to 22 s.
    t.comment(`20 nested 800 KB specs refused in ${totalMs.toFixed(0)} ms together; slowest ListNodes meanwhile ${slowestListNodesMs.toFixed(0)} ms`);
    t.equal((await listNodes(sched.address)).find((n) => n.name === 'lim-0')?.connectivity, 'ready', 'the node was never lost');
  });

  t.test('free-form request fields', async (t) => {
    const ok = jobYaml({ name: 'owned', command: ['true'], gpusPerRank: 1 });
    await invalid(submit(ok, 'o'.repeat(1024 * 1024)), /^owner: is longer than 253 bytes/, 'a 1 MB owner');
    await invalid(submit(ok, 'eve\nstate: succeeded'), /^owner: must not contain control characters \(found U\+000A/, 'a newline in the owner');
    await invalid(submit(ok, 'eve\u0000'), /^owner: .*U\+0000/, 'a NUL in the owner');
    await invalid(submit(ok, '\u001b[31meve'), /^owner: .*U\+001B/, 'an ANSI escape in the owner');
    await invalid(schedulerCall(c, 'CancelJob', { id: 'x', reason: 'r'.repeat(2000) }), /^reason: is longer than 1024 bytes/, 'a 2 KB cancel reason');
    await invalid(schedulerCall(c, 'ListJobs', { state: '', queue: '', owner: 'a\u001bb' }), /^owner: /, 'a control character in a filter');
  });

  t.test('the spec: env, ranks', async (t) => {
    const env = Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`K${i}`, 'v']));
    let t0 = performance.now();
    await invalid(submit(jobYaml({ name: 'env', command: ['true'], env })), /^job spec holds more than 20000 YAML nodes/, '60,000 env keys in YAML');
    t.comment(`60,000 env keys in YAML refused in ${(performance.now() - t0).toFixed(0)} ms (before: accepted, after about 40 s of the scheduler's CPU)`);
    t0 = performance.now();
    await invalid(submit(JSON.stringify({ kind: 'Training', name: 'env', command: ['true'], env })), /^env: has 60000 variables; the limit is 16/, '60,000 env keys in JSON (jobs.maxEnvVars 16)');
    t.comment(`60,000 env keys in JSON refused in ${(performance.now() - t0).toFixed(0)} ms`);
    await invalid(submit(jobYaml({ name: 'big', command: ['true'], ranks: 5 })), /^ranks: is 5; this scheduler takes at most 4 ranks per job/, '5 ranks (jobs.maxRanksPerJob 4)');
  });

  t.test('an oversized message gets RESOURCE_EXHAUSTED unread', async (t) => {
    const e = await refused(submit('x'.repeat(3 * 1024 * 1024)));
    t.equal(e.code, grpc.status.RESOURCE_EXHAUSTED, `3 MiB over grpc.maxReceiveMessageBytes 2 MiB: ${e.details}`);
  });

  t.test('nothing refused was stored; a good job still goes in', async (t) => {
    t.same((await schedulerCall(c, 'ListJobs', { state: '', queue: '', owner: '' })).jobs, [], 'no job');
    const job = await submit(jobYaml({ name: 'fine', command: ['true'], ranks: 4, gpusPerRank: 1 }));
    t.match(job.id, /^fine-/, 'a spec within every limit is accepted');
  });

  t.test("the bounds of env and command are the config keys' (jobs.maxEnvVars 16, maxEnvValueBytes 64, maxCommandArgs 3, maxCommandArgBytes 64)", async (t) => {
    const before = (await schedulerCall(c, 'ListJobs', { state: '', queue: '', owner: '' })).jobs.length;
    const env = (n: number, value = 'v'): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`K${i}`, value]));
    await invalid(submit(jobYaml({ name: 'e', command: ['true'], env: env(17) })), /^env: has 17 variables; the limit is 16$/, '17 variables');
    await invalid(submit(jobYaml({ name: 'e', command: ['true'], env: env(1, 'x'.repeat(65)) })), /^env\.K0: is 65 bytes; the limit is 64$/, 'a 65-byte value');
    await invalid(submit(jobYaml({ name: 'c', command: ['a', 'b', 'c', 'd'] })), /^command: has 4 arguments; the limit is 3$/, '4 arguments');
    await invalid(submit(jobYaml({ name: 'c', command: ['a', 'y'.repeat(65)] })), /^command\[1\]: is 65 bytes; the limit is 64$/, 'a 65-byte argument');
    t.equal((await schedulerCall(c, 'ListJobs', { state: '', queue: '', owner: '' })).jobs.length, before, 'none of them stored');
    const atLimit = await submit(jobYaml({ name: 'at-limit', command: ['a', 'b', 'z'.repeat(64)], env: env(16, 'x'.repeat(64)) }));
    t.match(atLimit.id, /^at-limit-/, 'at every limit: accepted');
  });

  t.test('one ReadLogs answers at most 1 MiB, whatever it asks for: a chunk must fit the message limits', async (t) => {
    const spec = 'kind: Training\nname: chatty\nranks: 1\ngpusPerRank: 1\ncommand: ["/bin/sh", "-c", "head -c 3000000 /dev/zero | tr \'\\\\0\' x"]\n';
    const id = String((await submit(spec)).id);
    await waitFor('chatty finished', async () => (await schedulerCall(c, 'GetJob', { id })).state === 'succeeded', 30_000);
    const first = await schedulerCall(c, 'ReadLogs', { jobId: id, rank: 0, offset: 0, maxBytes: 4 * 1024 * 1024 });
    t.equal(first.data.length, 1024 * 1024, 'asked for 4 MiB: 1 MiB (under this scheduler\'s 2 MiB grpc.maxReceiveMessageBytes)');
    t.notOk(first.eof, 'more to read');
    let offset = Number(first.nextOffset);
    let total = first.data.length;
    for (let i = 0; i < 5 && total < 3_000_000; i++) {
      const next = await schedulerCall(c, 'ReadLogs', { jobId: id, rank: 0, offset, maxBytes: 4 * 1024 * 1024 });
      total += next.data.length;
      offset = Number(next.nextOffset);
    }
    t.equal(total, 3_000_000, 'following next_offset reads all 3,000,000 bytes');
  });
});

t.test('the per-caller rate limit trips and recovers', async (t) => {
  const sched = await startScheduler(t, { extraArgs: ['--set', 'grpc.rateLimit.requestsPerSecond=2', '--set', 'grpc.rateLimit.burst=3'] });
  const c = schedulerClient(sched.address);
  t.teardown(() => c.close());
  const list = () => schedulerCall(c, 'ListNodes', {});
  for (let i = 0; i < 3; i++) await list();
  const e = await refused(list());
  t.equal(e.code, grpc.status.RESOURCE_EXHAUSTED, 'the 4th call of the burst: RESOURCE_EXHAUSTED');
  t.match(e.details, /anonymous .* is over its request rate \(grpc\.rateLimit\); retry after \d+ ms/);
  const retryAfterMs = Number(e.metadata.get('retry-after-ms')[0]);
  t.ok(retryAfterMs > 0 && retryAfterMs <= 500, `retry-after-ms ${retryAfterMs} (one token at 2 per second)`);
  t.equal(e.metadata.get('gantry-code')[0], 'RESOURCE_EXHAUSTED');
  await new Promise((r) => setTimeout(r, retryAfterMs + 50));
  t.ok(await list(), 'after the hinted wait the call is served');
  const metrics = await httpGet(`http://127.0.0.1:${sched.metricsPort}/metrics`);
  t.match(metrics, /gantry_scheduler_rate_limited_total\{action="ListNodes"\} [1-9]/, 'the refusal is counted');
});

t.test('the CLI waits as the rate limit asks, and is served', async (t) => {
  // One token every 4 s: a CLI started right after the bucket is emptied finds it empty.
  const sched = await startScheduler(t, { extraArgs: ['--set', 'grpc.rateLimit.requestsPerSecond=0.25', '--set', 'grpc.rateLimit.burst=1'] });
  const c = schedulerClient(sched.address);
  t.teardown(() => c.close());
  await schedulerCall(c, 'ListNodes', {});
  const r = await gantryCli(['nodes', '--verbose', '--scheduler', sched.address]);
  t.equal(r.code, 0, 'gantry nodes over the rate: served after the wait');
  t.match(r.stderr, /the scheduler asks to retry after \d+ ms \(rate limit\); waiting/, 'and says it waited');
});
