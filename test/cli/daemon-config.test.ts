/** The daemons refuse bad config with exit code 2 and a message naming the key (real child processes). */
import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { requireBuilt, tempDir } from '../harness/cluster.js';

const entry = requireBuilt();

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [entry, ...args], { env: { ...process.env, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

t.test('exit 2 naming the key', async (t) => {
  const dir = tempDir(t, 'gantry-cfg-');
  const yaml = path.join(dir, 'agent.yaml');
  writeFileSync(yaml, 'collectors:\n  nvidia:\n    timeoutMs: -5\n');
  const cases: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
    ['scheduler unknown key', ['scheduler', '--set', 'grpc.bogus=1'], {}, /config grpc\.bogus: unknown key/],
    ['scheduler bad listen flag', ['scheduler', '--grpc-listen', 'nope'], {}, /config grpc\.listen: must be host:port/],
    ['scheduler bad env', ['scheduler'], { GANTRY_LOG_LEVEL: 'shout' }, /config log\.level:/],
    ['scheduler unknown flag', ['scheduler', '--frobnicate'], {}, /Unknown option '--frobnicate'/],
    ['agent bad file value', ['agent', '--config', yaml], {}, /config collectors\.nvidia\.timeoutMs:/],
    ['agent unknown key', ['agent', '--set', 'collectors.cuda.enabled=true'], {}, /config collectors\.cuda: unknown key/],
    ['agent missing config file', ['agent', '--config', path.join(dir, 'missing.yaml')], {}, /config --config: cannot read/],
    ['unknown command', ['frobnicate'], {}, /unknown command "frobnicate"/],
  ];
  for (const [name, args, env, re] of cases) {
    const r = await run(args, env);
    t.equal(r.code, 2, `${name}: exit code 2`);
    t.match(r.stderr, re, `${name}: names the key`);
  }
});

t.test('TLS needs its files', async (t) => {
  const dir = tempDir(t, 'gantry-tls-');
  const r = await run(['scheduler', '--data-dir', dir, '--grpc-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', '--set', 'nats.enabled=false']);
  t.equal(r.code, 2, 'exit 2');
  t.match(r.stderr, /config grpc\.tls\.certFile: is required unless grpc\.insecure is true/);
});

t.test('help exits 0', async (t) => {
  const r = await run(['scheduler', '--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /--grpc-listen/);
  t.match(r.stdout, /GANTRY_DATA_DIR/);
});
