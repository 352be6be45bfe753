#!/usr/bin/env node
/*
 * Stand-in inference server for tests and the demo: serves /metrics with a real Prometheus
 * histogram (vLLM's names, bounds and text layout) whose latency the caller controls, so the
 * agent's SLO scraper and the scheduler's autoscaler run their real code paths without a GPU.
 * A rank runs it as its command. Plain JavaScript, no dependencies.
 *
 * Options (flags win over environment):
 *   --port N          (GANTRY_SIM_PORT, GANTRY_SERVICE_PORT, PORT) port to listen on, on 127.0.0.1 (required)
 *   --metric NAME     (GANTRY_SIM_METRIC)                 histogram name; default vllm:e2e_request_latency_seconds
 *   --latency-ms X    (GANTRY_SIM_LATENCY_MS)             latency of generated requests; default 100
 *   --rate R          (GANTRY_SIM_RATE)                   requests per second; default 50
 *   --engines N       (GANTRY_SIM_ENGINES)                label sets (engine="0".."N-1") the requests are spread over; default 1
 *   --model NAME      (GANTRY_SIM_MODEL)                  model_name label; default sim/model
 *
 * HTTP:
 *   GET /metrics                          the exposition
 *   GET /control?latencyMs=X&rate=R       change latency and/or rate from now on (answers the state as JSON)
 *   GET /control?reset=1                  zero every counter, as a restarted server would
 *   GET /control?observe=N                record N requests at the current latency at once (deterministic tests)
 *   GET /healthz                          ok
 *
 * Request i of a tick gets latency × (0.8 + 0.4 × ((i × 0.618034) mod 1)): a fixed spread of ±20%
 * (no randomness), so runs are repeatable. SIGTERM/SIGINT close the server and exit 0.
 */
import http from 'node:http';

const BOUNDS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];

function arg(flag, env, fallback) {
  const i = process.argv.indexOf(flag);
  if (i > 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  for (const e of env) if (process.env[e]) return process.env[e];
  return fallback;
}
const num = (v, name) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`inference-server: ${name} must be a non-negative number, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
};

const port = num(arg('--port', ['GANTRY_SIM_PORT', 'GANTRY_SERVICE_PORT', 'PORT'], ''), '--port');
if (!port) {
  process.stderr.write('inference-server: --port (or GANTRY_SIM_PORT, GANTRY_SERVICE_PORT, PORT) is required\n');
  process.exit(2);
}
const metric = arg('--metric', ['GANTRY_SIM_METRIC'], 'vllm:e2e_request_latency_seconds');
const model = arg('--model', ['GANTRY_SIM_MODEL'], 'sim/model');
const engines = Math.max(1, Math.floor(num(arg('--engines', ['GANTRY_SIM_ENGINES'], '1'), '--engines')));
let latencyMs = num(arg('--latency-ms', ['GANTRY_SIM_LATENCY_MS'], '100'), '--latency-ms');
let rate = num(arg('--rate', ['GANTRY_SIM_RATE'], '50'), '--rate');

const fresh = () => Array.from({ length: engines }, () => ({ buckets: new Array(BOUNDS.length + 1).fill(0), sum: 0, count: 0 }));
let series = fresh();
let seq = 0;
let carry = 0;

function observe(n) {
  for (let k = 0; k < n; k++) {
    const s = series[seq % engines];
    const seconds = (latencyMs / 1000) * (0.8 + 0.4 * ((seq * 0.618034) % 1));
    seq++;
    s.sum += seconds;
    s.count++;
    for (let i = 0; i < BOUNDS.length; i++) if (seconds <= BOUNDS[i]) s.buckets[i]++;
    s.buckets[BOUNDS.length]++;
  }
}

let last = Date.now();
const tick = setInterval(() => {
  const now = Date.now();
  carry += (rate * (now - last)) / 1000;
  last = now;
  const n = Math.floor(carry);
  carry -= n;
  observe(n);
}, 50);

const fmt = (x) => (Number.isInteger(x) ? `${x}.0` : String(x));
function exposition() {
  const lines = [`# HELP ${metric} Histogram of end to end request latency in seconds.`, `# TYPE ${metric} histogram`];
  series.forEach((s, e) => {
    const base = engines > 1 ? `engine="${e}",model_name="${model}"` : `model_name="${model}"`;
    lines.push(`${metric}_sum{${base}} ${fmt(s.sum)}`);
    BOUNDS.forEach((b, i) => lines.push(`${metric}_bucket{le="${fmt(b)}",${base}} ${fmt(s.buckets[i])}`));
    lines.push(`${metric}_bucket{le="+Inf",${base}} ${fmt(s.buckets[BOUNDS.length])}`);
    lines.push(`${metric}_count{${base}} ${fmt(s.count)}`);
  });
  lines.push('# HELP vllm:num_requests_running Number of requests currently running on GPU.', '# TYPE vllm:num_requests_running gauge');
  lines.push(`vllm:num_requests_running{model_name="${model}"} 0.0`);
  return lines.join('\n') + '\n';
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(exposition());
  } else if (url.pathname === '/control') {
    const q = url.searchParams;
    if (q.has('latencyMs')) latencyMs = num(q.get('latencyMs'), 'latencyMs');
    if (q.has('rate')) rate = num(q.get('rate'), 'rate');
    if (q.get('reset') === '1') series = fresh();
    if (q.has('observe')) observe(Math.floor(num(q.get('observe'), 'observe')));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ latencyMs, rate, count: series.reduce((a, s) => a + s.count, 0) }) + '\n');
  } else if (url.pathname === '/healthz') {
    res.end('ok\n');
  } else {
    res.writeHead(404).end('not found\n');
  }
});
server.listen(port, '127.0.0.1', () => process.stderr.write(`inference-server: ${metric} on 127.0.0.1:${port}\n`));
const stop = () => {
  clearInterval(tick);
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
