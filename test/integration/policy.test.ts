/**
 * Queue policy end to end on real parts (nats-server, scheduler and four agents as child processes,
 * ranks as real processes): preemption of a whole lower-priority gang, EASY backfill by time
 * limits, drain with a deadline, one-by-one replacement of an inference replica, and SLO
 * autoscaling driven by the stand-in inference server's real Prometheus histogram.
 */
import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect } from 'nats';
import { schedulerClient, schedulerCall } from '../../shared/cli/client.js';
import { jobViewFromPb, type JobView } from '../../shared/wire/index.js';
import { freePort, portIsFree } from '../../shared/procs/index.js';
import { parseServiceWindow, type ServiceWindow } from '../../shared/events/index.js';
import { gantryCli as cli, listNodes, ROOT, startAgent, startNats, specSubmitter, startScheduler, tempDir, waitFor } from '../harness/cluster.js';

const INFERENCE_SERVER = path.join(ROOT, 'scripts', 'sim', 'inference-server.mjs');


t.test('queue policy on a four-node cluster', async (t) => {
  const nats = await startNats(t);
  const sched = await startScheduler(t, {
    natsUrl: nats.url,
    lostAfterMs: 3000,
    extraArgs: [
      '--set', 'jobs.cycleIntervalMs=200',
      '--set', 'jobs.requeueInitialMs=200',
      '--set', 'jobs.stopSlackMs=2000',
      '--set', 'queues={default: {}, prod: {priority: 10}}',
      '--set', 'autoscale.windowMs=1500',
      '--set', 'autoscale.upAfterMs=300',
      '--set', 'autoscale.downAfterMs=300',
      '--set', 'autoscale.cooldownMs=800',
      '--set', 'autoscale.minSamples=5',
    ],
  });
  const env = { GANTRY_SCHEDULER_ADDRESS: sched.address };
  // Two leaves of two HGX nodes; agents publish SLO telemetry to NATS.
  for (const [n, leaf] of [['gpu-01', 'leaf-0'], ['gpu-02', 'leaf-0'], ['gpu-03', 'leaf-1'], ['gpu-04', 'leaf-1']] as const) {
    await startAgent(t, n, sched.address, {
      topology: { leaf, spine: 'spine-0' },
      extraArgs: ['--set', 'nats.enabled=true', '--nats-url', nats.url, '--set', 'slo.scrapeIntervalMs=250'],
    });
  }
  await waitFor('four ready nodes', async () => (await listNodes(sched.address)).filter((n) => n.connectivity === 'ready').length === 4);
  const dir = tempDir(t, 'gantry-policy-');
  const submit = specSubmitter(t, dir, env);
  const get = async (id: string): Promise<JobView> => {
    const c = schedulerClient(sched.address);
    try {
      return jobViewFromPb(await schedulerCall(c, 'GetJob', { id }));
    } finally {
      c.close();
    }
  };
  const inState = (id: string, state: string, ms = 20_000) => waitFor(`${id} ${state}`, async () => ((await get(id)).state === state ? get(id) : undefined), ms);
  const cancel = async (...ids: string[]) => {
    for (const id of ids) await cli(['cancel', id], env);
    if (ids.length === 0) return;
    // Cancelled ranks hold their GPUs until the agents report them gone.
    await waitFor('every GPU free again', async () => {
      const r = await cli(['topology', '--json'], env);
      const top = JSON.parse(r.stdout) as { domains: Array<{ level: string; gpusFree: number }> };
      return top.domains.find((d) => d.level === 'cluster')?.gpusFree === 32;
    }, 20_000);
  };
  const sleeper = 'command: ["bash", "-c", "echo GANTRY_CHECKPOINT; exec sleep 600"]\npreemptGraceSeconds: 1\n';

  t.test('a higher-priority gang preempts a whole lower-priority gang, which comes back after', async (t) => {
    const low = await submit('low', `kind: Training\nname: low\nranks: 4\ngpusPerRank: 8\n${sleeper}`);
    await inState(low, 'running');
    const lowEpoch = (await get(low)).epoch;
    const high = await submit('high', `kind: Training\nname: high\nqueue: prod\nranks: 2\ngpusPerRank: 8\ntopology: {required: leaf}\n${sleeper}`);
    const running = await inState(high, 'running');
    t.equal(running.ranks.length, 2, 'the preemptor runs');
    const lowNow = await get(low);
    t.ok(['pending', 'requeued'].includes(lowNow.state), `the whole victim gang left (${lowNow.state})`);
    t.match(lowNow.message, /preempted by high-\d+/, 'it says by whom');
    t.equal(lowNow.attempt, 0, 'a preemption uses no retry');
    await cli(['cancel', high], env);
    const back = await inState(low, 'running');
    t.ok(back.epoch > lowEpoch, 'the victim runs again, in a new epoch');
    await cancel(low);
  });

  t.test('backfill: a short job runs ahead of a blocked gang; a long one waits for it', async (t) => {
    const run = await submit('run', `kind: Training\nname: run\npriority: 900\nranks: 2\ngpusPerRank: 8\ntopology: {required: leaf}\ntimeLimit: 1h\n${sleeper}`);
    await inState(run, 'running');
    const head = await submit('head', `kind: Training\nname: head\nranks: 4\ngpusPerRank: 8\npriority: 500\n${sleeper}`);
    const long = await submit('long', `kind: Training\nname: long\nranks: 1\ngpusPerRank: 8\ntimeLimit: 2h\n${sleeper}`);
    const short = await submit('short', `kind: Training\nname: short\nranks: 1\ngpusPerRank: 8\ntimeLimit: 10m\n${sleeper}`);
    await inState(short, 'running');
    const why = await cli(['job', head], env);
    t.match(why.stdout, /reserved: \d+ GPUs held for it; by the running jobs' time limits it starts by/, 'the head gang holds a reservation');
    t.equal((await get(long)).state, 'pending', 'a job ending after the reservation does not backfill');
    await cancel(run, head, long, short);
  });

  t.test('drain with a deadline stops and requeues the gang still on the node', async (t) => {
    const gang = await submit('gang', `kind: Training\nname: gang\nranks: 4\ngpusPerRank: 8\n${sleeper}`);
    await inState(gang, 'running');
    const d = await cli(['drain', 'gpu-01', '--deadline', '1s'], env);
    t.equal(d.code, 0, d.stderr);
    t.match(d.stdout, /gpu-01 draining/);
    const after = await waitFor('gang requeued by the drain', async () => {
      const j = await get(gang);
      return /gpu-01 was drained/.test(j.message) ? j : undefined;
    });
    t.equal(after.attempt, 0, 'no retry used');
    t.equal((await cli(['drain', 'gpu-01', '--deadline', 'soon'], env)).code, 2, 'a bad deadline exits 2');
    await cli(['uncordon', 'gpu-01'], env);
    await inState(gang, 'running');
    await cancel(gang);
  });

  t.test('an inference replica that dies is replaced alone; the service keeps running', async (t) => {
    const cmd = `while [ ! -f ${dir}/kill-$GANTRY_UNIT-$GANTRY_JOB_EPOCH ]; do sleep 0.1; done; exit 3`;
    const svc = await submit('svc', `kind: Inference\nname: svc\nreplicas: {min: 2, max: 2}\nranks: 1\ngpusPerRank: 8\ncommand: ["bash", "-c", "${cmd}"]\n`);
    const before = await inState(svc, 'running');
    const r1 = before.ranks.find((r) => r.unit === 1)!;
    const r0 = before.ranks.find((r) => r.unit === 0)!;
    writeFileSync(path.join(dir, `kill-1-${before.epoch}`), '');
    const after = await waitFor('replica 1 replaced', async () => {
      const j = await get(svc);
      const n1 = j.ranks.find((r) => r.unit === 1);
      return j.epoch > before.epoch && n1?.state === 'running' ? j : undefined;
    });
    t.equal(after.state, 'running', 'the service stayed running');
    t.equal(after.attempt, 0);
    t.same(after.ranks.find((r) => r.unit === 0), { ...r0, state: 'running' }, 'replica 0 was not touched');
    t.equal(after.ranks.find((r) => r.unit === 1)!.rank, r1.rank, 'the replacement keeps its rank number');
    await cancel(svc);
  });

  t.test('SLO autoscaling: latency above the SLO adds a replica, below it takes one away', async (t) => {
    // Replica i serves on the SLO port + i (GANTRY_SERVICE_PORT); all agents share 127.0.0.1, so both ports must be free.
    let port = await freePort();
    while (!(await portIsFree(port + 1))) port = await freePort();
    const nc = await connect({ servers: nats.url });
    t.teardown(() => nc.close());
    const scaled: string[] = [];
    const sub = nc.subscribe('gantry.events.job.>');
    void (async () => {
      for await (const m of sub) {
        const e = JSON.parse(new TextDecoder().decode(m.data)) as { type: string; message: string };
        if (e.type === 'scaled') scaled.push(e.message);
      }
    })();
    const windows: ServiceWindow[] = [];
    const tsub = nc.subscribe('gantry.telemetry.service.>');
    void (async () => {
      for await (const m of tsub) windows.push(parseServiceWindow(JSON.parse(new TextDecoder().decode(m.data))));
    })();
    const cmd = `exec ${process.execPath} ${INFERENCE_SERVER} --port $GANTRY_SERVICE_PORT --latency-ms 2000 --rate 100`;
    const svc = await submit('auto', `kind: Inference\nname: auto\nreplicas: {min: 1, max: 2}\nranks: 1\ngpusPerRank: 8\nslo: {p99Ms: 1000, metric: "vllm:e2e_request_latency_seconds", port: ${port}}\ncommand: ["bash", "-c", "${cmd}"]\n`);
    const first = await inState(svc, 'running');
    t.equal(new Set(first.ranks.map((r) => r.unit)).size, 1, 'an autoscaled service starts at its minimum');
    const up = await waitFor('scaled up to 2 replicas', async () => {
      const j = await get(svc);
      return new Set(j.ranks.filter((r) => r.state === 'running').map((r) => r.unit)).size === 2 ? j : undefined;
    }, 30_000);
    t.match(up.message, /replica 1 placed|scaled 1 → 2/);
    t.match(scaled.join('\n'), /scaled 1 → 2 replicas: p99 \d+ ms > SLO 1000 ms/, 'the event says why');
    // Each replica is scraped on its own port: replica 0 turns fast, replica 1's windows stay slow.
    await fetch(`http://127.0.0.1:${port}/control?latencyMs=50`);
    const fastAtMs = Date.now();
    const slowP = (w: ServiceWindow): number => w.buckets[w.le.indexOf(1)]! / w.count; // share at ≤ 1 s
    const fast0 = await waitFor('a fast window from replica 0', () => windows.find((w) => w.service === svc && w.replica === 0 && w.startMs >= fastAtMs && w.count > 0), 15_000);
    const slow1 = await waitFor('a window from replica 1 after that', () => windows.find((w) => w.service === svc && w.replica === 1 && w.startMs >= fastAtMs && w.count > 0), 15_000);
    t.equal(slowP(fast0), 1, 'replica 0: every request under 1 s');
    t.equal(slowP(slow1), 0, "replica 1: its own server's 2 s requests, not replica 0's");
    t.not(fast0.node, slow1.node, 'the replicas run on two nodes');
    await fetch(`http://127.0.0.1:${port + 1}/control?latencyMs=50`);
    await waitFor('scaled down to 1 replica', async () => {
      const j = await get(svc);
      return new Set(j.ranks.map((r) => r.unit)).size === 1 ? j : undefined;
    }, 30_000).catch((e: unknown) => {
      t.comment(`scaled events: ${JSON.stringify(scaled)}; scheduler log: ${sched.child.output().split('\n').filter((l) => /autoscal|scale/.test(l)).slice(-10).join('\n')}`);
      throw e;
    });
    t.match(scaled.join('\n'), /scaled 2 → 1 replicas: p99 \d+ ms < /, 'and why it scaled down');
    t.ok(existsSync(INFERENCE_SERVER));
    await cancel(svc);
  });
});
