/** The scheduler's gRPC surface over loopback: health, reflection, errors, and /metrics through promtool. */
import t from 'tap';
import { execFile } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { loadGantryProto } from '../../../shared/proto/index.js';
import { inventoryToPb } from '../../../shared/wire/index.js';
import { emptyInventory } from '../../../shared/domain/index.js';
import { httpGet, listNodes, startScheduler, waitFor, which } from '../../harness/cluster.js';
import { jobYaml } from '../../builders/job.js';
import { listServices } from '../../harness/reflection.js';

const require = createRequire(import.meta.url);

t.test('scheduler gRPC API', async (t) => {
  const sched = await startScheduler(t);
  const { proto } = loadGantryProto();

  t.test('standard health service says SERVING', async (t) => {
    const def = protoLoader.loadSync(require.resolve('grpc-health-check/proto/health/v1/health.proto'), { enums: String });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      grpc: { health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials) => grpc.Client & { Check: Function } } } };
    };
    const client = new pkg.grpc.health.v1.Health(sched.address, grpc.credentials.createInsecure());
    t.teardown(() => client.close());
    for (const service of ['', 'gantry.v1.SchedulerService', 'gantry.v1.AgentService']) {
      const res = await new Promise<{ status: string }>((resolve, reject) =>
        client.Check({ service }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r))),
      );
      t.equal(res.status, 'SERVING', `health of ${JSON.stringify(service)}`);
    }
  });

  t.test('server reflection lists the services', async (t) => {
    const names = await listServices(sched.address, 'v1alpha');
    t.ok(names.includes('gantry.v1.SchedulerService'), 'SchedulerService');
    t.ok(names.includes('gantry.v1.AgentService'), 'AgentService');
  });

  t.test('GetNode errors', async (t) => {
    const client = new proto.gantry.v1.SchedulerService(sched.address, grpc.credentials.createInsecure());
    t.teardown(() => client.close());
    const get = (name: string): Promise<grpc.ServiceError> =>
      new Promise((resolve) => client.GetNode({ name }, (e) => resolve(e as grpc.ServiceError)));
    const empty = await get('');
    t.equal(empty.code, grpc.status.INVALID_ARGUMENT, 'empty name is INVALID_ARGUMENT');
    t.match(empty.details, /^name: /, 'naming the field');
    const missing = await get('nope');
    t.equal(missing.code, grpc.status.NOT_FOUND, 'unknown node is NOT_FOUND');
    t.same(missing.metadata.get('gantry-code'), ['NOT_FOUND'], 'with the Gantry code in metadata');
  });

  t.test('bad agent messages are refused and nothing is stored', async (t) => {
    const client = new proto.gantry.v1.AgentService(sched.address, grpc.credentials.createInsecure());
    t.teardown(() => client.close());
    const attempt = (first: object): Promise<grpc.ServiceError> =>
      new Promise((resolve) => {
        const call = client.Connect();
        call.on('data', () => undefined);
        call.on('error', (e: grpc.ServiceError) => resolve(e));
        call.on('end', () => resolve({ code: grpc.status.OK } as grpc.ServiceError));
        call.write(first);
      });
    const inv = inventoryToPb(emptyInventory('x'));
    const cases: Array<[string, object, RegExp]> = [
      ['report before register', { report: { seq: 1 } }, /^register: /],
      ['bad node name', { register: { nodeName: 'bad name!', inventory: inv } }, /^register\.nodeName: /],
      ['missing inventory', { register: { nodeName: 'ok-name' } }, /^register\.inventory: is required/],
      [
        'bad vendor',
        { register: { nodeName: 'ok-name', inventory: { ...inv, gpus: [{ index: 0, vendor: 'intel' }] } } },
        /^register\.inventory\.gpus\[0\]\.vendor: /,
      ],
      [
        'bad severity',
        { register: { nodeName: 'ok-name', inventory: inv, verdicts: [{ check: 'x', severity: 'SEVERITY_UNSPECIFIED' }] } },
        /^register\.verdicts\[0\]\.severity: /,
      ],
      ['empty allowed user', { register: { nodeName: 'ok-name', inventory: inv, allowedUsers: ['alice', ''] } }, /^register\.allowedUsers\[1\]: must be 1-256 characters/],

      ['ANSI escape in a label', { register: { nodeName: 'ok-name', inventory: inv, labels: { rack: '\u001b[2Jr1' } } }, /^register\.labels\.rack: must not contain control characters \(found U\+001B/],
      ['newline in the address', { register: { nodeName: 'ok-name', inventory: inv, address: 'a\nb' } }, /^register\.address: must not contain control characters/],
      ['1 MB agent version', { register: { nodeName: 'ok-name', inventory: inv, agentVersion: 'v'.repeat(1 << 20) } }, /^register\.agentVersion: is longer than 253 bytes/],
      ['65 labels', { register: { nodeName: 'ok-name', inventory: inv, labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, 'v'])) } }, /^register\.labels: has 65 labels; the limit is 64/],
    ];
    for (const [name, msg, re] of cases) {
      const e = await attempt(msg);
      t.equal(e.code, grpc.status.INVALID_ARGUMENT, `${name}: INVALID_ARGUMENT`);
      t.match(e.details, re, `${name}: names the field`);
    }
    t.same(await listNodes(sched.address), [], 'nothing was stored');
  });

  t.test('SubmitJob refuses an SLO port block inside the MASTER_PORT range; nothing is stored', async (t) => {
    const client = new proto.gantry.v1.SchedulerService(sched.address, grpc.credentials.createInsecure());
    t.teardown(() => client.close());
    const submit = (port: number, max: number): Promise<grpc.ServiceError | null> =>
      new Promise((resolve) =>
        client.SubmitJob(
          { spec: jobYaml({ kind: 'Inference', name: 'svc', ranks: 1, gpusPerRank: 1, replicas: { min: 1, max }, slo: { p99Ms: 100, metric: 'latency_seconds', port } }), owner: 'tester' },
          (e: grpc.ServiceError | null) => resolve(e),
        ),
      );
    // The scheduler's default range is jobs.masterPortMin 29500 – jobs.masterPortMax 29999.
    for (const [port, max, block] of [[29600, 4, '29600–29603'], [29490, 20, '29490–29509'], [29999, 1, '29999']] as const) {
      const e = await submit(port, max);
      t.equal(e?.code, grpc.status.INVALID_ARGUMENT, `${block}: INVALID_ARGUMENT`);
      t.match(e?.details, new RegExp(`^slo\\.port: the service port block ${block} .*overlaps the scheduler's MASTER_PORT range 29500–29999`), `${block}: names slo.port and both ranges`);
    }
    // Just below the range passes this check (and is refused later: no node is registered).
    const below = await submit(29400, 100);
    t.equal(below?.code, grpc.status.FAILED_PRECONDITION, '29400–29499 is outside the range (it fails only for want of nodes)');
    const jobs = await new Promise<unknown[]>((resolve, reject) =>
      client.ListJobs({}, (e: grpc.ServiceError | null, r?: { jobs: unknown[] }) => (e ? reject(e) : resolve(r?.jobs ?? []))),
    );
    t.same(jobs, [], 'nothing was stored');
  });

  t.test('/metrics passes promtool check metrics', async (t) => {
    const promtool = which('promtool');
    t.ok(promtool, 'promtool is installed (Debian package prometheus)');
    if (!promtool) return;
    const text = await waitFor('metrics', () => httpGet(`http://127.0.0.1:${sched.metricsPort}/metrics`));
    t.match(text, /gantry_scheduler_nodes\{state="ready"\} 0/);
    t.match(text, /gantry_scheduler_reports_received_total 0/);
    const out = await new Promise<{ code: number; output: string }>((resolve) => {
      const p = execFile(promtool, ['check', 'metrics'], (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
      );
      p.stdin!.end(text);
    });
    t.equal(out.code, 0, `promtool is happy: ${out.output.trim()}`);
    t.equal(out.output.trim(), '', 'no lint complaints');
  });
});
