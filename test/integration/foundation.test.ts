/**
 * The walking skeleton on real parts: nats-server, a scheduler and three agents as child processes
 * over loopback gRPC, LMDB on disk, captures served by the stand-in nvidia-smi.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { connect, StringCodec, type JetStreamClient } from 'nats';
import { listNodes, startAgent, startNats, startScheduler, waitFor, H100_XML, httpGet } from '../harness/cluster.js';

const sc = StringCodec();

/** GPU facts read from the capture itself, not from our parser. */
const capture = readFileSync(H100_XML, 'utf8');
const captureGpuCount = (capture.match(/<gpu id=/g) ?? []).length;
const captureDriver = /<driver_version>([^<]+)<\/driver_version>/.exec(capture)![1]!;
const captureModel = /<product_name>([^<]+)<\/product_name>/.exec(capture)![1]!;

t.test('scheduler and agents on real parts', async (t) => {
  const nats = await startNats(t);
  // Subscribe before anything happens, on the core subject space.
  const nc = await connect({ servers: nats.url });
  t.teardown(() => nc.close());
  const seen: Array<{ subject: string; type: string; node: string; v: number }> = [];
  const sub = nc.subscribe('gantry.events.node.>');
  void (async () => {
    for await (const m of sub) {
      const e = JSON.parse(sc.decode(m.data)) as { type: string; node: string; v: number };
      seen.push({ subject: m.subject, type: e.type, node: e.node, v: e.v });
    }
  })();

  let sched = await startScheduler(t, { natsUrl: nats.url });
  const names = ['node-a', 'node-b.rack1.example'];
  names.push('node-c');
  const agents = new Map<string, Awaited<ReturnType<typeof startAgent>>>();
  for (const [i, n] of names.entries()) {
    agents.set(n, await startAgent(t, n, sched.address, { topology: { leaf: `leaf-${i % 2}`, spine: 'spine-0' } }));
  }

  const nodes = await waitFor('three ready nodes', async () => {
    const ns = await listNodes(sched.address);
    return ns.length === 3 && ns.every((n) => n.connectivity === 'ready') ? ns : undefined;
  });
  t.same(nodes.map((n) => n.name).sort(), [...names].sort(), 'ListNodes lists the three agents');
  for (const n of nodes) {
    t.equal(n.inventory.gpus.length, captureGpuCount, `${n.name}: GPU count from the capture`);
    t.equal(n.inventory.firmware.driverVersion, captureDriver, `${n.name}: driver version from the capture`);
    t.equal(n.inventory.gpus[0]!.name, captureModel, `${n.name}: GPU model from the capture`);
    t.ok(n.inventory.topology.domains.leaf, `${n.name}: topology labels arrive`);
  }
  const uuids = nodes.flatMap((n) => n.inventory.gpus.map((g) => g.uuid));
  t.equal(new Set(uuids).size, uuids.length, 'every simulated GPU has its own UUID');

  // Node events, with names encoded as one subject token.
  await waitFor('registered events', () => seen.filter((e) => e.type === 'registered').length >= 3);
  const reg = seen.find((e) => e.type === 'registered' && e.node === 'node-b.rack1.example');
  t.ok(reg, 'registered event for the dotted node name');
  t.equal(reg!.subject, 'gantry.events.node.node-b%2Erack1%2Eexample', 'dots are percent-encoded in the subject');
  t.equal(reg!.v, 1, 'events are versioned');

  // Kill an agent: its node goes lost, and an event says so.
  await agents.get('node-a')!.child.kill();
  await waitFor('node-a lost', async () => (await listNodes(sched.address)).find((n) => n.name === 'node-a' && n.connectivity === 'lost'));
  await waitFor('lost event', () => seen.some((e) => e.type === 'lost' && e.node === 'node-a'));
  const others = await listNodes(sched.address);
  t.same(
    others.filter((n) => n.name !== 'node-a').map((n) => n.connectivity),
    ['ready', 'ready'],
    'the other nodes stay ready',
  );

  // Restart it: back to ready, with a 'back' event.
  agents.set('node-a', await startAgent(t, 'node-a', sched.address, { topology: { leaf: 'leaf-0', spine: 'spine-0' } }));
  await waitFor('node-a ready again', async () => (await listNodes(sched.address)).find((n) => n.name === 'node-a' && n.connectivity === 'ready'));
  await waitFor('back event', () => seen.some((e) => e.type === 'back' && e.node === 'node-a'));

  // Events are kept in JetStream too (stream GANTRY_EVENTS), so consumers can replay.
  const jsm = await nc.jetstreamManager();
  const info = await waitFor('events in the stream', async () => {
    const i = await jsm.streams.info('GANTRY_EVENTS');
    return i.state.messages >= 5 ? i : undefined;
  });
  t.ok(info.config.subjects.includes('gantry.events.>'), 'the stream holds gantry.events.>');

  // The scheduler's /metrics counts nodes by state and reports received.
  const metrics = await httpGet(`http://127.0.0.1:${sched.metricsPort}/metrics`);
  t.match(metrics, /gantry_scheduler_nodes\{state="ready"\} 3/, 'nodes by state');
  const reports = Number(/gantry_scheduler_reports_received_total (\d+)/.exec(metrics)?.[1] ?? 0);
  t.ok(reports > 0, `reports received counted (${reports})`);

  // Restart the scheduler on the same data dir and port: the nodes are still listed.
  const stopped = await sched.child.stop();
  t.equal(stopped, 0, 'scheduler stops cleanly on SIGTERM');
  sched = await startScheduler(t, { natsUrl: nats.url, dataDir: sched.dataDir, grpcPort: sched.grpcPort });
  const after = await listNodes(sched.address);
  t.same(after.map((n) => n.name).sort(), [...names].sort(), 'nodes survive a scheduler restart');
  t.equal(after.find((n) => n.name === 'node-c')!.inventory.gpus.length, captureGpuCount, 'with their inventory');
  // The agents reconnect by themselves.
  await waitFor('agents reconnect', async () => {
    const ns = await listNodes(sched.address);
    return ns.every((n) => n.connectivity === 'ready' && n.reportsReceived > 0) ? ns : undefined;
  });
  for (const a of agents.values()) await a.child.stop();
  sub.unsubscribe();
});
