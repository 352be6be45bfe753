/**
 * `gantry demo`: a whole cluster on one machine. Starts nats-server (from PATH, JetStream on), a
 * scheduler on a temporary data dir, and simulated agents whose nvidia-smi is the stand-in serving
 * real captures (fixtures/nvidia). Ctrl-C stops everything and removes the temporary directory.
 * `--ha`: a high-availability control plane instead (cli/demo-ha.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, gantryEntry, packageRoot, portIsFree, stopProcessesMentioning, startChild, waitForPort, type Child } from '../shared/procs/index.js';
import { nodeFromPb } from '../shared/wire/index.js';
import { EXIT_FAILURE, EXIT_USAGE, type CliIO, type Command } from '../shared/cli/command.js';
import { connectScheduler, type Scheduler } from '../shared/cli/client.js';
import { DEMO_ADMIN, DEMO_USER, demoAgentArgs, demoCliEnv, demoSchedulerArgs, exportLine, makeDemoIdentity, type DemoIdentity } from './demo-identity.js';
import { nodesTable } from '../shared/cli/nodes.js';
import { jobsTable, jobText } from '../shared/cli/job-format.js';
import { jobViewFromPb, type JobView } from '../shared/wire/index.js';
import { readFileSync } from 'node:fs';
import { findBinary } from '../agent/main.js';
import { runHaDemo } from './demo-ha.js';

interface SimNode {
  name: string;
  capture: string;
  topo: string;
  topology: Record<string, string>;
  clusterUuid?: string;
  cliqueId?: number;
}

/** The demo cluster: HGX H100 servers under two leaf switches, and GB200 trays in one NVLink domain. */
export function demoNodes(count: number): SimNode[] {
  const fx = path.join(packageRoot(), 'fixtures', 'nvidia');
  const out: SimNode[] = [];
  for (let i = 0; i < count; i++) {
    const gb200 = i >= count - Math.floor(count / 4); // the last quarter are GB200 trays
    out.push(
      gb200
        ? {
            name: `gb200-${String(i).padStart(2, '0')}`,
            capture: path.join(fx, 'qx-gb200.xml'),
            topo: path.join(fx, 'derived', 'topo-m-gb200x4.txt'),
            topology: { leaf: 'leaf-nvl', spine: 'spine-0' },
            clusterUuid: '6d1c7a52-1f3e-4b9a-9c2e-0a7d5e3b8f21',
            cliqueId: 1,
          }
        : {
            name: `hgx-${String(i).padStart(2, '0')}`,
            capture: path.join(fx, 'qx-h100.xml'),
            topo: path.join(fx, 'derived', 'topo-m-h100x8.txt'),
            topology: { leaf: `leaf-${Math.floor(i / 4)}`, spine: 'spine-0' },
          },
    );
  }
  return out;
}

/** A client of the demo's scheduler as alice (her token) or the demo's admin (its certificate), through the CLI's own connection code. */
function demoClient(id: DemoIdentity, address: string, as: 'user' | 'admin', io: CliIO): Scheduler {
  // Only the demo's settings: not the GANTRY_* variables or the contexts of whoever runs it.
  return connectScheduler({}, { ...io, env: { HOME: io.env.HOME, PATH: io.env.PATH, GANTRY_CONFIG_FILE: '/dev/null', ...demoCliEnv(id, address, as) } });
}

/** Cancels every job that is not finished (as the demo's admin), then waits (briefly) for their ranks to exit. */
async function cancelAll(client: Scheduler): Promise<void> {
  try {
    const res = await client.call('ListJobs', {}, 3000);
    const live = res.jobs.filter((j) => !['succeeded', 'failed', 'cancelled', 'timeout'].includes(j.state));
    for (const j of live) await client.call('CancelJob', { id: j.id, reason: 'demo stopping' }, 3000).catch(() => undefined);
    if (live.length > 0) await new Promise((r) => setTimeout(r, 2500));
  } finally {
    client.close();
  }
}

async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(children.map((c) => c.stop(5000)));
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run a whole cluster on this machine: nats-server, scheduler, simulated agents',
  async run(argv, io: CliIO) {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          agents: { type: 'string', default: '8' },
          'grpc-port': { type: 'string' },
          'duration-s': { type: 'string' },
          'no-jobs': { type: 'boolean' },
          ha: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
      }));
    } catch (e) {
      io.stderr(`gantry demo: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
    if (values.help) {
      io.stdout('usage: gantry demo [--agents N (default 8)] [--grpc-port P (default 7070, or a free port)] [--duration-s S (stop after S seconds)] [--no-jobs]\n       gantry demo --ha [--duration-s S]   (3 clustered nats-servers, 2 schedulers: kill the leader, watch the other take over)\n');
      return 0;
    }
    const agents = Number(values.agents);
    if (!Number.isInteger(agents) || agents < 1 || agents > 64) {
      io.stderr('gantry demo: --agents must be an integer from 1 to 64\n');
      return EXIT_USAGE;
    }
    const duration = values['duration-s'] === undefined ? undefined : Number(values['duration-s']);
    if (duration !== undefined && !(duration > 0)) {
      io.stderr('gantry demo: --duration-s must be a positive number\n');
      return EXIT_USAGE;
    }
    const natsBin = findBinary('nats-server', io.env.PATH);
    if (!natsBin) {
      io.stderr('gantry demo: nats-server is not on PATH (Debian/Ubuntu: apt-get install nats-server; or run scripts/demo.sh, which installs it)\n');
      return EXIT_FAILURE;
    }
    if (values.ha) {
      let stop!: () => void;
      const done = new Promise<void>((r) => (stop = r));
      const onStop = (): void => stop();
      process.on('SIGINT', onStop);
      process.on('SIGTERM', onStop);
      try {
        return await runHaDemo({ natsBin, durationS: duration, done }, io);
      } finally {
        process.off('SIGINT', onStop);
        process.off('SIGTERM', onStop);
      }
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-demo-'));
    const children: Child[] = [];
    let stopping = false;
    let grpcAddress = '';
    let identity: DemoIdentity | undefined;
    const cleanup = async (): Promise<void> => {
      if (stopping) return;
      stopping = true;
      io.stdout('\nstopping the demo...\n');
      // Ranks run under detached supervisors that outlive agents by design: cancel the jobs first...
      if (grpcAddress && identity) await cancelAll(demoClient(identity, grpcAddress, 'admin', io)).catch(() => undefined);
      await stopAll([...children].reverse());
      // ...and stop any supervisor still running under the demo's directory (it takes its rank with it).
      await stopProcessesMentioning(dir);
      rmSync(dir, { recursive: true, force: true });
      io.stdout('demo stopped; no process left behind.\n');
    };
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const onSignal = (): void => resolveDone();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      // Identities first: the scheduler serves TLS, agents prove their nodes, the CLI brings a token or a certificate.
      const id = await makeDemoIdentity(path.join(dir, 'pki'), demoNodes(agents).map((n) => n.name), Date.now());
      identity = id;
      const natsPort = await freePort();
      const nats = startChild('nats-server', natsBin, ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', path.join(dir, 'nats')]);
      children.push(nats);
      await waitForPort(natsPort, 10_000);
      const natsUrl = `nats://127.0.0.1:${natsPort}`;

      let grpcPort = values['grpc-port'] ? Number(values['grpc-port']) : 7070;
      if (!values['grpc-port'] && !(await portIsFree(7070))) grpcPort = await freePort();
      const metricsPort = await freePort();
      const entry = gantryEntry();
      const logEnv = { ...io.env, GANTRY_LOG_FORMAT: 'json' };
      const scheduler = startChild(
        'scheduler',
        process.execPath,
        [
          entry, 'scheduler',
          '--data-dir', path.join(dir, 'scheduler'),
          '--grpc-listen', `127.0.0.1:${grpcPort}`,
          '--metrics-listen', `127.0.0.1:${metricsPort}`,
          '--nats-url', natsUrl,
          '--lost-after-ms', '5000',
          '--report-interval-ms', '1000',
          ...demoSchedulerArgs(id),
        ],
        { env: logEnv },
      );
      children.push(scheduler);
      await scheduler.waitForLog('scheduler running', 20_000);
      const address = `127.0.0.1:${grpcPort}`;
      grpcAddress = address;
      const sim = path.join(packageRoot(), 'scripts', 'sim', 'nvidia-smi');
      const agentMetrics: Array<[string, number]> = [];
      for (const n of demoNodes(agents)) {
        const port = await freePort();
        agentMetrics.push([n.name, port]);
        const env: NodeJS.ProcessEnv = {
          ...logEnv,
          GANTRY_SIM_NVIDIA_XML: n.capture,
          GANTRY_SIM_NVIDIA_TOPO: n.topo,
          GANTRY_SIM_NODE: n.name,
          ...(n.clusterUuid ? { GANTRY_SIM_CLUSTER_UUID: n.clusterUuid, GANTRY_SIM_CLIQUE_ID: String(n.cliqueId ?? 0) } : {}),
        };
        const args = [
          entry, 'agent',
          '--node-name', n.name,
          '--scheduler', address,
          '--nvidia-smi', sim,
          '--metrics-listen', `127.0.0.1:${port}`,
          '--collect-interval-ms', '5000',
          '--set', 'collectors.kernelLog.enabled=false',
          '--set', 'collectors.host.enabled=false',
          '--set', 'collectors.infiniband.enabled=false',
          '--address', '127.0.0.1',
          '--state-dir', path.join(dir, 'agents', n.name),
          // Ranks run as the demo's own user; as root only because the demo itself runs as root.
          // Ranks run as the demo's account (nobody when the demo runs as root), never as root.
          ...demoAgentArgs(id, n.name),
          ...Object.entries(n.topology).flatMap(([level, domain]) => ['--set', `topology.${level}=${domain}`]),
        ];
        children.push(startChild(`agent ${n.name}`, process.execPath, args, { env }));
      }
      let failed = false;
      for (const c of children) {
        void c.exited.then((code) => {
          if (!stopping) {
            io.stderr(`gantry demo: ${c.name} exited unexpectedly (${code}); stopping\n${c.output().slice(-1500)}\n`);
            failed = true;
            resolveDone();
          }
        });
      }
      // Wait until every simulated node has registered.
      const client = demoClient(id, address, 'admin', io);
      const deadline = Date.now() + 60_000;
      let ready = 0;
      let table = '';
      while (Date.now() < deadline && !failed) {
        try {
          const res = await client.call('ListNodes', {});
          const nodes = res.nodes.map(nodeFromPb);
          ready = nodes.filter((x) => x.connectivity === 'ready').length;
          table = nodesTable(nodes, Date.now());
          if (ready >= agents) break;
        } catch {
          // the scheduler is still starting
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      if (ready < agents) {
        client.close();
        if (!failed) io.stderr(`gantry demo: only ${ready} of ${agents} agents registered within 60 s\n`);
        await cleanup();
        return EXIT_FAILURE;
      }
      // Sample jobs: a training gang, an inference service and a batch of shards.
      let jobsText = '';
      if (!values['no-jobs']) {
        const examples = path.join(packageRoot(), 'examples', 'jobs');
        const ids: string[] = [];
        // Submitted as alice, with her token: her jobs, run as the demo's account.
        const alice = demoClient(id, address, 'user', io);
        for (const f of ['train.yaml', 'serve.yaml', 'batch.yaml']) {
          try {
            const spec = readFileSync(path.join(examples, f), 'utf8');
            ids.push(jobViewFromPb(await alice.call('SubmitJob', { spec, owner: '' })).id);
          } catch (e) {
            jobsText += `(${f} was not accepted: ${(e as Error).message})\n`;
          }
        }
        let views: JobView[] = [];
        const until = Date.now() + 20_000;
        while (Date.now() < until) {
          views = [];
          for (const jobId of ids) views.push(jobViewFromPb(await alice.call('GetJob', { id: jobId })));
          if (views.every((v) => v.state === 'running' || v.state === 'succeeded' || v.state === 'failed')) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        alice.close();
        jobsText += jobsTable(views, Date.now()) + '\n' + views.map((v) => jobText(v, undefined)).join('\n');
      }
      client.close();
      io.stdout(
        [
          `Gantry demo is running: ${agents} simulated GPU nodes.`,
          '',
          table,
          ...(jobsText ? ['Sample jobs (examples/jobs), placed by topology:', '', jobsText] : []),
          `In another terminal, be ${DEMO_USER} (a user in group ml, by a bearer token; her jobs run as ${id.account}):`,
          `  ${exportLine(demoCliEnv(id, address, 'user'))}`,
          `or the demo's admin (${DEMO_ADMIN}, by a client certificate: every job, every node):`,
          `  ${exportLine(demoCliEnv(id, address, 'admin'))}`,
          'then try:',
          `  node ${path.relative(io.cwd, entry) || entry} whoami`,
          `  node ${path.relative(io.cwd, entry) || entry} nodes`,
          `  node ${path.relative(io.cwd, entry) || entry} jobs`,
          `  node ${path.relative(io.cwd, entry) || entry} job llm-pretrain-1`,
          `  node ${path.relative(io.cwd, entry) || entry} submit examples/jobs/train.yaml   # a second gang: see why it waits`,
          `  node ${path.relative(io.cwd, entry) || entry} cordon ${agentMetrics[0]![0]}   # as ${DEMO_USER}: PERMISSION_DENIED (nodes.manage); as the admin: done`,
          `  curl -s http://127.0.0.1:${metricsPort}/metrics | grep ^gantry_scheduler_nodes`,
          `  curl -s http://127.0.0.1:${agentMetrics[0]![1]}/metrics | grep ^gantry_agent_gpu_temperature   # ${agentMetrics[0]![0]}`,
          '',
          `scheduler gRPC  ${address}, TLS (reflection on: grpcurl -cacert ${id.caFile} ${address} list)`,
          `credentials     ${id.dir} (CA, node and admin certificates, ${DEMO_USER}'s token)`,
          `scheduler /metrics http://127.0.0.1:${metricsPort}/metrics`,
          `NATS            ${natsUrl} (events on gantry.events.>, stream GANTRY_EVENTS)`,
          `data            ${dir}`,
          '',
          duration ? `Stopping by itself after ${duration} s (or press Ctrl-C).` : 'Press Ctrl-C to stop everything.',
          '',
        ].join('\n'),
      );
      const timer = duration ? setTimeout(resolveDone, duration * 1000) : undefined;
      await done;
      if (timer) clearTimeout(timer);
      await cleanup();
      return 0;
    } catch (e) {
      io.stderr(`gantry demo: ${(e as Error).message}\n`);
      await cleanup();
      return EXIT_FAILURE;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
