/**
 * Real parts for integration tests: a nats-server on a free port, the scheduler and agents as child
 * processes of the built CLI (dist/), and a gRPC client. Every start registers its own teardown.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import type { Test } from 'tap';
import { connect } from 'nats';
import { createCa, issueCert } from '../../shared/certgen/index.js';
import { EVENTS_STREAM, type GantryEvent } from '../../shared/events/index.js';
import { freePort, gantryEntry, packageRoot, processesMentioning, removeCgroupTree, stopProcessesMentioning, startChild, waitForPort, type Child } from '../../shared/procs/index.js';
import { schedulerClient, schedulerCall } from '../../shared/cli/client.js';
import { jobViewFromPb, nodeFromPb, type JobView } from '../../shared/wire/index.js';
import type { NodeRecord } from '../../shared/domain/index.js';


export const ROOT = packageRoot();
/** The repository's own copies of real captures (fixtures/SOURCES.md says where each came from). */
export const FIXTURES = path.join(ROOT, 'fixtures');
export const SIM_NVIDIA_SMI = path.join(ROOT, 'scripts', 'sim', 'nvidia-smi');
export const H100_XML = path.join(FIXTURES, 'nvidia', 'qx-h100.xml');
export const H100_TOPO = path.join(FIXTURES, 'nvidia', 'derived', 'topo-m-h100x8.txt');

export function requireBuilt(): string {
  const entry = gantryEntry();
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (npm run build)`);
  return entry;
}

export function tempDir(t: Test, prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  // Retries cover a file created while the tree is being removed (ENOTEMPTY).
  t.teardown(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));
  return dir;
}

export function which(bin: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface Nats {
  url: string;
  port: number;
  child: Child;
  /** JetStream's store; '' when the config file names it (NatsOptions.jetstreamFromConfig). */
  storeDir: string;
  /** Starts it again on the same port and store (after stop/kill). */
  restart(): Promise<void>;
}

/** A throw-away CA and a server certificate for 127.0.0.1/localhost (shared/certgen, as gantry certs makes them), in a temp dir. */
export async function makeTestCerts(t: Test): Promise<{ ca: string; cert: string; key: string }> {
  const dir = tempDir(t, 'gantry-tls-');
  const ca = await createCa('gantry-test-ca');
  const server = await issueCert(ca, { kind: 'server', name: 'gantry-test-server', hosts: ['127.0.0.1', 'localhost'] });
  const f = (n: string, text: string): string => {
    writeFileSync(path.join(dir, n), text, { mode: 0o600 });
    return path.join(dir, n);
  };
  return { ca: f('ca.crt', ca.cert), cert: f('server.crt', server.cert), key: f('server.key', server.key) };
}

/**
 * What this test process started: its children and the agents' task dirs. Each start's teardown
 * stops them; this is for when teardowns never run, because tap's per-file timeout (or a person)
 * ended the process with a signal: everything is SIGKILLed on the way out, so a killed test file
 * leaves no daemons (and their ranks) loading the machine for the files after it.
 */
const started = new Set<Child>();
const taskDirs = new Set<string>();
let guarded = false;

export function track(child: Child, taskDir?: string): Child {
  started.add(child);
  void child.exited.then(() => started.delete(child));
  if (taskDir) taskDirs.add(taskDir);
  if (!guarded) {
    guarded = true;
    const killAll = (): void => {
      for (const c of started) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      for (const dir of taskDirs) {
        for (const pid of processesMentioning(dir)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
    };
    process.on('exit', killAll);
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.once(sig, () => {
        killAll();
        process.exit(128 + (os.constants.signals[sig] ?? 15));
      });
    }
  }
  return child;
}

export interface NatsOptions {
  /**
   * The config file in `args` (-c) has its own jetstream block: leave out -js -sd (nats-server
   * refuses a store_dir set twice) and use its store_dir (point it at a temp dir).
   */
  jetstreamFromConfig?: boolean;
}

/** nats-server with JetStream on a free loopback port; `args` adds options (auth, TLS, a config file). */
export async function startNats(t: Test, args: readonly string[] = [], opts: NatsOptions = {}): Promise<Nats> {
  const bin = which('nats-server');
  if (!bin) throw new Error('nats-server is not on PATH (apt-get install nats-server)');
  const port = await freePort();
  const storeDir = opts.jetstreamFromConfig ? '' : tempDir(t, 'gantry-nats-');
  const jetstream = storeDir ? ['-js', '-sd', storeDir] : [];
  const launch = async (): Promise<Child> => {
    const c = track(startChild('nats-server', bin, ['-a', '127.0.0.1', '-p', String(port), ...jetstream, ...args]));
    await waitForPort(port, 10_000);
    return c;
  };
  const nats: Nats = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    child: await launch(),
    async restart() {
      nats.child = await launch();
    },
  };
  t.teardown(() => nats.child.kill());
  return nats;
}

export interface Scheduler {
  child: Child;
  address: string;
  grpcPort: number;
  metricsPort: number;
  dataDir: string;
}

export interface SchedulerOptions {
  dataDir?: string;
  natsUrl?: string;
  grpcPort?: number;
  lostAfterMs?: number;
  reportIntervalMs?: number;
  /**
   * true: the caller's extraArgs set up TLS and auth. Otherwise the scheduler serves plaintext
   * (grpc.insecure) and a call with no credential acts as an admin (auth.anonymousRole), for the
   * tests that are not about identity.
   */
  secure?: boolean;
  extraArgs?: string[];
  /** Added to the child's environment (e.g. NOTIFY_SOCKET). */
  env?: NodeJS.ProcessEnv;
  /** The log line that says it is up; default `scheduler running` (a high-availability standby logs `scheduler standby`). */
  readyLog?: string;
}

/** The plaintext, anonymous-admin set-up of tests that are not about identity. */
export const INSECURE_SCHEDULER_ARGS: readonly string[] = ['--set', 'grpc.insecure=true', '--set', 'auth.anonymousRole=admin'];

/** The environment with which the CLI (a child process) talks plaintext to such a scheduler: the CLI dials TLS otherwise. */
export const INSECURE_CLI_ENV: Readonly<NodeJS.ProcessEnv> = { GANTRY_INSECURE: '1' };

export async function startScheduler(t: Test, opts: SchedulerOptions = {}): Promise<Scheduler> {
  const entry = requireBuilt();
  const dataDir = opts.dataDir ?? tempDir(t, 'gantry-sched-');
  const grpcPort = opts.grpcPort ?? (await freePort());
  const args = [
    entry, 'scheduler',
    '--data-dir', dataDir,
    '--grpc-listen', `127.0.0.1:${grpcPort}`,
    '--metrics-listen', '127.0.0.1:0',
    '--lost-after-ms', String(opts.lostAfterMs ?? 1500),
    '--report-interval-ms', String(opts.reportIntervalMs ?? 250),
    ...(opts.natsUrl ? ['--nats-url', opts.natsUrl] : ['--set', 'nats.enabled=false']),
    ...(opts.secure ? [] : INSECURE_SCHEDULER_ARGS),
    // Tests poll as one caller from one address: no per-caller rate limit, unless extraArgs sets one.
    '--set', 'grpc.rateLimit.requestsPerSecond=0',
    ...(opts.extraArgs ?? []),
  ];
  const child = track(startChild('scheduler', process.execPath, args, { env: { ...process.env, GANTRY_LOG_FORMAT: 'json', ...opts.env } }));
  t.teardown(() => child.kill());
  // A safety net, not a timing check (a restarted scheduler may start while many agents reconnect on a busy 2-core machine).
  const line = await child.waitForLog(opts.readyLog ?? 'scheduler running', 45_000);
  return { child, address: `127.0.0.1:${grpcPort}`, grpcPort, metricsPort: Number(line.metricsPort ?? 0), dataDir };
}

/** The runner.cgroupRoot a test agent with this state dir uses: a tree of its own, found again by an agent restarted in place. */
export function testCgroupRoot(stateDir: string): string {
  return `/gantry-test/${path.basename(stateDir)}`;
}

export interface AgentOptions {
  /** The runner's state dir; default a fresh temp dir (reuse one to restart an agent in place). */
  stateDir?: string;
  address?: string;
  capture?: string;
  topo?: string;
  topology?: Record<string, string>;
  /** true: the caller's extraArgs set up TLS (scheduler.tls); otherwise the agent dials plaintext (scheduler.insecure). */
  secure?: boolean;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

export interface Agent {
  child: Child;
  name: string;
  metricsPort: number;
  stateDir: string;
}

export async function startAgent(t: Test, name: string, scheduler: string, opts: AgentOptions = {}): Promise<Agent> {
  const entry = requireBuilt();
  const metricsPort = await freePort();
  const stateDir = opts.stateDir ?? tempDir(t, `gantry-agent-${name}-`);
  const args = [
    entry, 'agent',
    '--node-name', name,
    '--address', opts.address ?? '127.0.0.1',
    '--state-dir', stateDir,
    '--set', 'runner.allowRoot=true',
    '--set', 'runner.allowedUsers=[nobody]',
    '--set', `runner.cgroupRoot=${testCgroupRoot(stateDir)}`,
    '--scheduler', scheduler,
    '--nvidia-smi', SIM_NVIDIA_SMI,
    '--metrics-listen', `127.0.0.1:${metricsPort}`,
    '--collect-interval-ms', '5000',
    '--set', 'collectors.kernelLog.enabled=false',
    '--set', 'collectors.host.enabled=false',
    '--set', 'collectors.infiniband.enabled=false',
    '--set', 'reconnect.initialDelayMs=100',
    '--set', 'reconnect.maxDelayMs=500',
    ...Object.entries(opts.topology ?? {}).flatMap(([k, v]) => ['--set', `topology.${k}=${v}`]),
    ...(opts.secure ? [] : ['--set', 'scheduler.insecure=true']),
    ...(opts.extraArgs ?? []),
  ];
  const env = {
    ...process.env,
    GANTRY_LOG_FORMAT: 'json',
    GANTRY_SIM_NVIDIA_XML: opts.capture ?? H100_XML,
    GANTRY_SIM_NVIDIA_TOPO: opts.topo ?? H100_TOPO,
    GANTRY_SIM_NODE: name,
    ...opts.env,
  };
  const child = track(startChild(`agent ${name}`, process.execPath, args, { env }), path.join(stateDir, 'tasks') + '/');
  t.teardown(async () => {
    await child.kill();
    // Ranks outlive their agent by design; at the end of a test their supervisors are told to stop
    // them (SIGTERM: the supervisor stops the rank's group and writes its exit record), found by the
    // state dir in their argv, and waited for: the state dir is removed next, and a supervisor still
    // writing into it would make that removal fail.
    await stopProcessesMentioning(path.join(stateDir, 'tasks') + '/');
    await removeCgroupTree(testCgroupRoot(stateDir));
  });
  // A safety net, not a timing check: an agent's start includes its first full probe and booting its
  // warm supervisor, and several agents start at once on a 2-core machine that may be busy.
  await child.waitForLog('agent running', 45_000);
  return { child, name, metricsPort, stateDir };
}

export async function listNodes(address: string): Promise<NodeRecord[]> {
  const client = schedulerClient(address);
  try {
    const res = await schedulerCall(client, 'ListNodes', {}, 5000);
    return res.nodes.map(nodeFromPb);
  } finally {
    client.close();
  }
}

/** Polls until check returns a value (not undefined/false), or fails with the last state. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function httpGet(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The built `gantry` CLI as a child process, with this process's environment, GANTRY_INSECURE=1
 * (the plaintext test schedulers: INSECURE_CLI_ENV) and `env` on top (a test of credentials sets
 * its own, and may unset that with GANTRY_INSECURE: '').
 */
export function gantryCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const entry = requireBuilt();
  return new Promise((resolve) => {
    execFile(process.execPath, [entry, ...args], { env: { ...process.env, ...INSECURE_CLI_ENV, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * `submit(name, body)`: writes the spec to `<dir>/<name>.yaml`, submits it with the CLI and returns the
 * job id; a refused submit fails the test (and throws, so the caller stops there).
 */
export function specSubmitter(t: Test, dir: string, env: NodeJS.ProcessEnv): (name: string, body: string) => Promise<string> {
  return async (name, body) => {
    const f = path.join(dir, `${name}.yaml`);
    writeFileSync(f, body);
    const r = await gantryCli(['submit', f], env);
    t.equal(r.code, 0, `submit ${name}: ${r.stderr}`);
    if (r.code !== 0) throw new Error(`submit ${name}: ${r.stderr}`);
    return r.stdout.trim().split(' ').at(-1)!;
  };
}

/** One job as the API shows it (a plaintext test scheduler). */
export async function jobView(address: string, id: string): Promise<JobView> {
  const c = schedulerClient(address);
  try {
    return jobViewFromPb(await schedulerCall(c, 'GetJob', { id }));
  } finally {
    c.close();
  }
}

/** Whether a process is still there (signal 0). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every event in GANTRY_EVENTS, in stream order, read straight from JetStream. */
export async function streamEvents(url: string): Promise<GantryEvent[]> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(EVENTS_STREAM);
    const out: GantryEvent[] = [];
    for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(EVENTS_STREAM, { seq });
      out.push(JSON.parse(new TextDecoder().decode(m.data)) as GantryEvent);
    }
    return out;
  } finally {
    await nc.close();
  }
}
