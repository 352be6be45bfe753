/**
 * `gantry demo --ha`: a high-availability control plane on one machine (docs/high-availability.md).
 * Starts three nats-servers clustered on loopback (JetStream, routes to each other) and two
 * schedulers with ha.enabled on them (TLS and the demo's identities, as `gantry demo`), waits for a
 * leader, prints `gantry status`, the addresses, and how to kill the leader and watch the standby
 * take over. No agents: the point is the control plane. Ctrl-C (or --duration-s) stops everything.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, gantryEntry, startChild, startNatsCluster, type Child } from '../shared/procs/index.js';
import { EXIT_FAILURE, type CliIO } from '../shared/cli/command.js';
import { connectScheduler } from '../shared/cli/client.js';
import { leaderOf, statusText, type StatusRow } from '../shared/cli/status.js';
import { DEMO_ADMIN, demoCliEnv, demoSchedulerArgs, exportLine, makeDemoIdentity, type DemoIdentity } from './demo-identity.js';

/** The lease TTL of the demo's schedulers: a killed leader is replaced after about this long. */
export const DEMO_HA_LEASE_TTL_MS = 3000;

/** Asks every scheduler GetControlPlane as the demo's admin (what `gantry status` does). */
async function askAll(id: DemoIdentity, addresses: string[], io: CliIO): Promise<StatusRow[]> {
  const client = connectScheduler({}, { ...io, env: { HOME: io.env.HOME, PATH: io.env.PATH, GANTRY_CONFIG_FILE: '/dev/null', ...demoCliEnv(id, addresses.join(','), 'admin') } });
  try {
    return await Promise.all(
      addresses.map(async (asked, i): Promise<StatusRow> => {
        try {
          const r = await client.callAt(i, 'GetControlPlane', {}, 3000);
          return { asked, member: { ...r, term: Number(r.term), roleSinceUnixMs: Number(r.roleSinceUnixMs), appliedSeq: Number(r.appliedSeq), headSeq: Number(r.headSeq) } };
        } catch (e) {
          return { asked, error: (e as Error).message };
        }
      }),
    );
  } finally {
    client.close();
  }
}

export async function runHaDemo(opts: { natsBin: string; durationS: number | undefined; done: Promise<void> }, io: CliIO): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-demo-ha-'));
  const children: Child[] = [];
  let stopping = false;
  const cleanup = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    io.stdout('\nstopping the demo...\n');
    await Promise.all([...children].reverse().map((c) => c.stop(5000)));
    rmSync(dir, { recursive: true, force: true });
    io.stdout('demo stopped; no process left behind.\n');
  };
  let failed: (() => void) | undefined;
  let broke = false;
  const failure = new Promise<void>((r) => (failed = r));
  try {
    const id = await makeDemoIdentity(path.join(dir, 'pki'), [], Date.now());
    const nats = await startNatsCluster({ bin: opts.natsBin, storeRoot: dir, clusterName: 'gantry-demo', onStart: (c) => void children.push(c) });
    const natsUrls = nats.urls;

    const entry = gantryEntry();
    const schedulers: Array<{ child: Child; address: string; metricsPort: number; id: string }> = [];
    for (let i = 0; i < 2; i++) {
      const grpcPort = await freePort();
      const metricsPort = await freePort();
      const schedulerId = `demo-scheduler-${i + 1}`;
      const child = startChild(
        schedulerId,
        process.execPath,
        [
          entry, 'scheduler',
          '--data-dir', path.join(dir, schedulerId),
          '--grpc-listen', `127.0.0.1:${grpcPort}`,
          '--metrics-listen', `127.0.0.1:${metricsPort}`,
          '--nats-url', natsUrls.join(','),
          '--set', `schedulerId=${schedulerId}`,
          '--set', 'ha.enabled=true',
          '--set', `ha.leaseTtlMs=${DEMO_HA_LEASE_TTL_MS}`,
          '--set', 'ha.replicas=3',
          '--set', 'ha.followIntervalMs=250',
          ...demoSchedulerArgs(id),
        ],
        { env: { ...io.env, GANTRY_LOG_FORMAT: 'json' } },
      );
      children.push(child);
      schedulers.push({ child, address: `127.0.0.1:${grpcPort}`, metricsPort, id: schedulerId });
    }
    for (const s of schedulers) await s.child.waitForLog('scheduler standby', 30_000);
    for (const c of children) {
      void c.exited.then((code) => {
        if (!stopping) {
          io.stderr(`gantry demo: ${c.name} exited (${code})\n`);
          // A scheduler killed by the user is the point of the demo; a nats-server or both schedulers gone is not.
          if (c.name.startsWith('gantry-demo-n') || schedulers.every((s) => s.child.proc.exitCode !== null || s.child.proc.signalCode !== null)) {
            broke = true;
            failed?.();
          }
        }
      });
    }
    const addresses = schedulers.map((s) => s.address);
    let rows: StatusRow[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !leaderOf(rows)) {
      rows = await askAll(id, addresses, io);
      if (!leaderOf(rows)) await new Promise((r) => setTimeout(r, 250));
    }
    const leader = leaderOf(rows);
    if (!leader) {
      io.stderr(`gantry demo: no scheduler took the lead within 30 s\n${statusText(rows, Date.now())}`);
      await cleanup();
      return EXIT_FAILURE;
    }
    const leaderPid = schedulers.find((s) => s.address === leader.address)?.child.proc.pid;
    const cli = `node ${path.relative(io.cwd, entry) || entry}`;
    io.stdout(
      [
        'Gantry HA demo is running: 3 clustered nats-servers, 2 schedulers (ha.enabled, lease TTL ' + `${DEMO_HA_LEASE_TTL_MS} ms).`,
        '',
        statusText(rows, Date.now()),
        ...schedulers.map((s) => `scheduler ${s.id.padEnd(18)} gRPC ${s.address}  /metrics http://127.0.0.1:${s.metricsPort}/metrics  pid ${s.child.proc.pid}`),
        ...nats.servers.map((n, i) => `nats-server ${String(i + 1).padEnd(16)} ${n.url}  route nats://127.0.0.1:${n.routePort}`),
        `data            ${dir}`,
        '',
        `In another terminal, as the demo's admin (${DEMO_ADMIN}, by a client certificate):`,
        `  ${exportLine(demoCliEnv(id, addresses.join(','), 'admin'))}`,
        `  ${cli} status                  # the leader, its term and since when, the standby's lag`,
        `Kill the leader and watch the standby take over (after about the lease TTL):`,
        `  kill -9 ${leaderPid}; watch -n 0.5 ${cli} status`,
        `  curl -s http://127.0.0.1:${schedulers[0]!.metricsPort}/metrics | grep ^gantry_scheduler_ha_`,
        `A standby refuses other calls, naming the leader; the CLI, given both addresses, moves on:`,
        `  ${cli} jobs`,
        '',
        opts.durationS ? `Stopping by itself after ${opts.durationS} s (or press Ctrl-C).` : 'Press Ctrl-C to stop everything.',
        '',
      ].join('\n'),
    );
    const timer = opts.durationS ? setTimeout(() => failed?.(), opts.durationS * 1000) : undefined;
    await Promise.race([opts.done, failure]);
    if (timer) clearTimeout(timer);
    await cleanup();
    return broke ? EXIT_FAILURE : 0;
  } catch (e) {
    io.stderr(`gantry demo: ${(e as Error).message}\n`);
    await cleanup();
    return EXIT_FAILURE;
  }
}
