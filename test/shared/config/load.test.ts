import t from 'tap';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, parseHostPort } from '../../../shared/config/index.js';
import { ConfigError } from '../../../shared/errors/index.js';
import { schedulerConfigSchema, schedulerEnv } from '../../../scheduler/config.js';
import { agentConfigSchema, agentEnv } from '../../../agent/config.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

t.test('defaults', async (t) => {
  const c = loadConfig(schedulerConfigSchema, { env: {}, envBindings: schedulerEnv, sets: [] });
  t.same(c.grpc.listen, { host: '127.0.0.1', port: 7070 });
  t.same(c.metrics.listen, { host: '127.0.0.1', port: 9470 });
  t.equal(c.nodes.lostAfterMs, 15_000);
  t.same(c.nats.servers, ['nats://127.0.0.1:4222']);
  const a = loadConfig(agentConfigSchema, { env: {}, envBindings: agentEnv, sets: [] });
  t.same(a.metrics.listen, { host: '0.0.0.0', port: 9471 });
  t.same(a.scheduler.address, ['127.0.0.1:7070']);
  t.equal(a.collectors.nvidia.enabled, 'auto');
});

t.test('file < environment < flags', async (t) => {
  const f = file('s.yaml', 'dataDir: /from/file\nnodes:\n  lostAfterMs: 3000\ngrpc:\n  listen: 0.0.0.0:7000\n');
  const c = loadConfig(schedulerConfigSchema, {
    file: f,
    env: { GANTRY_DATA_DIR: '/from/env', GANTRY_NATS_URL: 'nats://a:1,nats://b:2' },
    envBindings: schedulerEnv,
    sets: ['dataDir=/from/flag'],
  });
  t.equal(c.dataDir, '/from/flag', 'a flag wins');
  t.same(c.nats.servers, ['nats://a:1', 'nats://b:2'], 'env lists are comma-separated');
  t.equal(c.nodes.lostAfterMs, 3000, 'file values apply');
  t.same(c.grpc.listen, { host: '0.0.0.0', port: 7000 });
});

const bad: Array<[string, { text?: string; sets?: string[]; env?: NodeJS.ProcessEnv }, RegExp]> = [
  ['unknown top-level key', { text: 'bogus: 1\n' }, /config bogus: unknown key/],
  ['unknown nested key', { sets: ['grpc.tls.nope=true'] }, /config grpc\.tls\.nope: unknown key/],
  ['bad port', { sets: ['grpc.listen=127.0.0.1:99999'] }, /config grpc\.listen: must be host:port/],
  ['wrong type', { text: 'nodes:\n  lostAfterMs: soon\n' }, /config nodes\.lostAfterMs: /],
  ['too small', { sets: ['nodes.lostAfterMs=5'] }, /config nodes\.lostAfterMs: /],
  ['bad enum', { env: { GANTRY_LOG_LEVEL: 'loud' } }, /config log\.level: /],
  ['bad nats url', { sets: ['nats.servers=localhost:4222'] }, /config nats\.servers\[0\]: must be nats:\/\//],
  ['not a mapping', { text: '- a\n- b\n' }, /config --config: .* must hold a mapping/],
  ['broken yaml', { text: 'a: [1,\n' }, /config --config: .* not valid YAML/],
  ['set without =', { sets: ['dataDir'] }, /config dataDir: expected key=value/],
];
for (const [name, src, re] of bad) {
  t.test(`refused: ${name}`, async (t) => {
    const f = src.text === undefined ? undefined : file(`${name.replace(/\W+/g, '-')}.yaml`, src.text);
    let caught: unknown;
    try {
      loadConfig(schedulerConfigSchema, { file: f, env: src.env ?? {}, envBindings: schedulerEnv, sets: src.sets ?? [] });
    } catch (e) {
      caught = e;
    }
    t.ok(caught instanceof ConfigError, 'a ConfigError');
    t.equal((caught as ConfigError).code, 'CONFIG_INVALID');
    t.match((caught as Error).message, re);
  });
}

t.test('missing file names the flag', async (t) => {
  t.throws(() => loadConfig(schedulerConfigSchema, { file: path.join(dir, 'nope.yaml'), env: {}, envBindings: [], sets: [] }), /config --config: cannot read/);
});

t.test('host:port forms', async (t) => {
  t.same(parseHostPort('10.0.0.1:80'), { host: '10.0.0.1', port: 80 });
  t.same(parseHostPort(':9471'), { host: '127.0.0.1', port: 9471 });
  t.same(parseHostPort('[::1]:7070'), { host: '::1', port: 7070 });
  t.equal(parseHostPort('7070'), undefined);
  t.equal(parseHostPort('a:b'), undefined);
});
