/**
 * Operating an HA control plane (issue 21, operations): two schedulers with ha.enabled (child
 * processes) on three clustered nats-servers, lease TTL 2 s, each with a fixed metrics.listen port.
 *   - `gantry status --scheduler A,B` shows one leader (its term) and one standby (its lag), exit 0;
 *   - grpc.health.v1 (a real Check call) says SERVING on the leader only, NOT_SERVING on the standby;
 *   - /metrics on both roles: gantry_scheduler_ha_leader 1 / 0, the term, leader changes, lag;
 *   - the leader paused (SIGSTOP) past its lease and resumed steps down: the other leads in a
 *     higher term, and health, metrics (on the same port, handed over) and status all follow.
 * And a scheduler without ha.enabled answers `gantry status` as "single".
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import t from 'tap';
import { freePort } from '../../shared/procs/index.js';
import { startNatsCluster } from '../harness/nats-cluster.js';
import { gantryCli, httpGet, startScheduler, tempDir, waitFor, type Scheduler } from '../harness/cluster.js';

const require = createRequire(import.meta.url);
const TTL_MS = 2000;

type HealthClient = grpc.Client & { Check: (req: { service: string }, cb: (e: Error | null, r: { status: string }) => void) => void };

function healthOf(address: string): Promise<string> {
  const def = protoLoader.loadSync(require.resolve('grpc-health-check/proto/health/v1/health.proto'), { enums: String });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials) => HealthClient } } } };
  const client = new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
  return new Promise<string>((resolve, reject) => client.Check({ service: 'gantry.v1.SchedulerService' }, (e, r) => (e ? reject(e) : resolve(r.status)))).finally(() => client.close());
}

/** One metric's value from the text format (undefined when absent or unreachable). */
async function metric(port: number, name: string): Promise<number | undefined> {
  try {
    const text = await httpGet(`http://127.0.0.1:${port}/metrics`);
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : undefined;
  } catch {
    return undefined;
  }
}

interface StatusJson {
  leader: { id: string; address: string; term: number } | null;
  schedulers: Array<{ address: string; id?: string; role?: string; term?: number; appliedSeq?: number; lagEntries?: number; error?: string }>;
}

async function status(addresses: string[]): Promise<{ code: number; json: StatusJson | undefined; text: string }> {
  const r = await gantryCli(['status', '--json', '--scheduler', addresses.join(',')]);
  let json: StatusJson | undefined;
  try {
    json = JSON.parse(r.stdout) as StatusJson;
  } catch {
    json = undefined;
  }
  return { code: r.code, json, text: r.stdout + r.stderr };
}

t.test('status, health and metrics follow the lead', async (t) => {
  const cluster = await startNatsCluster(t, 3);
  const natsUrl = cluster.urls.join(',');
  const ports = [await freePort(), await freePort()];
  const metricsPorts = [await freePort(), await freePort()];
  const start = (i: number): Promise<Scheduler> =>
    startScheduler(t, {
      natsUrl,
      grpcPort: ports[i],
      dataDir: tempDir(t, `gantry-haops-${i}-`),
      readyLog: 'scheduler standby',
      extraArgs: [
        '--metrics-listen', `127.0.0.1:${metricsPorts[i]}`,
        '--set', 'ha.enabled=true', '--set', `ha.leaseTtlMs=${TTL_MS}`, '--set', 'ha.followIntervalMs=200', '--set', 'telemetry.enabled=false',
        '--set', `schedulerId=sched-${i}`,
      ],
    });
  const scheds = [await start(0), await start(1)];
  const addresses = scheds.map((s) => s.address);
  const st = await waitFor('a leader in gantry status', async () => {
    const s = await status(addresses);
    return s.code === 0 && s.json?.leader ? s : undefined;
  }, 20_000, 200);
  const first = addresses.indexOf(st.json!.leader!.address);
  t.ok(first >= 0, `gantry status names a leader among the addresses (${st.json!.leader!.address})`);
  const other = 1 - first;
  const rows = st.json!.schedulers;
  t.equal(rows[first]!.role, 'leader', 'the leader says leader');
  t.equal(rows[other]!.role, 'standby', 'the other says standby (a standby answers GetControlPlane)');
  t.equal(rows[first]!.id, `sched-${first}`, 'with its scheduler id');
  t.ok(st.json!.leader!.term > 0, `the leader's term (${st.json!.leader!.term})`);
  t.equal(typeof rows[other]!.lagEntries, 'number', `the standby's lag (${rows[other]!.lagEntries} entries)`);
  const text = await gantryCli(['status', '--scheduler', addresses.join(',')]);
  t.match(text.stdout, new RegExp(`leader: sched-${first} at 127\\.0\\.0\\.1:${ports[first]}, term \\d+, since`), 'the text form names the leader, its term and since when');
  t.match(text.stdout, /ADDRESS\s+ID\s+ROLE\s+TERM\s+SINCE\s+APPLIED\s+LAG/, 'and has the table');

  t.equal(await healthOf(addresses[first]!), 'SERVING', 'health: the leader is SERVING');
  t.equal(await healthOf(addresses[other]!), 'NOT_SERVING', 'health: the standby is NOT_SERVING');
  t.equal(await metric(metricsPorts[first]!, 'gantry_scheduler_ha_leader'), 1, 'metrics: ha_leader 1 on the leader');
  t.equal(await metric(metricsPorts[other]!, 'gantry_scheduler_ha_leader'), 0, 'metrics: ha_leader 0 on the standby (its own metrics server)');
  t.equal(await metric(metricsPorts[first]!, 'gantry_scheduler_ha_term'), st.json!.leader!.term, 'ha_term is the term');
  t.equal(await metric(metricsPorts[first]!, 'gantry_scheduler_ha_leader_changes_total'), 1, 'one leader change on the leader');
  t.equal(typeof (await metric(metricsPorts[other]!, 'gantry_scheduler_ha_standby_lag_entries')), 'number', 'the standby serves its lag');
  t.match(await httpGet(`http://127.0.0.1:${metricsPorts[first]}/metrics`), /^gantry_scheduler_process_start_time_seconds /m, "the leader's own metrics are served with them");

  // Pause the leader past its lease: the standby takes over; resumed, the old leader steps down.
  const paused = scheds[first]!;
  process.kill(paused.child.proc.pid!, 'SIGSTOP');
  let resumed = false;
  t.teardown(() => {
    if (!resumed) process.kill(paused.child.proc.pid!, 'SIGCONT');
  });
  await waitFor('the other leads', async () => (await healthOf(addresses[other]!).catch(() => '')) === 'SERVING', 30_000, 200);
  process.kill(paused.child.proc.pid!, 'SIGCONT');
  resumed = true;
  await paused.child.waitForLog(/^stepping down/, 15_000);
  await waitFor('the old leader is a standby again', async () => (await metric(metricsPorts[first]!, 'gantry_scheduler_ha_leader')) === 0, 20_000, 200);
  t.equal(await healthOf(addresses[first]!), 'NOT_SERVING', 'health after the step-down: the old leader is NOT_SERVING');
  t.equal(await healthOf(addresses[other]!), 'SERVING', 'health after the re-election: the new leader is SERVING');
  t.equal(await metric(metricsPorts[first]!, 'gantry_scheduler_ha_leader_changes_total'), 2, 'the old leader counted two changes (lead, step down) on the same metrics port');
  t.equal(await metric(metricsPorts[other]!, 'gantry_scheduler_ha_leader'), 1, 'ha_leader 1 on the new leader');
  t.equal(await metric(metricsPorts[other]!, 'gantry_scheduler_ha_leader_changes_total'), 1, 'its leader changes survive its role change (one registry)');
  const after = await waitFor('gantry status shows the new leader', async () => {
    const s = await status(addresses);
    return s.json?.leader?.address === addresses[other] && s.json?.schedulers[first]!.role === 'standby' ? s : undefined;
  }, 20_000, 200);
  t.ok(after.json!.leader!.term > st.json!.leader!.term, `in a higher term (${st.json!.leader!.term} -> ${after.json!.leader!.term})`);
  t.equal(await metric(metricsPorts[other]!, 'gantry_scheduler_ha_term'), after.json!.leader!.term, 'ha_term follows');

  // One scheduler gone: status still answers, with the error in its row and the leader found.
  const gone = await status([...addresses, `127.0.0.1:${await freePort()}`]);
  t.equal(gone.code, 0, 'an unreachable address does not hide the leader');
  t.ok(gone.json!.schedulers[2]!.error, 'its row says why');
});

t.test('a scheduler without ha.enabled is "single"', async (t) => {
  const s = await startScheduler(t);
  const r = await status([s.address]);
  t.equal(r.code, 0, 'exit 0');
  t.equal(r.json?.schedulers[0]?.role, 'single', 'role single');
  t.equal(r.json?.leader?.address, s.address, 'it is its own leader');
  const none = await status([`127.0.0.1:${await freePort()}`]);
  t.equal(none.code, 1, 'no scheduler answering: exit 1');
});
