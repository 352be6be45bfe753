/**
 * nats-servers clustered on loopback with JetStream: `n` servers routed to each other, each with
 * its own store dir and server name, each killable (SIGKILL) and restartable in place with its
 * store kept. `gantry demo --ha`, the HA benchmark and the HA tests start theirs here.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { connect } from 'nats';
import { freePort, startChild, waitForPort, type Child } from './procs.js';

export interface NatsClusterServer {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly routePort: number;
  /** The running process (replaced by restart). */
  readonly child: Child;
  /** SIGKILL, keeping the store. */
  kill(): void;
  /** Starts it again on the same ports and store, once its client port answers. */
  restart(): Promise<void>;
}

export interface NatsCluster {
  readonly servers: NatsClusterServer[];
  /** Every server's URL, for a client that fails over between them. */
  readonly urls: string[];
  /** Stops every server (SIGTERM, then SIGKILL after graceMs). */
  stop(graceMs?: number): Promise<void>;
}

export interface NatsClusterOptions {
  /** The nats-server executable. */
  bin: string;
  /** Each server's store goes in `<storeRoot>/nats-<i>`. */
  storeRoot: string;
  /** Cluster name; servers are named `<clusterName>-n<i>`. */
  clusterName: string;
  /** Defaults to 3. */
  servers?: number;
  /** Called with each started process (a test harness tracks them). */
  onStart?: (child: Child) => void;
  /** How long to wait for JetStream to answer (its meta leader elected); default 30 s. */
  readyTimeoutMs?: number;
}

export async function startNatsCluster(o: NatsClusterOptions): Promise<NatsCluster> {
  const n = o.servers ?? 3;
  const ports: Array<{ client: number; route: number }> = [];
  for (let i = 0; i < n; i++) ports.push({ client: await freePort(), route: await freePort() });
  const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(',');
  const servers = ports.map((p, i) => {
    const name = `${o.clusterName}-n${i + 1}`;
    const store = path.join(o.storeRoot, `nats-${i + 1}`);
    mkdirSync(store, { recursive: true });
    const args = ['-a', '127.0.0.1', '-p', String(p.client), '-n', name, '-js', '-sd', store, '--cluster_name', o.clusterName, '--cluster', `nats://127.0.0.1:${p.route}`, '--routes', routes];
    let child: Child | undefined;
    const s: NatsClusterServer = {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      port: p.client,
      routePort: p.route,
      get child(): Child {
        if (!child) throw new Error(`${name} was never started`);
        return child;
      },
      kill: () => void child?.proc.kill('SIGKILL'),
      async restart() {
        child = startChild(name, o.bin, args);
        o.onStart?.(child);
        await waitForPort(p.client, 10_000);
      },
    };
    return s;
  });
  await Promise.all(servers.map((s) => s.restart()));
  const urls = servers.map((s) => s.url);
  await jetStreamReady(urls, o.readyTimeoutMs ?? 30_000);
  return { servers, urls, stop: async (graceMs = 5000) => void (await Promise.all(servers.map((s) => s.child.stop(graceMs)))) };
}

/**
 * Waits until the cluster's JetStream answers (its meta leader is elected: a second or two after
 * the servers start); until then every JetStream request times out.
 */
export async function jetStreamReady(urls: string[], timeoutMs = 30_000): Promise<void> {
  const nc = await connect({ servers: urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  try {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        await (await nc.jetstreamManager({ timeout: 1000 })).getAccountInfo();
        return;
      } catch (e) {
        if (Date.now() > end) throw new Error(`JetStream on ${urls.join(', ')} not ready within ${timeoutMs} ms: ${String(e)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await nc.close();
  }
}
