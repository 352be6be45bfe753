/**
 * A fleet of simulated agents in one process, for the jobs benchmark (bench/jobs.ts):
 * `node dist/bench/fleet.js <plan.json>`. Each agent is the real daemon from agent/main.ts with
 * its own config, state directory, gRPC stream to the scheduler, metrics registry (and /metrics
 * server on an ephemeral loopback port) and TaskRunner, whose ranks run under the real per-rank
 * supervisor process. The GPU collector runs a per-node executable that serves a real capture
 * (fixtures/nvidia/qx-h100.xml with the node's own GPU UUIDs, written by the benchmark), so the
 * collector's spawn/parse path runs without a Node start-up per probe.
 *
 * Protocol: one JSON line on stdout, {"ready": n, "ms": startup}, once every agent is connected;
 * SIGTERM stops every agent (ranks are the benchmark's to clean up) and exits.
 */
import { readFileSync } from 'node:fs';
import { systemClock } from '../shared/clock/index.js';
import { createLogger } from '../shared/log/index.js';
import { agentConfigSchema } from '../agent/config.js';
import { createAgent, type AgentDaemon } from '../agent/main.js';

export interface FleetAgentPlan {
  name: string;
  stateDir: string;
  nvidiaSmi: string;
  topology: Record<string, string>;
  /** mTLS: this node's certificate and key (the plan's caFile verifies the scheduler). */
  certFile?: string;
  keyFile?: string;
}

export interface FleetPlan {
  scheduler: string;
  agents: FleetAgentPlan[];
  /** Agents started at once. */
  startConcurrency: number;
  /** mTLS to the scheduler (each agent's certFile/keyFile); absent: plaintext. */
  caFile?: string;
  /** Rank containment (runner.containment): 'auto' (the agent's default) or 'off'. */
  containment: 'auto' | 'off';
  /** Each agent's runner.cgroupRoot is `<cgroupRoot>/<name>`. */
  cgroupRoot: string;
}

async function main(): Promise<void> {
  const plan = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as FleetPlan;
  const log = createLogger({ name: 'gantry-fleet', level: 'warn', format: 'json', isTty: false });
  const t0 = Date.now();
  const agents: AgentDaemon[] = plan.agents.map((a) =>
    createAgent(
      agentConfigSchema.parse({
        nodeName: a.name,
        address: '127.0.0.1',
        scheduler: plan.caFile
          ? { address: plan.scheduler, tls: { caFile: plan.caFile, certFile: a.certFile, keyFile: a.keyFile, serverName: 'localhost' } }
          : { address: plan.scheduler, insecure: true },
        metrics: { listen: '127.0.0.1:0' },
        // One probe at start; the benchmark is about jobs, not probes.
        collectIntervalMs: 3_600_000,
        reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
        topology: a.topology,
        collectors: {
          nvidia: { enabled: true, binary: a.nvidiaSmi },
          amd: { enabled: false },
          host: { enabled: false },
          infiniband: { enabled: false },
          kernelLog: { enabled: false },
        },
        // Ranks run as root: the agent's own account in plaintext runs, and the benchmark admin's mapped account over mTLS.
        runner: { stateDir: a.stateDir, allowRoot: true, allowedUsers: ['root'], containment: plan.containment, cgroupRoot: `${plan.cgroupRoot}/${a.name}` },
      }),
      { log: log.child({ node: a.name }), clock: systemClock, envPath: process.env.PATH },
    ),
  );
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await Promise.allSettled(agents.map((a) => a.stop()));
    process.exit(0);
  };
  process.on('SIGTERM', () => void stopAll());
  process.on('SIGINT', () => void stopAll());
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < agents.length) await agents[next++]!.start();
  };
  await Promise.all(Array.from({ length: Math.max(1, plan.startConcurrency) }, worker));
  while (!agents.every((a) => a.connected)) await new Promise((r) => setTimeout(r, 50));
  process.stdout.write(`${JSON.stringify({ ready: agents.length, ms: Date.now() - t0 })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`fleet failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
