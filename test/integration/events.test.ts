/**
 * Durable events on real parts: the scheduler writes each event to its LMDB outbox with the state
 * change, so with nats-server down it keeps scheduling, the outbox grows (a metric), a kill -9 of
 * the scheduler loses nothing, and when NATS returns every event reaches JetStream once, in order.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { streamEvents, gantryCli as cli, listNodes, startAgent, startNats, startScheduler, tempDir, waitFor } from '../harness/cluster.js';



async function outboxSize(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const m = /^gantry_scheduler_events_pending (\d+)/m.exec(text);
  return m ? Number(m[1]) : -1;
}

t.test('NATS down: scheduling goes on, the outbox grows, survives a kill -9, and drains in order', async (t) => {
  const nats = await startNats(t);
  const dataDir = tempDir(t, 'gantry-events-sched-');
  const schedArgs = ['--set', 'jobs.cycleIntervalMs=200', '--set', 'jobs.stopSlackMs=1000'];
  let sched = await startScheduler(t, { natsUrl: nats.url, dataDir, extraArgs: schedArgs });
  const grpcPort = sched.grpcPort;
  for (const n of ['ev-01', 'ev-02']) await startAgent(t, n, sched.address, { topology: { leaf: 'leaf-0' } });
  await waitFor('two ready nodes', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 2);
  const env = { GANTRY_SCHEDULER_ADDRESS: sched.address };
  const dir = tempDir(t, 'gantry-events-');
  const submit = async (name: string, ranks: number): Promise<string> => {
    const f = path.join(dir, `${name}.yaml`);
    writeFileSync(f, `kind: Training\nname: ${name}\nranks: ${ranks}\ngpusPerRank: 8\ncommand: ["sleep", "600"]\npreemptGraceSeconds: 1\n`);
    const r = await cli(['submit', f], env);
    t.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split(' ').at(-1)!;
  };
  const a = await submit('before', 1);
  await waitFor('events flowing', async () => (await outboxSize(sched.metricsPort)) === 0 && (await streamEvents(nats.url)).some((e) => e.kind === 'job' && e.job === a && e.type === 'running'));

  // NATS goes away; the scheduler keeps scheduling.
  await nats.child.kill();
  const b = await submit('during', 1);
  await waitFor(`${b} placed without NATS`, async () => {
    const r = await cli(['jobs', '--json'], env);
    return (JSON.parse(r.stdout) as Array<{ id: string; state: string }>).some((j) => j.id === b && j.state === 'running');
  });
  t.equal((await cli(['cordon', 'ev-02', '--reason', 'during the outage'], env)).code, 0);
  t.equal((await cli(['cancel', a], env)).code, 0);
  const grown = await waitFor('the outbox grows', async () => {
    const n = await outboxSize(sched.metricsPort);
    return n >= 5 ? n : undefined;
  });
  t.ok(grown >= 5, `outbox metric ${grown}`);

  // The scheduler crashes with the outbox full; a new one on the same data dir takes over.
  sched.child.proc.kill('SIGKILL');
  await sched.child.exited;
  sched = await startScheduler(t, { natsUrl: nats.url, dataDir, grpcPort, extraArgs: schedArgs });
  t.ok((await outboxSize(sched.metricsPort)) >= grown, 'nothing lost across kill -9');
  const c = await submit('after', 1);

  await nats.restart();
  await waitFor('outbox drained', async () => (await outboxSize(sched.metricsPort)) === 0, 30_000);
  const events = await waitFor('the last job event in the stream', async () => {
    const all = await streamEvents(nats.url);
    return all.some((e) => e.kind === 'job' && e.job === c && e.type === 'submitted') ? all : undefined;
  }, 20_000);
  t.equal(new Set(events.map((e) => e.id)).size, events.length, 'no event twice');
  const types = (job: string) => events.filter((e) => e.kind === 'job' && e.job === job).map((e) => (e as { type: string }).type);
  t.same(types(a), ['submitted', 'placed', 'running', 'cancelled'], `${a}: every transition, in order`);
  t.match(types(b).slice(0, 3), ['submitted', 'placed', 'running'], `${b}: placed and running while NATS was down`);
  t.same(types(c)[0], 'submitted', `${c}: the new scheduler's events follow`);
  const cordon = events.findIndex((e) => e.kind === 'node' && e.node === 'ev-02' && e.type === 'schedulability');
  const cancelled = events.findIndex((e) => e.kind === 'job' && e.job === a && e.type === 'cancelled');
  const bRunning = events.findIndex((e) => e.kind === 'job' && e.job === b && e.type === 'running');
  t.ok(bRunning >= 0 && cordon > bRunning && cancelled > cordon, 'commit order kept across the outage: b running, cordon, cancel');
});
