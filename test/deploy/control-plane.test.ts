/**
 * The deployment kit of a 3-node high-availability control plane (docs/high-availability.md),
 * checked with the real tools. In a file of its own: test/deploy/deploy.test.ts is already long.
 * - deploy/config/scheduler-ha.yaml loads through the scheduler's real schema, with ha.enabled and
 *   nats.enabled, its NATS servers the three of the cluster config's routes, every key commented;
 * - deploy/nats/nats-server-cluster.conf passes `nats-server -t` (a broken copy does not); three
 *   copies with loopback ports really form a cluster (each server sees two routes);
 * - deploy/systemd/nats-server.service and gantry-scheduler.service with the drop-in
 *   gantry-scheduler-ha.conf pass `systemd-analyze verify` silently (a misspelt key is reported).
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../shared/config/index.js';
import { schedulerConfigSchema, schedulerEnv } from '../../scheduler/config.js';
import { freePort, packageRoot, startChild } from '../../shared/procs/index.js';

const ROOT = packageRoot();
const HA_YAML = path.join(ROOT, 'deploy', 'config', 'scheduler-ha.yaml');
const NATS_CONF = path.join(ROOT, 'deploy', 'nats', 'nats-server-cluster.conf');
const UNIT_DIR = path.join(ROOT, 'deploy', 'systemd');

function tempDir(tt: Test, prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 15_000, env }, (err, stdout, stderr) => {
      const c = (err as { code?: unknown } | null)?.code;
      resolve({ code: err ? (typeof c === 'number' ? c : 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

/** Every leaf key path of the YAML (block style, two-space indent) and whether the line right above it is a comment. */
function commentedKeys(text: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  const stack: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const m = /^( *)([A-Za-z][\w-]*):(.*)$/.exec(line);
    if (!m) return;
    const depth = m[1]!.length / 2;
    stack.length = depth;
    stack.push(m[2]!);
    // A leaf (a value on its line) needs its comment; a section heading or a list's key need not.
    if (m[3]!.trim()) out.set(stack.join('.'), i > 0 && lines[i - 1]!.trim().startsWith('#'));
  });
  return out;
}

t.test('scheduler-ha.yaml: loads, HA on, the cluster servers, every key commented', async (t) => {
  const config = loadConfig(schedulerConfigSchema, { file: HA_YAML, env: {}, envBindings: schedulerEnv, sets: [] });
  t.equal(config.ha.enabled, true, 'ha.enabled');
  t.equal(config.nats.enabled, true, 'nats.enabled (needed by ha.enabled)');
  t.equal(config.ha.replicas, 3, 'replicas 3');
  t.ok(config.ha.advertise, 'ha.advertise set');
  const routes = [...readFileSync(NATS_CONF, 'utf8').matchAll(/nats-route:\/\/([\w.-]+):\d+/g)].map((m) => m[1]);
  t.same(config.nats.servers.map((s) => new URL(s).hostname), routes, "nats.servers are the cluster config's three hosts");
  const keys = commentedKeys(readFileSync(HA_YAML, 'utf8'));
  t.ok(keys.size > 10, `${keys.size} keys`);
  for (const [key, commented] of keys) t.ok(commented, `${key} is commented`);
  t.notOk(commentedKeys('a: 1\n# about b\nb: 2\n').get('a'), 'an uncommented key is seen as such');
});

t.test('nats-server-cluster.conf: nats-server -t, and three copies form a cluster', async (t) => {
  const dir = tempDir(t, 'gantry-natsconf-');
  mkdirSync(path.join(dir, 'gantry'));
  writeFileSync(path.join(dir, 'gantry', 'nats-auth.conf'), '# the file gantry nats-auth writes\n');
  const text = readFileSync(NATS_CONF, 'utf8');
  const conf = path.join(dir, 'nats-server.conf');
  writeFileSync(conf, text);
  const ok = await run('nats-server', ['-c', conf, '-t']);
  t.equal(ok.code, 0, `nats-server -t accepts it\n${ok.out}`);
  const broken = path.join(dir, 'broken.conf');
  writeFileSync(broken, text.replace('routes: [', 'routes: ['.slice(0, -1)));
  t.not((await run('nats-server', ['-c', broken, '-t'])).code, 0, 'a broken copy is refused');

  // Three copies on loopback: only the ports, names, store and route hosts changed.
  const client = [await freePort(), await freePort(), await freePort()];
  const cluster = [await freePort(), await freePort(), await freePort()];
  const http = [await freePort(), await freePort(), await freePort()];
  for (let i = 0; i < 3; i++) {
    let c = text
      .replace('listen: 0.0.0.0:4222', `listen: 127.0.0.1:${client[i]}\nhttp: 127.0.0.1:${http[i]}`)
      .replace('server_name: gantry-nats-1', `server_name: gantry-nats-${i + 1}`)
      .replace('/var/lib/nats/jetstream', path.join(dir, `js-${i}`))
      .replace('listen: 0.0.0.0:6222', `listen: 127.0.0.1:${cluster[i]}`);
    for (let k = 0; k < 3; k++) c = c.replace(`nats-route://ctl-${k + 1}.example.internal:6222`, `nats-route://127.0.0.1:${cluster[k]}`);
    writeFileSync(path.join(dir, `n${i}.conf`), c);
    const child = startChild(`nats-${i}`, 'nats-server', ['-c', path.join(dir, `n${i}.conf`)]);
    t.teardown(() => child.kill());
  }
  const deadline = Date.now() + 20_000;
  let routes: number[] = [];
  while (Date.now() < deadline) {
    routes = await Promise.all(http.map((p) => fetch(`http://127.0.0.1:${p}/routez`).then(async (r) => ((await r.json()) as { num_routes: number }).num_routes, () => -1)));
    if (routes.every((n) => n === 2)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  t.same(routes, [2, 2, 2], 'each server has routes to the other two');
});

t.test('systemd: nats-server.service, and the scheduler unit with the HA drop-in, verify silently', async (t) => {
  const dir = tempDir(t, 'gantry-haunits-');
  const exe = path.join(dir, 'bin', 'gantry');
  mkdirSync(path.dirname(exe), { recursive: true });
  writeFileSync(exe, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const env = { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: '' };
  const verify = async (name: string, text: string): Promise<{ code: number; out: string }> => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    const r = await run('systemd-analyze', ['verify', '--man=no', f], env);
    // Lines about other units on this machine (pulled in by After=/Wants=) are not ours to judge.
    return { code: r.code, out: r.out.split('\n').filter((l) => l.trim() && (l.includes(name) || !/^\S+\.(service|target|socket):/.test(l))).join('\n') };
  };
  const nats = readFileSync(path.join(UNIT_DIR, 'nats-server.service'), 'utf8');
  t.match(nats, /^ExecStart=\/usr\/sbin\/nats-server -c \/etc\/nats\/nats-server\.conf$/m, 'nats-server.service runs the cluster config');
  const n = await verify('nats-server.service', nats);
  t.equal(n.code, 0, 'nats-server.service: exit 0');
  t.equal(n.out, '', `nats-server.service: nothing reported\n${n.out}`);
  const sched = readFileSync(path.join(UNIT_DIR, 'gantry-scheduler.service'), 'utf8').replace(/^ExecStart=\/usr\/bin\/gantry /m, `ExecStart=${exe} `);
  const dropIn = readFileSync(path.join(UNIT_DIR, 'gantry-scheduler-ha.conf'), 'utf8');
  t.match(dropIn, /^Wants=nats-server\.service$/m, 'the drop-in wants the local nats-server');
  // A drop-in's sections are the unit's: verified as the unit with the drop-in appended.
  const s = await verify('gantry-scheduler.service', `${sched}\n${dropIn}`);
  t.equal(s.code, 0, 'scheduler unit with the drop-in: exit 0');
  t.equal(s.out, '', `and nothing reported\n${s.out}`);
  const bad = await verify('gantry-scheduler.service', `${sched}\n${dropIn.replace('RestartSec=2s', 'RestartSecs=2s')}`);
  t.match(bad.out, /RestartSecs/, 'a misspelt key in the drop-in is reported');
});
