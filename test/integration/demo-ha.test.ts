/**
 * `gantry demo --ha`: three clustered nats-servers and two schedulers. The demo prints a status
 * table with a leader and a standby, the export line and the kill command; the test follows the
 * printed instructions: `gantry status` with the printed variables sees both schedulers and the
 * leader, `kill -9` of the printed pid makes the standby take over (status again), and the demo
 * stops by itself (--duration-s) with exit 0, leaving no process behind.
 */
import t from 'tap';
import path from 'node:path';
import { gantryEntry, startChild } from '../../shared/procs/index.js';
import { gantryCli, waitFor } from '../harness/cluster.js';

interface StatusJson {
  leader: { id: string; address: string; term: number } | null;
  schedulers: Array<{ address: string; id?: string; role?: string; error?: string }>;
}

t.test('gantry demo --ha: a leader, a standby, and a takeover', async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin`, GANTRY_CONFIG_FILE: '/dev/null' };
  for (const k of Object.keys(env)) if (k.startsWith('GANTRY_') && k !== 'GANTRY_CONFIG_FILE') delete env[k];
  const demo = startChild('demo-ha', process.execPath, [gantryEntry(), 'demo', '--ha', '--duration-s', '15'], { env, cwd: path.dirname(path.dirname(gantryEntry())) });
  t.teardown(() => demo.kill());
  const out = await waitFor('the demo prints its instructions', () => (/kill -9 \d+;/.test(demo.output()) ? demo.output() : undefined), 60_000);
  t.match(out, /Gantry HA demo is running: 3 clustered nats-servers, 2 schedulers/, 'the banner');
  t.match(out, /^leader: demo-scheduler-\d at 127\.0\.0\.1:\d+, term \d+, since/m, 'a leader, its term and since when');
  t.match(out, /\bleader\b.*\n.*\bstandby\b|\bstandby\b.*\n.*\bleader\b/, 'the table has a leader row and a standby row');
  t.equal((out.match(/^nats-server \d/gm) ?? []).length, 3, 'three nats-servers listed');

  const exportLine = /^ {2}export (.+)$/m.exec(out)?.[1] ?? '';
  const vars = Object.fromEntries(exportLine.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  t.match(vars.GANTRY_SCHEDULER_ADDRESS ?? '', /^127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/, 'the export line names both schedulers');
  const status = async (): Promise<StatusJson | undefined> => {
    const r = await gantryCli(['status', '--json'], { ...vars, GANTRY_INSECURE: '0', GANTRY_CONFIG_FILE: '/dev/null' });
    try {
      return JSON.parse(r.stdout) as StatusJson;
    } catch {
      return undefined;
    }
  };
  const before = await status();
  t.ok(before?.leader, `gantry status with the printed variables finds the leader\n${JSON.stringify(before)}`);
  t.same(before?.schedulers.map((s) => s.role).sort(), ['leader', 'standby'], 'and both schedulers');

  // Without a credential (the CA only): both roles refuse, the standby as the leader does.
  const anon = await gantryCli(['status', '--json'], { GANTRY_SCHEDULER_ADDRESS: vars.GANTRY_SCHEDULER_ADDRESS, GANTRY_CA: vars.GANTRY_CA, GANTRY_INSECURE: '0', GANTRY_CONFIG_FILE: '/dev/null' });
  const anonRows = (JSON.parse(anon.stdout || '{"schedulers":[]}') as StatusJson).schedulers;
  t.equal(anon.code, 1, 'no credential: no leader answers (exit 1)');
  t.equal(anonRows.filter((r) => /UNAUTHENTICATED/.test(r.error ?? '')).length, 2, `both schedulers refuse UNAUTHENTICATED\n${anon.stdout}${anon.stderr}`);

  const pid = Number(/kill -9 (\d+);/.exec(out)?.[1]);
  process.kill(pid, 'SIGKILL');
  const after = await waitFor('the standby takes over', async () => {
    const s = await status();
    return s?.leader && s.leader.address !== before!.leader!.address ? s : undefined;
  }, 30_000, 250);
  t.ok(after.leader!.term > before!.leader!.term, `the other scheduler leads, in a higher term (${before!.leader!.term} -> ${after.leader!.term})`);
  t.ok(after.schedulers.some((s) => s.error), "the killed one's row shows its error");

  const code = await demo.exited;
  t.equal(code, 0, `the demo stops by itself with exit 0\n${demo.output().slice(-1500)}`);
  t.match(demo.output(), /demo stopped; no process left behind/, 'and says so');
});
