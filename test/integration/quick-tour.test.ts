/**
 * The README's quick tour, run as written. The test reads the fenced ```sh blocks of README.md's
 * "## Quick tour" section, so the README and this test cannot drift apart, and runs every command in
 * them for real:
 *
 *  - `bash scripts/demo.sh [ARGS]` is the demo the other commands talk to. The test starts what that
 *    script ends with, `node dist/cli/main.js demo [ARGS]` with /usr/sbin on PATH, and not
 *    the script itself: its set-up part installs with apt, may run `npm ci`, and rebuilds dist/,
 *    which would change the build under the other test files running beside this one. The demo gets
 *    `--grpc-port` on a free port (7070 may be taken on a shared machine) and `--duration-s` as a
 *    last resort should this process die without its teardowns; it is real: nats-server, a
 *    scheduler, simulated agents (stand-in nvidia-smi), sample jobs.
 *  - Every other line runs through `bash -c` from the repository root, exactly as written except
 *    that the README's default address 127.0.0.1:7070 becomes the demo's address in the text, with
 *    the variables of the first `export GANTRY_...` line the demo prints (alice's token and the
 *    demo's CA), which is what the README tells a user to paste. Other GANTRY_* variables of this
 *    process are not passed on, so only what the README writes counts (and the CLI's config file
 *    is an empty directory's).
 *  - `grpcurl` is not in Debian's apt, so where it is not on PATH its one form
 *    `grpcurl -cacert "$GANTRY_CA" ADDR list` is done here with grpc-js through the same server
 *    reflection service (v1, as grpcurl asks first) over TLS, printing one service per line the way
 *    grpcurl does.
 *
 * Each command must exit 0 (or the code its check says the README means: a refusal) and its output must pass the check below that matches it; a command that
 * no check matches fails the test (add a check), so a new line in the tour is never run unchecked.
 * Where a line's `# comment` names columns, fields or services, the check holds the output to it.
 * The demo and everything it started are stopped at the end, and on failure by the teardown; all of
 * it runs under a temporary directory of this test (TMPDIR), which the teardown also sweeps.
 */
import { spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { parse as parseYaml } from 'yaml';
import { freePort, gantryEntry, processesMentioning, startChild, stopProcessesMentioning, type Child } from '../../shared/procs/index.js';
import { demoNodes } from '../../cli/demo.js';
import { requireBuilt, tempDir, waitFor, which, ROOT } from '../harness/cluster.js';
import { listServices } from '../harness/reflection.js';


const DEFAULT_ADDRESS = '127.0.0.1:7070';

export interface TourCommand {
  /** The command as written (continuation lines joined), trailing comment included. */
  line: string;
  /** The command without its trailing `# comment`. */
  command: string;
  /** The trailing comment's text ('' when none). */
  comment: string;
  /** 1-based line number in README.md. */
  readmeLine: number;
}

/** The commands of the ```sh blocks between "## Quick tour" and the next "## " heading. */
export function quickTourCommands(readme: string): TourCommand[] {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => /^##\s+Quick tour\s*$/.test(l));
  if (start < 0) throw new Error('README.md has no "## Quick tour" section');
  let end = lines.findIndex((l, i) => i > start && /^##\s/.test(l));
  if (end < 0) end = lines.length;
  const out: TourCommand[] = [];
  let fence: string | undefined;
  let pending: { text: string; readmeLine: number } | undefined;
  for (let i = start + 1; i < end; i++) {
    const l = lines[i]!;
    const f = /^\s*```\s*(\S*)\s*$/.exec(l);
    if (f) {
      if (fence === undefined) fence = f[1]!;
      else {
        if (pending) throw new Error(`README.md:${pending.readmeLine}: a continued line runs into the end of its block`);
        fence = undefined;
      }
      continue;
    }
    if (fence === undefined) continue;
    if (!['sh', 'bash', 'shell', 'console'].includes(fence)) throw new Error(`README.md:${i + 1}: the quick tour's code blocks must be \`\`\`sh, not \`\`\`${fence}`);
    const text = pending ? `${pending.text} ${l.trim()}` : l.trim();
    const readmeLine = pending ? pending.readmeLine : i + 1;
    if (text.endsWith('\\')) {
      pending = { text: text.slice(0, -1).trimEnd(), readmeLine };
      continue;
    }
    pending = undefined;
    if (text === '' || text.startsWith('#')) continue;
    const hash = /\s#\s?/.exec(text);
    out.push({
      line: text,
      command: hash ? text.slice(0, hash.index).trim() : text,
      comment: hash ? text.slice(hash.index + hash[0].length).trim() : '',
      readmeLine,
    });
  }
  if (fence !== undefined) throw new Error('README.md: a quick-tour code block is not closed');
  return out;
}

interface Ran {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Runs `bash -c line` from the repository root; kills it (its process group) after timeoutMs. */
function runLine(line: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', line], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? 'unknown', stdout, stderr });
    });
  });
}

/** What `grpcurl -cacert CA ADDR list` prints, through the server reflection service (v1), over TLS. */
async function reflectionList(address: string, caFile: string): Promise<Ran> {
  try {
    const names = await listServices(address, 'v1', 10_000, grpc.credentials.createSsl(readFileSync(caFile)));
    return { code: 0, stdout: names.map((n) => `${n}\n`).join(''), stderr: '' };
  } catch (e) {
    return { code: 1, stdout: '', stderr: `Failed to list services: ${(e as Error).message}\n` };
  }
}

/** What the checks know about the demo the test started. */
interface DemoFacts {
  /** Node name → GPU count, from demoNodes and the captures they serve. */
  nodes: Map<string, number>;
  /** The `name:` of each sample job the demo submits (examples/jobs). */
  jobNames: string[];
}

interface Check {
  what: string;
  match: RegExp;
  /** The exit code the README says the line ends with (default 0). */
  exitCode?: number;
  /** `out` is the line's stdout, or with exitCode set its stderr (a refusal's message). */
  check(t: Test, out: string, cmd: TourCommand, demo: DemoFacts): void;
}

const gpusIn = (xmlPath: string): number => (readFileSync(xmlPath, 'utf8').match(/<gpu id=/g) ?? []).length;

/** A table printed with padEnd'ed columns: the column that starts under `column` in the header. */
function columnOf(header: string, row: string, column: string): string {
  const at = header.indexOf(column);
  if (at < 0) throw new Error(`no column ${column} in ${JSON.stringify(header)}`);
  return row.slice(at).trim().split(/\s{2,}/)[0] ?? '';
}

const CHECKS: Check[] = [
  {
    what: 'gantry whoami: the identity the README names, as the scheduler verified it',
    match: /^node dist\/cli\/main\.js whoami(\s|$)/,
    check(t, out, cmd) {
      const [name, kind, via] = /^(\w+), (\w+), (\w+)/.exec(cmd.comment)?.slice(1) ?? [];
      if (!t.ok(name, 'the comment says who, what kind and how')) return;
      t.match(out, new RegExp(`^name +${name}$`, 'm'), `name ${name}`);
      t.match(out, new RegExp(`^kind +${kind}$`, 'm'), `kind ${kind}`);
      t.match(out, new RegExp(`^authenticated +${via}$`, 'm'), `authenticated by ${via}`);
      const groups = /groups (\w+)/.exec(cmd.comment)?.[1];
      if (groups) t.match(out, new RegExp(`^groups +${groups}$`, 'm'), `groups ${groups}`);
      const roles = /roles (\w+)/.exec(cmd.comment)?.[1];
      if (roles) t.match(out, new RegExp(`^roles +${roles}$`, 'm'), `roles ${roles}`);
      t.match(out, /^permissions +.*jobs\.submit/m, 'may submit');
      t.notMatch(out, /^permissions +.*jobs\.readAll/m, 'sees only her own jobs');
    },
  },
  {
    what: 'gantry cordon as a user: refused, naming the permission the comment names',
    match: /^node dist\/cli\/main\.js cordon /,
    exitCode: 1,
    check(t, out, cmd) {
      const permission = /lacks (\S+)/.exec(cmd.comment)?.[1];
      if (!t.ok(permission, 'the comment names the permission')) return;
      t.match(out, /PERMISSION_DENIED/, 'PERMISSION_DENIED');
      t.ok(out.includes(permission!), `names ${permission}`);
    },
  },
  {
    what: 'gantry nodes: the table lists every demo node, ready, with its GPUs',
    match: /^node dist\/cli\/main\.js nodes(?!.*--json)(\s|$)/,
    check(t, out, cmd, demo) {
      const [header, ...rows] = out.trimEnd().split('\n');
      if (cmd.comment) t.equal(header!.split(/\s+/).join(' '), cmd.comment, 'the header is the one the README names');
      t.same(rows.map((r) => r.split(/\s+/)[0]).sort(), [...demo.nodes.keys()].sort(), 'one row per demo node');
      for (const r of rows) {
        const name = r.split(/\s+/)[0]!;
        t.equal(columnOf(header!, r, 'STATE'), 'ready', `${name} is ready`);
        t.equal(Number(columnOf(header!, r, 'GPUS')), demo.nodes.get(name), `${name}: GPUs from its capture`);
      }
    },
  },
  {
    what: 'gantry nodes --json: every demo node, with the fields the README names',
    match: /^node dist\/cli\/main\.js nodes .*--json(\s|$)/,
    check(t, out, cmd, demo) {
      const nodes = JSON.parse(out) as Array<Record<string, unknown>>;
      t.same(nodes.map((n) => n.name).sort(), [...demo.nodes.keys()].sort(), 'one element per demo node');
      const fields = cmd.comment
        .split(',')
        .map((f) => f.replace(/\(.*\)/, '').trim())
        .filter((f) => f && f !== '...');
      t.ok(fields.length > 0, 'the README names fields');
      for (const n of nodes) {
        for (const f of fields) t.ok(f in n, `${String(n.name)} has ${f}`);
        t.equal(n.state, 'ready', `${String(n.name)} is ready`);
        t.equal(n.gpuCount, demo.nodes.get(String(n.name)), `${String(n.name)}: gpuCount from its capture`);
        t.equal(new Date(String(n.lastSeen)).toISOString(), n.lastSeen, `${String(n.name)}: lastSeen is ISO`);
      }
    },
  },
  {
    what: "gantry jobs: the demo's sample jobs, placed",
    match: /^node dist\/cli\/main\.js jobs(\s|$)/,
    check(t, out, _cmd, demo) {
      const [header, ...rows] = out.trimEnd().split('\n');
      t.match(header, /^ID\s+KIND\s+.*STATE/, 'a jobs table');
      for (const name of demo.jobNames) {
        const row = rows.find((r) => r.startsWith(`${name}-`));
        if (!t.ok(row, `the sample job ${name} is listed`)) continue;
        t.match(columnOf(header!, row!, 'STATE'), /^(running|succeeded)$/, `${name} was placed and runs (or ran)`);
      }
    },
  },
  {
    what: 'grpcurl list: server reflection lists the services the README names',
    match: /^grpcurl\s/,
    check(t, out, cmd) {
      const listed = out.trim().split('\n');
      const named = cmd.comment.match(/[a-z][\w]*(\.[\w]+)+/g) ?? [];
      t.ok(named.length > 0, 'the README names services');
      for (const s of named) t.ok(listed.includes(s), `${s} is listed`);
    },
  },
  {
    what: "gantry agent inventory --json: the stand-in's capture, parsed",
    match: /(^|\s)node dist\/cli\/main\.js agent inventory .*--json/,
    check(t, out, cmd) {
      const xmlPath = /GANTRY_SIM_NVIDIA_XML=(\S+)/.exec(cmd.command)?.[1];
      if (!t.ok(xmlPath, 'the line names the capture it serves')) return;
      const xml = readFileSync(path.resolve(ROOT, xmlPath!), 'utf8');
      const inv = JSON.parse(out) as { gpus: Array<{ name: string }>; firmware: { driverVersion: string } };
      t.ok(inv.gpus.length > 0, 'it reports GPUs');
      t.equal(inv.gpus.length, gpusIn(path.resolve(ROOT, xmlPath!)), 'as many GPUs as the capture holds');
      t.equal(inv.gpus[0]!.name, /<product_name>([^<]+)<\/product_name>/.exec(xml)![1], 'the GPU model from the capture');
      t.equal(inv.firmware.driverVersion, /<driver_version>([^<]+)<\/driver_version>/.exec(xml)![1], 'the driver from the capture');
    },
  },
  {
    what: 'gantry plan: the example job fits the example cluster, every rank on a node of that cluster',
    match: /^node dist\/cli\/main\.js plan\s/,
    check(t, out, cmd) {
      const clusterFile = /--cluster\s+(\S+)/.exec(cmd.command)?.[1];
      const jobFile = /--job\s+(\S+)/.exec(cmd.command)?.[1];
      if (!t.ok(clusterFile && jobFile, 'the line names a cluster and a job file')) return;
      const cluster = parseYaml(readFileSync(path.resolve(ROOT, clusterFile!), 'utf8')) as { nodes: Array<{ name: string }> };
      const job = parseYaml(readFileSync(path.resolve(ROOT, jobFile!), 'utf8')) as { kind: string; name: string; ranks?: number };
      const first = out.split('\n')[0]!;
      t.match(first, new RegExp(`^${job.name} \\(${job.kind}\\): fits: `), `the first line says ${job.name} fits`);
      const names = new Set(cluster.nodes.map((n) => n.name));
      const placed = [...out.matchAll(/^\s+\d+\s+(\S+)\s+[\d,-]+\s*$/gm)].map((m) => m[1]!);
      t.ok(placed.length > 0, 'it prints the placement');
      if (job.kind === 'Training' && job.ranks) t.equal(placed.length, job.ranks, 'one row per rank');
      t.same(placed.filter((n) => !names.has(n)), [], `every placement is on a node of ${clusterFile}`);
    },
  },
];

const DEMO_LINE = /^bash scripts\/demo\.sh(\s+(.*))?$/;

t.test('every command of the README quick tour runs as written against a demo', async (t) => {
  requireBuilt();
  const commands = quickTourCommands(readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  t.ok(commands.length > 1, `the quick tour shows ${commands.length} commands`);
  const demoLine = DEMO_LINE.exec(commands[0]?.command ?? '');
  if (!demoLine) {
    t.fail(`the quick tour's first command is ${JSON.stringify(commands[0]?.command)}, not bash scripts/demo.sh: the test does not know what to start`);
    return;
  }
  const rest = commands.slice(1);
  t.same(rest.filter((c) => /scripts\/demo\.sh/.test(c.command)).map((c) => c.readmeLine), [], 'one demo, started first');
  const unchecked = rest.filter((c) => CHECKS.filter((k) => k.match.test(c.command)).length !== 1);
  t.same(unchecked.map((c) => `README.md:${c.readmeLine}: ${c.command}`), [], 'every command has exactly one check here');

  // The demo, as scripts/demo.sh runs it, on a free port, under a directory of this test.
  const demoArgs = (demoLine[2] ?? '').split(/\s+/).filter(Boolean);
  const agentsArg = demoArgs.indexOf('--agents');
  const agents = agentsArg >= 0 ? Number(demoArgs[agentsArg + 1]) : 8;
  const dir = tempDir(t, 'gantry-quick-tour-');
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const PATH = `${process.env.PATH ?? ''}:/usr/sbin`;
  const cacheDir = path.join(process.env.TMPDIR || '/tmp', `gantry-nvidia-smi-cache-${process.getuid?.() ?? 0}`);
  const demo: Child = startChild('gantry demo', process.execPath, [gantryEntry(), 'demo', ...demoArgs, '--grpc-port', String(port), '--duration-s', '300'], {
    cwd: ROOT,
    // The stand-in's answer cache stays where it is by default, so a warm cache is used.
    env: { ...process.env, PATH, TMPDIR: dir, GANTRY_SIM_CACHE_DIR: cacheDir },
  });
  // If tap (or a person) ends this process with a signal, its teardowns do not run: kill it all then.
  const killAll = (): void => {
    if (demo.proc.exitCode === null && demo.proc.signalCode === null) demo.proc.kill('SIGKILL');
    for (const pid of processesMentioning(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  process.once('exit', killAll);
  t.teardown(async () => {
    process.off('exit', killAll);
    await demo.stop(20_000);
    await stopProcessesMentioning(dir);
  });

  const began = Date.now();
  await waitFor(
    'the demo to say it is running',
    () => {
      if (demo.proc.exitCode !== null || demo.proc.signalCode !== null) throw new Error(`the demo exited: ${demo.output().slice(-3000)}`);
      return demo.output().includes('Gantry demo is running');
    },
    120_000,
    100,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${demo.output().slice(-3000)}`);
  });
  t.comment(`demo up on ${address} in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  t.match(demo.output(), `scheduler gRPC  ${address}`, 'the demo listens where it was told');

  const facts: DemoFacts = {
    nodes: new Map(demoNodes(agents).map((n) => [n.name, gpusIn(n.capture)])),
    jobNames: demoArgs.includes('--no-jobs')
      ? []
      : ['train.yaml', 'serve.yaml', 'batch.yaml'].map((f) => (parseYaml(readFileSync(path.join(ROOT, 'examples', 'jobs', f), 'utf8')) as { name: string }).name),
  };
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GANTRY_')));
  // The README has the user paste the demo's first export line (alice's token): the test does the same.
  const exported = /^\s*export ((?:GANTRY_[A-Z_]+=\S+ ?)+)$/m.exec(demo.output())?.[1];
  if (!t.ok(exported, 'the demo prints an export line for a second terminal')) return;
  for (const kv of exported!.trim().split(' ')) {
    const eq = kv.indexOf('=');
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  t.equal(env.GANTRY_SCHEDULER_ADDRESS, address, 'its address is the demo\'s');
  env.XDG_CONFIG_HOME = dir;
  const grpcurl = which('grpcurl');

  for (const c of rest) {
    const check = CHECKS.find((k) => k.match.test(c.command));
    if (!check) continue; // failed above
    await t.test(`README.md:${c.readmeLine}: ${c.command}`, async (t) => {
      const line = c.line.split(DEFAULT_ADDRESS).join(address);
      let ran: Ran;
      if (/^grpcurl\s/.test(c.command) && !grpcurl) {
        const args = c.command.split(DEFAULT_ADDRESS).join(address).split(/\s+/);
        if (!(args.length === 5 && args[1] === '-cacert' && args[2] === '"$GANTRY_CA"' && args[4] === 'list')) {
          t.fail(`grpcurl is not on PATH and the test stands in only for 'grpcurl -cacert "$GANTRY_CA" ADDR list', not ${c.command}`);
          return;
        }
        t.comment('grpcurl is not on PATH: listing through server reflection with grpc-js instead');
        ran = await reflectionList(args[3]!, env.GANTRY_CA!);
      } else {
        ran = await runLine(line, env);
      }
      const said = `stdout:\n${ran.stdout.slice(-2000)}\nstderr:\n${ran.stderr.slice(-2000)}`;
      if (!t.equal(ran.code, check.exitCode ?? 0, `exits ${check.exitCode ?? 0}`, { output: said })) return;
      try {
        check.check(t, check.exitCode ? ran.stderr : ran.stdout, c, facts);
      } catch (e) {
        t.fail(`${check.what}: ${(e as Error).message}`, { output: said });
      }
    });
  }

  // Stopping: the demo exits 0 and leaves nothing behind.
  const stopping = Date.now();
  t.equal(await demo.stop(20_000), 0, 'the demo stops on SIGTERM with exit 0');
  t.comment(`the demo stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
  t.match(demo.output(), 'no process left behind', 'the demo says it stopped everything');
  t.same(processesMentioning(dir), [], 'no process runs under the demo directory');
  t.comment(`quick tour ran in ${((Date.now() - began) / 1000).toFixed(1)} s after the demo start`);
});

t.test('quickTourCommands reads the ```sh blocks of the Quick tour section only', async (t) => {
  const md = [
    '# X', '```sh', 'not-this', '```',
    '## Quick tour', 'text `inline`', '```sh', 'bash scripts/demo.sh', '```', 'more',
    '```sh', '# a comment line', 'cmd one   # says one', 'cmd two \\', '  --flag  # continued', '', '```',
    '## Next', '```sh', 'not-this-either', '```',
  ].join('\n');
  t.same(
    quickTourCommands(md).map((c) => [c.command, c.comment, c.readmeLine]),
    [
      ['bash scripts/demo.sh', '', 8],
      ['cmd one', 'says one', 13],
      ['cmd two --flag', 'continued', 14],
    ],
  );
  t.throws(() => quickTourCommands('# none\n'), /no "## Quick tour" section/);
  t.throws(() => quickTourCommands('## Quick tour\n```python\nx\n```\n'), /must be ```sh/);
  t.throws(() => quickTourCommands('## Quick tour\n```sh\nx\n'), /not closed/);
});
