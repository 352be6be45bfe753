/**
 * `gantry nats-auth` in process (the command's real code): what it writes and prints, and bad input
 * exiting 2 with the flag or the file named. test/integration/nats-permissions.test.ts runs the built
 * command and starts nats-server and the daemons on what it wrote.
 */
import t from 'tap';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { natsAuthCommand } from '../../cli/nats-auth.js';
import { tempDir } from '../harness/cluster.js';

async function run(argv: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await natsAuthCommand.run(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env: {}, cwd });
  return { code, stdout, stderr };
}

t.test('writes the block and the seeds under --out (relative to the working directory)', async (t) => {
  const cwd = tempDir(t, 'gantry-natsauth-cli-');
  const r = await run(['--nodes', 'gpu-01, gpu.02', '--out', 'auth'], cwd);
  t.equal(r.code, 0, r.stderr);
  const dir = path.join(cwd, 'auth');
  t.match(r.stdout, `wrote ${dir}/nats-auth.conf`);
  t.match(r.stdout, /node gpu\.02 {2}U[A-Z0-9]+ {2}.*node-gpu%2E02\.nk/);
  const conf = readFileSync(path.join(dir, 'nats-auth.conf'), 'utf8');
  t.match(conf, /"gantry\.telemetry\.\*\.gpu-01"/);
  t.match(conf, /"gantry\.telemetry\.\*\.gpu%2E02"/);
  t.equal(statSync(path.join(dir, 'node-gpu-01.nk')).mode & 0o777, 0o600);

  const again = await run(['--nodes', 'gpu-01,gpu.02', '--out', 'auth'], cwd);
  t.equal(again.code, 0);
  t.equal(readFileSync(path.join(dir, 'nats-auth.conf'), 'utf8'), conf, 'rerun with the same nodes: the same users');
  const rotated = await run(['--nodes', 'gpu-01,gpu.02', '--out', 'auth', '--rotate'], cwd);
  t.equal(rotated.code, 0);
  t.not(readFileSync(path.join(dir, 'nats-auth.conf'), 'utf8'), conf, '--rotate: new users');
});

t.test('bad input exits 2 and says why', async (t) => {
  const cwd = tempDir(t, 'gantry-natsauth-cli-');
  t.match(await run(['--out', 'x'], cwd), { code: 2, stderr: /--nodes and --out are required/ });
  t.match(await run(['--nodes', 'a'], cwd), { code: 2, stderr: /--nodes and --out are required/ });
  t.match(await run(['--nodes', 'a', '--out', 'x', '--bogus'], cwd), { code: 2, stderr: /bogus/ });
  t.match(await run(['--nodes', 'a,a', '--out', 'x'], cwd), { code: 2, stderr: /node "a" is listed twice/ });
  // A seed file someone edited by hand is refused, naming whose it is; nothing is rewritten.
  t.equal((await run(['--nodes', 'a', '--out', 'y'], cwd)).code, 0);
  writeFileSync(path.join(cwd, 'y', 'node-a.nk'), 'SUnot-a-seed\n');
  const conf = readFileSync(path.join(cwd, 'y', 'nats-auth.conf'), 'utf8');
  t.match(await run(['--nodes', 'a', '--out', 'y'], cwd), { code: 2, stderr: /seed of node "a"/ });
  t.equal(readFileSync(path.join(cwd, 'y', 'nats-auth.conf'), 'utf8'), conf, 'the block is left as it was');
  t.match(await run(['--help'], cwd), { code: 0, stdout: /usage: gantry nats-auth/ });
});
