/**
 * Clustered nats-servers with JetStream on loopback, for the high-availability tests: the
 * product's own (shared/procs/nats-cluster.ts), with its store in a temp dir of the test, every
 * process tracked (killed if the test process dies) and killed at the test's teardown.
 */
import type { Test } from 'tap';
import { startNatsCluster as start, type NatsCluster } from '../../shared/procs/index.js';
import { tempDir, track, which } from './cluster.js';

export type { NatsCluster, NatsClusterServer as ClusterServer } from '../../shared/procs/index.js';
export { jetStreamReady } from '../../shared/procs/index.js';

export async function startNatsCluster(t: Test, n = 3): Promise<NatsCluster> {
  const bin = which('nats-server');
  if (!bin) throw new Error('nats-server is not on PATH (apt-get install nats-server)');
  const cluster = await start({ bin, storeRoot: tempDir(t, 'gantry-natsc-'), clusterName: 'gantry-test', servers: n, onStart: (c) => void track(c) });
  t.teardown(() => {
    for (const s of cluster.servers) s.child.proc.kill('SIGKILL');
  });
  return cluster;
}
