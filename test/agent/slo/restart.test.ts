/**
 * SLO scraping survives an agent restart, on real parts: a real scheduler and nats-server, the
 * agent as a child process, an inference rank running the stand-in server. The agent is stopped
 * (its rank lives on) and started again on the same state dir; the adopted rank is scraped again
 * from its spec.json, with no new StartTask from the scheduler.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect } from 'nats';
import { schedulerClient, schedulerCall } from '../../../shared/cli/client.js';
import { parseServiceWindow, type ServiceWindow } from '../../../shared/events/index.js';
import { freePort } from '../../../shared/procs/index.js';
import { jobViewFromPb, type JobView } from '../../../shared/wire/index.js';
import { gantryCli as cli, ROOT, startAgent, startNats, startScheduler, tempDir, waitFor } from '../../harness/cluster.js';

const SERVER = path.join(ROOT, 'scripts', 'sim', 'inference-server.mjs');


t.test('a restarted agent scrapes the inference rank it adopted', async (t) => {
  const nats = await startNats(t);
  const sched = await startScheduler(t, { natsUrl: nats.url, lostAfterMs: 60_000, extraArgs: ['--set', 'jobs.cycleIntervalMs=200', '--set', 'autoscale.enabled=false'] });
  const agentArgs = ['--set', 'nats.enabled=true', '--nats-url', nats.url, '--set', 'slo.scrapeIntervalMs=200'];
  const first = await startAgent(t, 'gpu-01', sched.address, { extraArgs: agentArgs });

  const sub = await connect({ servers: nats.url });
  t.teardown(() => sub.close());
  const windows: ServiceWindow[] = [];
  void (async () => {
    for await (const m of sub.subscribe('gantry.telemetry.service.>')) windows.push(parseServiceWindow(JSON.parse(new TextDecoder().decode(m.data))));
  })();
  await sub.flush();

  const port = await freePort();
  const dir = tempDir(t, 'gantry-slo-restart-');
  const file = path.join(dir, 'svc.yaml');
  const cmd = `exec ${process.execPath} ${SERVER} --port $GANTRY_SERVICE_PORT --latency-ms 300 --rate 50`;
  writeFileSync(file, `kind: Inference\nname: svc\nranks: 1\ngpusPerRank: 8\nslo: {p99Ms: 1000, metric: "vllm:e2e_request_latency_seconds", port: ${port}}\ncommand: ["bash", "-c", "${cmd}"]\n`);
  const r = await cli(['submit', file], { GANTRY_SCHEDULER_ADDRESS: sched.address });
  t.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim().split(' ').at(-1)!;
  const get = async (): Promise<JobView> => {
    const c = schedulerClient(sched.address);
    try {
      return jobViewFromPb(await schedulerCall(c, 'GetJob', { id }));
    } finally {
      c.close();
    }
  };
  const running = await waitFor('the service running', async () => ((await get()).state === 'running' ? get() : undefined), 30_000);
  await waitFor('a window from the first agent', () => windows.find((w) => w.jobId === id && w.count > 0), 20_000);

  // Stop the agent (the rank lives on), then start it again on the same state dir.
  await first.child.kill();
  const restartedAtMs = Date.now();
  await startAgent(t, 'gpu-01', sched.address, { stateDir: first.stateDir, extraArgs: agentArgs });
  const again = await waitFor('a window scraped by the restarted agent', () => windows.find((w) => w.jobId === id && w.startMs >= restartedAtMs && w.count > 0), 20_000);
  t.match(again, { service: id, node: 'gpu-01', epoch: running.epoch, rank: 0, replica: 0 }, 'the same task, same replica');
  const after = await get();
  t.equal(after.epoch, running.epoch, 'the job was not restarted (no new epoch, no new StartTask)');
});
