/**
 * The layers, checked in CI (scripts/check-layers.mjs runs this through dependency-cruiser, and
 * `bash scripts/test.sh` fails on any violation). Type-only imports count too: a pure module
 * must not even name a shell's types.
 *
 * 1. A pure core does no I/O, reads no clock and draws no randomness, so it never reaches Node's
 *    built-ins, gRPC, NATS, LMDB or pino, directly or through any module it imports.
 * 2. agent/ and scheduler/ never import each other.
 * 3. shared/ never imports a daemon (agent/, scheduler/), nor the command line that runs them (cli/).
 * 4. A pure core imports no other module of agent/, scheduler/ or cli/ than the pure cores, even
 *    one that happens to do no I/O today (its types included).
 * 5. Generated proto types stay at the edges: shared/wire (conversion), the scheduler's gRPC handlers
 *    (scheduler/api), the agent's stream (agent/reporter, agent/commands) and the CLI's client
 *    (shared/cli/client.ts). Everything else works on domain types and wire views.
 *
 * There are no known exceptions: the last ones (health rules reaching the collectors' index) went
 * with the agent's pure core (agent/core).
 */
const PURE_CORES = [
  '^scheduler/placement/',
  '^scheduler/topology/',
  '^scheduler/queue/',
  // Health policy (issue 20): verdicts and incidents to actions, and the circuit breaker.
  '^scheduler/health/',
  // The job lifecycle and what it uses, the cycle planner and the service-port masks: scheduler/jobs' pure part.
  '^scheduler/jobs/(lifecycle|causes|replicas|rank-env|batch|planner|plan-caches|what-if|locality-wait|service-ports|request-ids)\\.ts$',
  // Roles, permissions and the decisions the API asks for; the auth block's schema and compile.
  '^scheduler/auth/(policy|config)\\.ts$',
  // When a node drained for health runs its diagnostic, and what the answer does.
  '^scheduler/diagnostics/policy\\.ts$',
  '^agent/core/',
  '^agent/health/',
  '^agent/.*/parse-[^/]+\\.ts$',
  // A rank's device rules and CPU allocation (rank containment's decisions).
  '^agent/runner/cgroup/(devices|cpus)\\.ts$',
  // Rank containment's detection of the cgroup layout, where the cgroups live, and the start-up description.
  '^agent/runner/cgroup/(layout|layout-types|base|describe)\\.ts$',
  // High availability: the lease machine (who leads, and until when).
  '^scheduler/ha/(lease|change)\\.ts$',
  // Which job runs start and end on the node (prolog, epilog, GPU-clean check) and how a hook run reads.
  '^agent/hooks/(job-runs|outcome)\\.ts$',
  // The simulator (issue 22): the scheduler's own modules in virtual time; files and output are the CLI's.
  '^scheduler/simulate/',
  // Which job labels each GPU's series carry (metrics.jobLabels).
  '^agent/gpu-job-labels\\.ts$',
  // Usage accounting (issue 23): which entries a job change writes, reports, cluster utilisation, retention, node history.
  '^scheduler/usage/(records|report|utilisation|retention|node-history)\\.ts$',
];

/** The modules that may touch generated proto types (rule 5). */
const PROTO_EDGES = ['^shared/wire/', '^shared/proto/', '^scheduler/api/', '^agent/reporter/', '^agent/commands\\.ts$', '^shared/cli/client\\.ts$', '^proto/generated/'];

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
      name: 'pure-core-no-shell',
      comment: 'a pure core imports only pure cores of the daemons (and shared/); a shell module is where I/O goes',
      severity: 'error',
      from: { path: PURE_CORES },
      to: { path: '^(agent|scheduler|cli)/', pathNot: PURE_CORES },
    },
    {
      name: 'proto-at-the-edges',
      comment: 'only the API edges touch generated proto types; the rest works on domain types and shared/wire views',
      severity: 'error',
      from: { pathNot: PROTO_EDGES },
      to: { path: '^(proto/generated/|shared/proto/)' },
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
