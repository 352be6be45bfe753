/**
 * Clustered nats-servers with JetStream on loopback, for the high-availability tests: `n` servers
 * routed to each other (one cluster, each with its own store dir and server name), each restartable
 * in place with its store kept.
 */
import type { Test } from 'tap';
import { connect } from 'nats';
import { freePort, startChild, waitForPort, type Child } from '../../shared/procs/index.js';
import { tempDir, track, which } from './cluster.js';

export interface ClusterServer {
  name: string;
  url: string;
  port: number;
  child: Child;
  /** Stops the server (SIGKILL), keeping its store. */
  kill(): void;
  /** Starts it again on the same ports and store. */
  restart(): Promise<void>;
}

export interface NatsCluster {
  servers: ClusterServer[];
  /** Every server's URL, for a client that fails over between them. */
  urls: string[];
}

export async function startNatsCluster(t: Test, n = 3): Promise<NatsCluster> {
  const bin = which('nats-server');
  if (!bin) throw new Error('nats-server is not on PATH (apt-get install nats-server)');
  const ports: Array<{ client: number; route: number }> = [];
  for (let i = 0; i < n; i++) ports.push({ client: await freePort(), route: await freePort() });
  const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(',');
  const servers: ClusterServer[] = ports.map((p, i) => {
    const name = `gantry-test-n${i + 1}`;
    const storeDir = tempDir(t, `gantry-natsc-${i + 1}-`);
    const args = ['-a', '127.0.0.1', '-p', String(p.client), '-n', name, '-js', '-sd', storeDir, '--cluster_name', 'gantry-test', '--cluster', `nats://127.0.0.1:${p.route}`, '--routes', routes];
    const s: ClusterServer = {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      port: p.client,
      child: undefined as unknown as Child,
      kill: () => void s.child.proc.kill('SIGKILL'),
      async restart() {
        s.child = track(startChild(name, bin, args));
        await waitForPort(p.client, 10_000);
      },
    };
    return s;
  });
  await Promise.all(servers.map((s) => s.restart()));
  await jetStreamReady(servers.map((s) => s.url));
  t.teardown(() => {
    for (const s of servers) s.child.proc.kill('SIGKILL');
  });
  return { servers, urls: servers.map((s) => s.url) };
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
        const jsm = await nc.jetstreamManager({ timeout: 1000 });
        await jsm.getAccountInfo();
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
