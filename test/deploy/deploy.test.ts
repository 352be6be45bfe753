/**
 * The operator's deployment kit (deploy/) checked with the real tools:
 * - systemd-analyze verify (warnings count as failures: they do not change its exit status) and
 *   systemd-analyze security on both units; the units' settings the daemons rely on;
 * - promtool check config / check rules / test rules (alert unit tests in gantry-rules.promtest.yml);
 * - the example configs through the daemons' real schemas, complete and commented;
 * - every metric name in the rules and the dashboard exported by scheduler/metrics.ts or agent/metrics.ts,
 *   and by the running daemons' /metrics;
 * - docs/operations.md's config tables against the schemas, and a runbook section per alert;
 * - both daemons start from the example configs and connect; the real Prometheus, run with the kit's
 *   scrape jobs and rules, scrapes them (relabelled `node` label) and evaluates every rule without
 *   error; both daemons stop on SIGTERM with status 0 within their units' TimeoutStopSec.
 * The tool checks also run once against a broken copy each, to show they can fail.
 *
 * About 740 lines, over the usual 400: one file for the deployment kit, whose checks share the
 * helpers that read the kit (units, rules, dashboard, configs, the operations doc) at the top.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { loadConfig, type EnvBinding, type FlagBinding } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import { schedulerConfigSchema, schedulerEnv, schedulerFlags } from '../../scheduler/config.js';
import { agentConfigSchema, agentEnv, agentFlags } from '../../agent/config.js';
import { freePort, gantryEntry, packageRoot, startChild, type Child } from '../../shared/procs/index.js';

const ROOT = packageRoot();
const DEPLOY = path.join(ROOT, 'deploy');
const UNIT_DIR = path.join(DEPLOY, 'systemd');
const PROM_CONFIG = path.join(DEPLOY, 'prometheus', 'prometheus.yml');
const PROM_RULES = path.join(DEPLOY, 'prometheus', 'gantry-rules.yml');
const PROM_TESTS = path.join(ROOT, 'test', 'deploy', 'gantry-rules.promtest.yml');
const DASHBOARD = path.join(DEPLOY, 'grafana', 'gantry-overview.json');
const SCHEDULER_YAML = path.join(DEPLOY, 'config', 'scheduler.yaml');
const AGENT_YAML = path.join(DEPLOY, 'config', 'agent.yaml');
const OPERATIONS_MD = path.join(ROOT, 'docs', 'operations.md');
const METRIC_SOURCES = [path.join(ROOT, 'scheduler', 'metrics.ts'), path.join(ROOT, 'scheduler', 'metrics-jobs.ts'), path.join(ROOT, 'agent', 'metrics.ts'), path.join(ROOT, 'agent', 'hooks', 'metrics.ts'), path.join(ROOT, 'scheduler', 'ha', 'control-plane.ts'), path.join(ROOT, 'scheduler', 'hardware-metrics.ts')];

// ---------------------------------------------------------------------------------------------
// helpers

function tempDir(tt: Test, prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A required tool: found on PATH or in the usual system directories, or the test fails saying how to get it. */
function tool(name: string, install: string): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/sbin', '/bin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  throw new Error(`${name} is required for the deploy tests and was not found on PATH or in /usr/bin, /usr/sbin (${install})`);
}

interface RunResult {
  code: number;
  out: string;
}

function run(bin: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 15_000, cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env }, (err, stdout, stderr) => {
      const errCode = (err as { code?: unknown } | null)?.code;
      const code = err ? (typeof errCode === 'number' ? errCode : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

type UnitFile = Map<string, Map<string, string[]>>;

/** systemd unit syntax: [Section], Key=Value (repeatable), # and ; comments. */
function parseUnit(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = new Map();
      unit.set(sec[1]!, section);
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq <= 0) throw new Error(`not a unit file line: ${raw}`);
    const key = line.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return unit;
}

function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  const v = unit.get(section)?.get(key);
  return v?.[v.length - 1];
}

function unitWords(unit: UnitFile, section: string, key: string): string[] {
  return (unit.get(section)?.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);
}

/** systemd time spans as used here: "30", "30s", "5min", "1min 30s". */
function seconds(span: string): number {
  let total = 0;
  for (const m of span.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m|h)?/g)) {
    const n = Number(m[1]);
    const unit = m[2] ?? 's';
    total += unit === 'ms' ? n / 1000 : unit === 'min' || unit === 'm' ? n * 60 : unit === 'h' ? n * 3600 : n;
  }
  return total;
}

/**
 * Runs `systemd-analyze verify` on a copy of the unit whose ExecStart binary is replaced by `exe`
 * (/usr/bin/gantry is not installed here). Returns the exit status and the problems it printed about
 * this unit: a misspelt key or a bad value is only a warning, which does not change the exit status.
 */
async function verifyUnit(systemdAnalyze: string, dir: string, name: string, text: string): Promise<{ code: number; problems: string[]; out: string }> {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  const r = await run(systemdAnalyze, ['verify', '--man=no', file], { env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: '' } });
  const otherUnit = /^(?:\/\S+\/)?[\w@.-]+\.(?:service|socket|target|mount|path|timer|slice|device|scope|swap|automount)(?::\d+)?:/;
  const problems = r.out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    // Lines about other units on this machine (pulled in by After=/Wants=) are not ours to judge.
    .filter((l) => l.includes(name) || !otherUnit.test(l));
  return { code: r.code, problems, out: r.out };
}

function stubExecutable(dir: string): string {
  const exe = path.join(dir, 'bin', 'gantry');
  mkdirSync(path.dirname(exe), { recursive: true });
  writeFileSync(exe, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return exe;
}

const withExec = (text: string, exe: string): string => text.replace(/^ExecStart=\/usr\/bin\/gantry /m, `ExecStart=${exe} `);

/** Leaf keys of a parsed config: records ({}), arrays and host:port objects count as leaves. */
function leaves(obj: unknown, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (v: unknown, p: string): void => {
    const isHostPort = typeof v === 'object' && v !== null && 'host' in v && 'port' in v && Object.keys(v).length === 2;
    if (typeof v !== 'object' || v === null || Array.isArray(v) || isHostPort || Object.keys(v).length === 0) {
      out.set(p, v);
      return;
    }
    for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
  };
  walk(obj, prefix);
  return out;
}

/** The schema's keys, from its defaults. Records (topology, labels) are one key each. */
function schemaLeaves(schema: z.ZodType): Map<string, unknown> {
  return leaves(schema.parse({}));
}

/** Line of each key path in a YAML mapping document (block style), for "is it commented" checks. */
function yamlKeyLines(text: string): Map<string, number> {
  const lines = text.split('\n');
  const stack: Array<{ indent: number; key: string }> = [];
  const out = new Map<string, number>();
  lines.forEach((line, i) => {
    const m = /^(\s*)([A-Za-z][\w-]*):(\s|$)/.exec(line);
    if (!m) return;
    const indent = m[1]!.length;
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    stack.push({ indent, key: m[2]! });
    out.set(stack.map((s) => s.key).join('.'), i);
  });
  return out;
}

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'Inf', 'NaN', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'atan2']);

/**
 * Metric names in a PromQL expression (also Grafana's templated ones): identifiers that are not
 * functions, aggregations, keywords, label names, durations or numbers.
 */
function metricNames(expr: string): string[] {
  let s = expr.replace(/label_values\(([^,()]*(?:\{[^}]*\})?)\s*,[^)]*\)/g, '$1');
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\$\{?\w+\}?/g, ' ');
  const names: string[] = [];
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const before = s[m.index - 1] ?? ' ';
    if (/[0-9.]/.test(before)) continue; // 1e3, 0.5
    if (s.slice(m.index + m[0].length).trimStart().startsWith('(')) continue; // function or aggregation
    if (PROMQL_WORDS.has(m[0])) continue;
    names.push(m[0]);
  }
  return names;
}

/** Metric names the daemons export, read from their sources: names, and histograms' derived series. */
function exportedMetricNames(): { names: Set<string>; histograms: Set<string> } {
  const names = new Set<string>();
  const histograms = new Set<string>();
  for (const file of METRIC_SOURCES) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/'((?:gantry_(?:agent|scheduler)_|DCGM_FI_)[A-Za-z0-9_]+)'/g)) names.add(m[1]!);
    for (const m of src.matchAll(/new Histogram\(\{\s*name:\s*'([^']+)'/g)) histograms.add(m[1]!);
  }
  for (const h of histograms) for (const suffix of ['_bucket', '_sum', '_count']) names.add(h + suffix);
  return { names, histograms };
}

interface RuleGroup {
  name: string;
  rules: Array<{ record?: string; alert?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }>;
}

function loadRules(): RuleGroup[] {
  return (parseYaml(readFileSync(PROM_RULES, 'utf8')) as { groups: RuleGroup[] }).groups;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr?: string; refId?: string }>;
  gridPos?: { x: number; y: number; w: number; h: number };
}

function loadDashboard(): { panels: Panel[]; templating: { list: Array<{ name: string; type: string; query?: unknown; definition?: string }> }; uid: string; title: string } {
  return JSON.parse(readFileSync(DASHBOARD, 'utf8')) as ReturnType<typeof loadDashboard>;
}

function dashboardExprs(d: ReturnType<typeof loadDashboard>): string[] {
  const exprs = d.panels.flatMap((p) => (p.targets ?? []).map((x) => x.expr ?? ''));
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : ((v.query as { query?: string } | undefined)?.query ?? '');
    exprs.push(q);
  }
  return exprs;
}

function allUsedExprs(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const g of loadRules()) for (const r of g.rules) out.push({ where: `rules ${r.alert ?? r.record}`, expr: r.expr });
  for (const e of dashboardExprs(loadDashboard())) out.push({ where: 'dashboard', expr: e });
  return out;
}

// ---------------------------------------------------------------------------------------------
// systemd

t.test('systemd units pass systemd-analyze verify, and a broken unit does not', async (t) => {
  const sa = tool('systemd-analyze', 'apt-get install systemd');
  const dir = tempDir(t, 'gantry-units-');
  const exe = stubExecutable(dir);
  for (const name of ['gantry-scheduler.service', 'gantry-agent.service']) {
    const text = readFileSync(path.join(UNIT_DIR, name), 'utf8');
    const daemon = name === 'gantry-scheduler.service' ? 'scheduler' : 'agent';
    t.ok(text.split('\n').includes(`ExecStart=/usr/bin/gantry ${daemon} --config /etc/gantry/${daemon}.yaml`), `${name}: ExecStart runs the installed gantry ${daemon}`);
    const good = await verifyUnit(sa, dir, name, withExec(text, exe));
    t.equal(good.code, 0, `${name}: systemd-analyze verify exits 0\n${good.out}`);
    t.same(good.problems, [], `${name}: systemd-analyze verify prints nothing about it`);

    // The same check on broken copies: a misspelt key and a bad value (warnings only, exit 0), and a
    // missing binary (an error).
    const broken = withExec(text, exe).replace(/^Restart=on-failure$/m, 'Restart=sometimes').replace(/^\[Service\]$/m, '[Service]\nRestartSecs=5');
    const bad = await verifyUnit(sa, dir, name, broken);
    t.ok(bad.problems.some((l) => /RestartSecs/.test(l)), `${name}: a misspelt key is reported\n${bad.out}`);
    t.ok(bad.problems.some((l) => /sometimes/.test(l)), `${name}: a bad value is reported\n${bad.out}`);
    const missing = await verifyUnit(sa, dir, name, withExec(text, path.join(dir, 'missing', 'gantry')));
    t.not(missing.code, 0, `${name}: a missing ExecStart binary fails verify`);
    t.ok(missing.problems.length > 0, `${name}: and is reported`);
  }
});

t.test('scheduler unit: sandboxed (systemd-analyze security), settings the daemon relies on', async (t) => {
  const sa = tool('systemd-analyze', 'apt-get install systemd');
  const dir = tempDir(t, 'gantry-sec-');
  const exe = stubExecutable(dir);
  const text = readFileSync(path.join(UNIT_DIR, 'gantry-scheduler.service'), 'utf8');
  const file = path.join(dir, 'gantry-scheduler.service');
  writeFileSync(file, withExec(text, exe));
  const r = await run(sa, ['security', '--offline=yes', '--no-pager', '--threshold=25', file], { env: { ...process.env, SYSTEMD_COLORS: '0' } });
  const exposure = /Overall exposure level for gantry-scheduler\.service:\s*([\d.]+)/.exec(r.out);
  t.ok(exposure, `systemd-analyze security rates the unit\n${r.out.slice(-2000)}`);
  t.ok(Number(exposure?.[1]) <= 2.5, `exposure ${exposure?.[1]} <= 2.5`);
  t.equal(r.code, 0, 'below the --threshold=25 of systemd-analyze security');

  // The unhardened agent unit, through the same threshold, must fail it: the check discriminates.
  const agentFile = path.join(dir, 'gantry-agent.service');
  writeFileSync(agentFile, withExec(readFileSync(path.join(UNIT_DIR, 'gantry-agent.service'), 'utf8'), exe));
  const ra = await run(sa, ['security', '--offline=yes', '--no-pager', '--threshold=25', agentFile], { env: { ...process.env, SYSTEMD_COLORS: '0' } });
  t.not(ra.code, 0, 'the root agent unit is above that threshold (as documented)');

  const u = parseUnit(text);
  const svc = (k: string): string | undefined => unitValue(u, 'Service', k);
  t.equal(svc('Type'), 'notify', 'Type=notify (READY=1 once it serves)');
  t.equal(svc('NotifyAccess'), 'all', 'NotifyAccess=all: the messages come from its helper process, which cannot speak for the daemon as an unprivileged user');
  t.ok(seconds(svc('WatchdogSec') ?? '0') > 0, 'WatchdogSec set (the daemon pings at half of it)');
  t.equal(svc('User'), 'gantry');
  t.equal(svc('Group'), 'gantry');
  t.equal(svc('StateDirectory'), 'gantry');
  t.equal(svc('Restart'), 'on-failure');
  t.ok(seconds(svc('RestartSec') ?? '0') > 0, 'RestartSec set');
  t.equal(svc('RestartPreventExitStatus'), '2', 'config errors (exit 2) are not restarted');
  t.equal(svc('KillSignal'), 'SIGTERM');
  t.ok(seconds(svc('TimeoutStopSec') ?? '0') >= 10, 'TimeoutStopSec covers gRPC drain + event flush (2 s + 2 s)');
  t.ok(Number(svc('LimitNOFILE')) >= 65536, 'LimitNOFILE for one socket per agent');
  for (const [k, v] of [
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
    ['PrivateDevices', 'yes'],
  ] as const) {
    t.equal(svc(k), v, `${k}=${v}`);
  }
  t.not(svc('MemoryDenyWriteExecute'), 'yes', 'no MemoryDenyWriteExecute (V8 JIT)');
  // The example config's dataDir must be writable under ProtectSystem=strict.
  const sched = loadConfig(schedulerConfigSchema, { file: SCHEDULER_YAML, env: {}, envBindings: schedulerEnv, sets: [] });
  const rw = unitWords(u, 'Service', 'ReadWritePaths');
  t.ok(rw.some((p) => sched.dataDir === p || sched.dataDir.startsWith(p.replace(/^-/, '') + '/')), `dataDir ${sched.dataDir} is under ReadWritePaths ${rw.join(' ')}`);
  t.ok(sched.dataDir.startsWith(`/var/lib/${svc('StateDirectory')}/`), 'dataDir is inside the StateDirectory');
  t.ok(sched.shutdownTimeoutMs < seconds(svc('TimeoutStopSec') ?? '0') * 1000, `shutdownTimeoutMs ${sched.shutdownTimeoutMs} ends the stop before TimeoutStopSec's SIGKILL`);
  t.ok(unitWords(u, 'Unit', 'After').includes('network-online.target'), 'After=network-online.target');
  t.ok(unitWords(u, 'Unit', 'Wants').includes('network-online.target'), 'Wants=network-online.target');
  t.equal(unitValue(u, 'Install', 'WantedBy'), 'multi-user.target');
});

t.test('agent unit: root, stops gracefully, keeps only hardening that lets it work', async (t) => {
  const u = parseUnit(readFileSync(path.join(UNIT_DIR, 'gantry-agent.service'), 'utf8'));
  const svc = (k: string): string | undefined => unitValue(u, 'Service', k);
  t.equal(svc('Type'), 'notify', 'Type=notify (READY=1 after the first report)');
  t.equal(svc('NotifyAccess'), 'main', "NotifyAccess=main: ranks in the agent's cgroup cannot speak for it");
  t.ok(seconds(svc('WatchdogSec') ?? '0') > 0, 'WatchdogSec set');
  t.equal(svc('User'), 'root', 'root: /dev/kmsg, nvidia-smi, ranks as other users (and its notify helper may send in its name)');
  t.equal(svc('Restart'), 'on-failure');
  t.ok(seconds(svc('RestartSec') ?? '0') > 0, 'RestartSec set');
  t.equal(svc('RestartPreventExitStatus'), '2');
  t.equal(svc('KillSignal'), 'SIGTERM');
  // Ranks run under detached supervisors that outlive the agent and are adopted by the next one: a
  // stop or restart of the unit must not kill them.
  t.equal(svc('KillMode'), 'process', 'SIGTERM to the agent only; rank supervisors keep running');
  t.ok(seconds(svc('TimeoutStopSec') ?? '0') >= 10, 'TimeoutStopSec set');
  t.equal(svc('StateDirectory'), 'gantry/agent');
  // The heap flag scripts/measure-agent.mjs measures with (it reads this line).
  t.ok((u.get('Service')?.get('Environment') ?? []).some((e) => /^"?NODE_OPTIONS=.*--max-semi-space-size=\d+.*--max-old-space-size=\d+/.test(e)), 'NODE_OPTIONS: the heap flags (one quoted assignment, or systemd splits it)');
  const agent = loadConfig(agentConfigSchema, { file: AGENT_YAML, env: {}, envBindings: agentEnv, sets: [] });
  t.equal(agent.runner.stateDir, `/var/lib/${svc('StateDirectory')}`, 'runner.stateDir is the StateDirectory');
  t.ok(Number(svc('LimitNOFILE')) >= 65536);
  // Settings that would break the agent's work.
  for (const k of ['ProtectKernelLogs', 'PrivateDevices', 'ProtectClock', 'NoNewPrivileges', 'PrivateTmp', 'ProtectHome', 'ProtectSystem', 'DeviceAllow', 'MemoryDenyWriteExecute']) {
    t.equal(svc(k), undefined, `${k} not set`);
  }
  t.equal(svc('LockPersonality'), 'yes');
  t.ok(unitWords(u, 'Unit', 'After').includes('network-online.target'));
  t.ok(unitWords(u, 'Unit', 'Wants').includes('network-online.target'));
  t.equal(unitValue(u, 'Install', 'WantedBy'), 'multi-user.target');
});

// ---------------------------------------------------------------------------------------------
// Prometheus

t.test('promtool: config, rules and alert unit tests pass; broken ones fail', async (t) => {
  const promtool = tool('promtool', 'apt-get install prometheus');
  const cfg = await run(promtool, ['check', 'config', PROM_CONFIG]);
  t.equal(cfg.code, 0, `promtool check config\n${cfg.out}`);
  t.match(cfg.out, /SUCCESS: \d+ rules found/, 'the config pulls in the rules file');
  const rules = await run(promtool, ['check', 'rules', PROM_RULES]);
  t.equal(rules.code, 0, `promtool check rules\n${rules.out}`);
  const tests = await run(promtool, ['test', 'rules', PROM_TESTS]);
  t.equal(tests.code, 0, `promtool test rules\n${tests.out}`);

  const dir = tempDir(t, 'gantry-prom-');
  const brokenRules = path.join(dir, 'broken-rules.yml');
  writeFileSync(brokenRules, readFileSync(PROM_RULES, 'utf8').replace('expr: gantry_agent_connected == 0', 'expr: gantry_agent_connected == '));
  t.not((await run(promtool, ['check', 'rules', brokenRules])).code, 0, 'a broken expression fails promtool check rules');
  const brokenTests = path.join(dir, 'broken.promtest.yml');
  writeFileSync(
    brokenTests,
    readFileSync(PROM_TESTS, 'utf8')
      .replace('../../deploy/prometheus/gantry-rules.yml', PROM_RULES)
      .replace("'1 Gantry node(s) lost'", "'2 Gantry node(s) lost'"),
  );
  t.not((await run(promtool, ['test', 'rules', brokenTests])).code, 0, 'a wrong expectation fails promtool test rules');
  // A copy without the rule file passes; the same copy with one bad duration does not.
  const copy = readFileSync(PROM_CONFIG, 'utf8').replace(/^rule_files:\n(?:\s+- .*\n)+/m, '');
  t.not(copy, readFileSync(PROM_CONFIG, 'utf8'), 'rule_files removed from the copy');
  const okCfg = path.join(dir, 'ok.yml');
  writeFileSync(okCfg, copy);
  const okRun = await run(promtool, ['check', 'config', okCfg]);
  t.equal(okRun.code, 0, `the copy passes\n${okRun.out}`);
  const brokenCfg = path.join(dir, 'broken.yml');
  writeFileSync(brokenCfg, copy.replace('scrape_interval: 15s', 'scrape_interval: 15 seconds'));
  t.not((await run(promtool, ['check', 'config', brokenCfg])).code, 0, 'a bad duration fails promtool check config');
});

t.test('scrape targets use the ports of the example configs; the alerts asked for exist', async (t) => {
  const prom = parseYaml(readFileSync(PROM_CONFIG, 'utf8')) as {
    rule_files: string[];
    scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }>; file_sd_configs?: Array<{ files: string[] }> }>;
  };
  t.ok(prom.rule_files.includes('gantry-rules.yml'));
  const sched = loadConfig(schedulerConfigSchema, { file: SCHEDULER_YAML, env: {}, envBindings: schedulerEnv, sets: [] });
  const agent = loadConfig(agentConfigSchema, { file: AGENT_YAML, env: {}, envBindings: agentEnv, sets: [] });
  t.equal(sched.metrics.listen.port, 9470);
  t.equal(agent.metrics.listen.port, 9471);
  const job = (name: string) => prom.scrape_configs.find((s) => s.job_name === name);
  const schedTargets = job('gantry-scheduler')?.static_configs?.flatMap((s) => s.targets) ?? [];
  t.ok(schedTargets.length > 0 && schedTargets.every((x) => x.endsWith(`:${sched.metrics.listen.port}`)), `scheduler targets on :${sched.metrics.listen.port}`);
  const sdFiles = job('gantry-agents')?.file_sd_configs?.flatMap((f) => f.files) ?? [];
  t.ok(sdFiles.length > 0, 'agents come from file_sd');
  const sd = parseYaml(readFileSync(path.join(DEPLOY, 'prometheus', 'file_sd', 'gantry-agents.yml'), 'utf8')) as Array<{ targets: string[] }>;
  const agentTargets = sd.flatMap((g) => g.targets);
  t.ok(agentTargets.length > 0 && agentTargets.every((x) => x.endsWith(`:${agent.metrics.listen.port}`)), `agent targets on :${agent.metrics.listen.port}`);

  const alerts = new Map(loadRules().flatMap((g) => g.rules.filter((r) => r.alert).map((r) => [r.alert!, r] as const)));
  for (const name of ['GantryNodeLost', 'GantryAgentDisconnected', 'GantryGpuHealthFail', 'GantryCollectorErrors', 'GantryEventsBacklog', 'GantryGpuTemperatureHigh', 'GantryDomainDegraded']) {
    t.ok(alerts.has(name), `alert ${name}`);
  }
  t.match(alerts.get('GantryNodeLost')?.expr, /gantry_scheduler_nodes\{state="lost"\} > 0/);
  t.equal(alerts.get('GantryNodeLost')?.for, '5m');
  t.equal(alerts.get('GantryAgentDisconnected')?.expr, 'gantry_agent_connected == 0');
  t.equal(alerts.get('GantryAgentDisconnected')?.for, '2m');
  t.equal(alerts.get('GantryGpuHealthFail')?.expr, 'gantry_agent_health_severity == 2');
  t.equal(alerts.get('GantryEventsBacklog')?.expr, 'gantry_scheduler_events_pending > 1000');
  t.equal(alerts.get('GantryEventsBacklog')?.for, '10m');
  t.equal(alerts.get('GantryDomainDegraded')?.expr, 'gantry_scheduler_domain_degraded == 1');
  for (const [name, r] of alerts) {
    t.ok(r.labels?.severity, `${name} has a severity`);
    t.ok(r.annotations?.summary && r.annotations.description, `${name} has a summary and a description`);
    t.equal(r.annotations?.runbook_url, `docs/operations.md#${name.toLowerCase()}`, `${name} links its runbook section`);
  }
});

t.test('every metric name in the rules and the dashboard is exported by the daemons', async (t) => {
  const { names } = exportedMetricNames();
  t.ok(names.has('gantry_scheduler_nodes') && names.has('gantry_agent_connected'), 'the metric sources were read');
  // The extractor itself: it must see through functions, aggregations, matchers and ranges.
  t.same(metricNames('sum by (node) (rate(gantry_agent_bogus_total{job="x", a=~"b"}[5m])) > 0.5 and on (instance) up == 0'), ['gantry_agent_bogus_total', 'up']);
  t.same(metricNames('label_values(gantry_agent_connected{job="gantry-agents"}, node)'), ['gantry_agent_connected']);
  t.notOk(names.has('gantry_agent_bogus_total'), 'an unknown name is not taken for an exported one');

  const records = new Set(loadRules().flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))));
  const builtins = new Set(['up']); // set by Prometheus itself for every target
  const used = new Set<string>();
  for (const { where, expr } of allUsedExprs()) {
    t.ok(expr.trim() !== '', `${where}: has an expression`);
    for (const name of metricNames(expr)) {
      used.add(name);
      t.ok(names.has(name) || records.has(name) || builtins.has(name), `${where}: ${name} is exported (or a recording rule, or up)`);
    }
  }
  t.ok([...used].filter((n) => n.startsWith('gantry_')).length >= 15, `the kit uses the daemons' metrics (${used.size} names)`);
});

t.test('dashboard: valid JSON, every panel queries Prometheus', async (t) => {
  const d = loadDashboard();
  t.equal(d.uid, 'gantry-overview');
  t.ok(d.title);
  const ids = d.panels.map((p) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const panels = d.panels.filter((p) => p.type !== 'row');
  t.ok(panels.length >= 10, `${panels.length} panels`);
  for (const p of panels) {
    t.ok(p.gridPos && p.gridPos.w > 0 && p.gridPos.h > 0, `${p.title}: has a place`);
    t.equal(p.datasource?.uid, '${datasource}', `${p.title}: uses the data source variable`);
    t.ok((p.targets ?? []).length > 0 && p.targets!.every((x) => x.expr && x.refId), `${p.title}: has queries`);
  }
  t.ok(d.templating.list.some((v) => v.type === 'datasource' && v.name === 'datasource'), 'data source variable');
  const exprs = dashboardExprs(d).join('\n');
  for (const name of [
    'gantry_scheduler_nodes{',
    'gantry_scheduler_nodes_health',
    'gantry_agent_health_severity',
    'gantry_agent_gpu_temperature_celsius',
    'gantry_agent_gpu_power_watts',
    'gantry_agent_gpu_utilization_ratio',
    'gantry_agent_collector_duration_seconds_bucket',
    'gantry_scheduler_reports_received_total',
    'gantry_scheduler_domain_degraded',
    'gantry_scheduler_domain_latency_p99_seconds',
    'gantry_scheduler_jobs{',
    'gantry_scheduler_job_pending_seconds_bucket',
    'gantry_scheduler_cycle_duration_seconds_bucket',
    'gantry_scheduler_queue_gpus_borrowed',
    'gantry_scheduler_topology_gpus',
    'gantry_scheduler_gpu_hours_total',
  ]) {
    t.ok(exprs.includes(name), `dashboard shows ${name}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Example configs and the operations page

const daemons: Array<{ name: string; yaml: string; schema: z.ZodType; env: readonly EnvBinding[]; flags: readonly FlagBinding[]; heading: string }> = [
  { name: 'scheduler', yaml: SCHEDULER_YAML, schema: schedulerConfigSchema, env: schedulerEnv, flags: schedulerFlags, heading: '### Scheduler' },
  { name: 'agent', yaml: AGENT_YAML, schema: agentConfigSchema, env: agentEnv, flags: agentFlags, heading: '### Agent' },
];

t.test('example configs load through the real schemas, set every key, and comment each', async (t) => {
  for (const d of daemons) {
    let config: unknown;
    t.doesNotThrow(() => {
      config = loadConfig(d.schema, { file: d.yaml, env: {}, envBindings: d.env, sets: [] });
    }, `${d.name}.yaml loads`);
    const text = readFileSync(d.yaml, 'utf8');
    const raw = leaves(parseYaml(text));
    const keys = schemaLeaves(d.schema);
    // A record key (topology, labels) is set when it is there at all, with or without entries.
    for (const key of keys.keys()) t.ok(raw.has(key) || [...raw.keys()].some((k) => k.startsWith(`${key}.`)), `${d.name}.yaml sets ${key}`);
    // Each key has a comment on the line above it.
    const lines = text.split('\n');
    const at = yamlKeyLines(text);
    for (const key of keys.keys()) {
      const i = at.get(key);
      t.ok(i !== undefined && i > 0 && lines[i - 1]!.trim().startsWith('#'), `${d.name}.yaml: ${key} is commented`);
    }
    // A broken copy is refused, naming the key.
    const dir = tempDir(t, 'gantry-cfg-');
    const bad = path.join(dir, `${d.name}.yaml`);
    writeFileSync(bad, `${text}\nbogusKey: 1\n`);
    let refused: unknown;
    try {
      loadConfig(d.schema, { file: bad, env: {}, envBindings: d.env, sets: [] });
    } catch (e) {
      refused = e;
    }
    t.ok(refused instanceof ConfigError && /bogusKey/.test(refused.message), `${d.name}: a copy with an unknown key is refused, naming it (${String(refused)})`);
    t.ok(config, `${d.name} config parsed`);
  }
  const sched = loadConfig(schedulerConfigSchema, { file: SCHEDULER_YAML, env: {}, envBindings: schedulerEnv, sets: [] });
  t.same(sched.grpc.listen, { host: '0.0.0.0', port: 7070 }, 'scheduler gRPC reachable from the GPU nodes');
  t.equal(sched.dataDir, '/var/lib/gantry/scheduler');
  t.equal(sched.log.format, 'json');
  const agent = loadConfig(agentConfigSchema, { file: AGENT_YAML, env: {}, envBindings: agentEnv, sets: [] });
  t.same(agent.topology, { leaf: 'leaf-01', spine: 'spine-a' });
  t.equal(agent.scheduler.address.length, 1);
  t.match(agent.scheduler.address[0], /^[a-z0-9.-]+:7070$/);
  t.not(agent.scheduler.address[0], '127.0.0.1:7070', 'the agent example points at the control node');
  t.equal(agent.collectors.kernelLog.path, '/dev/kmsg');
  for (const level of Object.keys(agent.topology)) t.ok(sched.topology.levels.includes(level), `agent topology level ${level} is one of the scheduler's levels`);
});

t.test('docs/operations.md: config tables match the schemas, every alert has a runbook', async (t) => {
  const md = readFileSync(OPERATIONS_MD, 'utf8');
  const lines = md.split('\n');
  const ref = lines.indexOf('## Configuration reference');
  t.ok(ref >= 0, 'has a configuration reference');
  for (const d of daemons) {
    const start = lines.indexOf(d.heading, ref);
    t.ok(start > ref, `${d.heading} table`);
    const rows = new Map<string, string[]>();
    for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('#'); i++) {
      const line = lines[i]!;
      if (!line.startsWith('| `')) continue;
      const cells = line.split('|').slice(1, -1).map((c) => c.trim());
      const key = /^`([^`]+)`$/.exec(cells[0]!)?.[1];
      if (key) rows.set(key, cells);
    }
    const keys = schemaLeaves(d.schema);
    t.same([...rows.keys()].sort(), [...keys.keys()].sort(), `${d.name}: one row per key`);
    const ticks = (cell: string | undefined): string[] => [...(cell ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    for (const [key, def] of keys) {
      const cells = rows.get(key);
      if (!cells) continue;
      // The documented default, read the way `--set key=value` reads it, gives the schema's default.
      const token = ticks(cells[1])[0] ?? '';
      let documented: unknown;
      try {
        documented = leaves(loadConfig(d.schema, { env: {}, envBindings: [], sets: [`${key}=${token}`] })).get(key);
      } catch (e) {
        documented = `invalid: ${(e as Error).message}`;
      }
      t.same(documented, def, `${d.name} ${key}: default ${token}`);
      t.same(ticks(cells[2]).sort(), d.env.filter((b) => b.key === key).map((b) => b.env).sort(), `${d.name} ${key}: environment`);
      t.same(ticks(cells[3]).sort(), d.flags.filter((b) => b.key === key).map((b) => `--${b.flag}`).sort(), `${d.name} ${key}: flags`);
    }
  }
  for (const g of loadRules()) {
    for (const r of g.rules) {
      if (!r.alert) continue;
      t.ok(lines.includes(`### ${r.alert}`), `runbook section for ${r.alert}`);
      t.ok(md.includes(`| ${r.alert} |`), `${r.alert} in the alert table`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// The daemons themselves, from the example configs

t.test('both daemons run from the example configs and stop on SIGTERM within TimeoutStopSec', async (t) => {
  const entry = gantryEntry();
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (npm run build)`);
  const dir = tempDir(t, 'gantry-deploy-run-');
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GANTRY_')));
  const children: Child[] = [];
  t.teardown(async () => {
    for (const c of children) await c.kill();
  });
  const stopSec = (name: string): number =>
    seconds(unitValue(parseUnit(readFileSync(path.join(UNIT_DIR, name), 'utf8')), 'Service', 'TimeoutStopSec') ?? '0');

  // Ports picked up front, so the real Prometheus (the kit's scrape jobs and rules, intervals
  // shortened, targets pointed at the daemons) starts alongside the daemons.
  const [grpcPort, schedMetricsPort, agentMetricsPort, promPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const prometheus = tool('prometheus', 'apt-get install prometheus');
  const promDir = path.join(dir, 'prometheus');
  mkdirSync(path.join(promDir, 'file_sd'), { recursive: true });
  const promConfig = readFileSync(PROM_CONFIG, 'utf8')
    .replace(/(scrape_interval|evaluation_interval|scrape_timeout): \d+s/g, '$1: 1s')
    .replace('gantry-control.example.internal:9470', `127.0.0.1:${schedMetricsPort}`);
  t.not(promConfig, readFileSync(PROM_CONFIG, 'utf8'));
  writeFileSync(path.join(promDir, 'prometheus.yml'), promConfig);
  writeFileSync(path.join(promDir, 'gantry-rules.yml'), readFileSync(PROM_RULES, 'utf8').replace(/interval: \d+s/g, 'interval: 1s'));
  // One target by host name (node derived by the relabel rule), one by IP with node set by the file.
  writeFileSync(
    path.join(promDir, 'file_sd', 'gantry-agents.yml'),
    `- targets: ['localhost:${agentMetricsPort}']\n  labels: {leaf: leaf-01}\n- targets: ['127.0.0.1:${agentMetricsPort}']\n  labels: {node: gpu-explicit}\n`,
  );
  const prom = startChild('prometheus', prometheus, [
    `--config.file=${path.join(promDir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(promDir, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--log.level=warn',
  ], { env });
  children.push(prom);

  const scheduler = startChild('scheduler', process.execPath, [
    entry, 'scheduler', '--config', SCHEDULER_YAML,
    '--data-dir', path.join(dir, 'data'),
    '--grpc-listen', `127.0.0.1:${grpcPort}`,
    '--metrics-listen', `127.0.0.1:${schedMetricsPort}`,
    '--set', 'nats.enabled=false',
    '--set', 'grpc.insecure=true',
  ], { env });
  children.push(scheduler);
  // The agent may start first: it retries the scheduler with backoff.
  const agent = startChild('agent', process.execPath, [
    entry, 'agent', '--config', AGENT_YAML,
    '--scheduler', `127.0.0.1:${grpcPort}`,
    '--metrics-listen', `127.0.0.1:${agentMetricsPort}`,
    '--node-name', 'deploy-smoke',
    '--set', 'scheduler.insecure=true',
    '--set', `runner.stateDir=${path.join(dir, 'agent-state')}`,
    '--set', 'reconnect.initialDelayMs=100',
    '--set', 'collectors.nvidia.enabled=false',
    '--set', 'collectors.amd.enabled=false',
    '--set', 'collectors.host.enabled=false',
    '--set', 'collectors.infiniband.enabled=false',
    '--set', 'collectors.kernelLog.enabled=false',
  ], { env });
  children.push(agent);
  await scheduler.waitForLog('scheduler running', 30_000);
  await agent.waitForLog('agent running', 30_000);
  await agent.waitForLog('registered with the scheduler', 30_000);

  const scrape = async (port: number): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let schedText = '';
  for (let i = 0; i < 100 && !/^gantry_scheduler_nodes\{state="ready"\} 1$/m.test(schedText); i++) {
    schedText = await scrape(schedMetricsPort);
    await new Promise((r) => setTimeout(r, 50));
  }
  t.match(schedText, /^gantry_scheduler_nodes\{state="ready"\} 1$/m, 'the scheduler counts the agent as ready');
  const agentText = await scrape(agentMetricsPort);
  t.match(agentText, /^gantry_agent_connected 1$/m, 'the agent is connected');

  // Every daemon metric the rules and dashboard use is really served (HELP/TYPE appear before any sample).
  const { histograms } = exportedMetricNames();
  const base = (n: string): string => {
    for (const h of histograms) if (n === `${h}_bucket` || n === `${h}_sum` || n === `${h}_count`) return h;
    return n;
  };
  const used = new Set(allUsedExprs().flatMap((x) => metricNames(x.expr)).map(base));
  for (const name of used) {
    // The HA metrics exist only with ha.enabled (test/integration/ha-ops.test.ts scrapes both roles).
    if (name.startsWith('gantry_scheduler_') && !name.startsWith('gantry_scheduler_ha_')) t.ok(schedText.includes(`# TYPE ${name} `), `scheduler serves ${name}`);
    if (name.startsWith('gantry_agent_')) t.ok(agentText.includes(`# TYPE ${name} `), `agent serves ${name}`);
  }

  // Prometheus: both jobs scrape, the `node` label is relabelled, every rule evaluates.
  const api = async <T>(p: string): Promise<T> => {
    const res = await fetch(`http://127.0.0.1:${promPort}${p}`);
    return ((await res.json()) as { data: T }).data;
  };
  type Vector = { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  type Rules = { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }> }> };
  const deadline = Date.now() + 20_000;
  let up: Vector = { result: [] };
  let rules: Rules = { groups: [] };
  const evaluated = (r: Rules): boolean => r.groups.length > 0 && r.groups.every((g) => g.rules.every((x) => !x.lastEvaluation.startsWith('0001-')));
  while (Date.now() < deadline) {
    try {
      up = await api<Vector>('/api/v1/query?query=' + encodeURIComponent('up == 1'));
      rules = await api<Rules>('/api/v1/rules');
      if (up.result.length >= 3 && evaluated(rules)) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const upBy = up.result.map((r) => `${r.metric.job} ${r.metric.node ?? '-'}`).sort();
  t.same(upBy, ['gantry-agents gpu-explicit', 'gantry-agents localhost', 'gantry-scheduler -'], `Prometheus scrapes both jobs, node labels relabelled\n${prom.output().slice(-2000)}`);
  const ruleCount = rules.groups.reduce((n, g) => n + g.rules.length, 0);
  t.equal(ruleCount, loadRules().reduce((n, g) => n + g.rules.length, 0), 'Prometheus loaded every rule');
  t.ok(evaluated(rules), 'every rule was evaluated');
  for (const g of rules.groups) for (const r of g.rules) t.equal(r.health, 'ok', `rule ${r.name} evaluates${r.lastError ? `: ${r.lastError}` : ''}`);
  // The first evaluations may predate the first agent scrape: wait for a recorded sample.
  let gpus: Vector = { result: [] };
  while (Date.now() < deadline + 5000 && gpus.result.length === 0) {
    gpus = await api<Vector>('/api/v1/query?query=' + encodeURIComponent('cluster:gantry_agent_gpus:sum'));
    if (gpus.result.length === 0) await new Promise((r) => setTimeout(r, 250));
  }
  t.equal(gpus.result[0]?.value[1], '0', 'a recording rule over the live agents (no GPUs here) gives 0');
  t.equal(await prom.stop(5000), 0, 'prometheus stops');

  for (const [child, unit] of [
    [agent, 'gantry-agent.service'],
    [scheduler, 'gantry-scheduler.service'],
  ] as const) {
    const limit = stopSec(unit);
    const started = Date.now();
    const code = await child.stop(limit * 1000);
    const took = (Date.now() - started) / 1000;
    t.equal(code, 0, `${child.name}: exit 0 on SIGTERM`);
    t.ok(took < limit, `${child.name}: stopped in ${took.toFixed(2)} s, within TimeoutStopSec=${limit}`);
  }
});
