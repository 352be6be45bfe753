/**
 * The layers, checked in CI (scripts/check-layers.mjs runs this through dependency-cruiser, and
 * `bash scripts/test.sh` fails on any violation). Type-only imports count too: a pure module
 * must not even name a shell's types.
 *
 * 1. A pure core does no I/O, reads no clock and draws no randomness, so it never reaches Node's
 *    built-ins, gRPC, NATS, LMDB or pino, directly or through any module it imports.
 * 2. agent/ and scheduler/ never import each other.
 * 3. shared/ never imports a daemon (agent/, scheduler/), nor the command line that runs them (cli/).
 *
 * KNOWN_EXCEPTIONS lists violations that existed when this check was added and that an open issue
 * removes (the agent's structure issue: health rules and parsers that import the collectors'
 * shell-side types and index). Each is one exact `from -> to` edge; any other violation fails.
 */
const PURE_CORES = [
  '^scheduler/placement/',
  '^scheduler/topology/',
  '^scheduler/queue/',
  '^scheduler/jobs/lifecycle',
  '^agent/health/',
  '^agent/collectors/[^/]+/parse-[^/]+\\.ts$',
  '^agent/slo/parse-[^/]+\\.ts$',
];

/** What a pure core may not reach: Node's built-ins, gRPC, NATS, LMDB, pino. */
const IMPURE = ['^node:', '^(fs|path|os|child_process|net|http|http2|dgram|crypto|worker_threads|perf_hooks|timers|process|util|events|stream)$', 'node_modules/(@grpc/|nats/|lmdb/|pino/|pino-pretty/)'];

module.exports = {
  forbidden: [
    {
      name: 'pure-core-no-io',
      comment: 'pure cores (placement, topology, queue policy, the job lifecycle, health rules, parsers) reach no I/O module, directly or through another module',
      severity: 'error',
      from: { path: PURE_CORES },
      to: { path: IMPURE, reachable: true },
    },
    {
      name: 'agent-not-to-scheduler',
      comment: 'the agent and the scheduler are separate daemons: they share only shared/',
      severity: 'error',
      from: { path: '^agent/' },
      to: { path: '^scheduler/' },
    },
    {
      name: 'scheduler-not-to-agent',
      comment: 'the agent and the scheduler are separate daemons: they share only shared/',
      severity: 'error',
      from: { path: '^scheduler/' },
      to: { path: '^agent/' },
    },
    {
      name: 'shared-not-to-daemons',
      comment: 'shared/ is the library both daemons and the user commands build on: it imports neither daemon nor the command line that runs them',
      severity: 'error',
      from: { path: '^shared/' },
      to: { path: '^(agent|scheduler|cli)/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'an import that does not resolve is a broken build',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|proto/generated/gantry)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
