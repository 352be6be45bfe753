#!/usr/bin/env node
/** The `gantry` executable: one entry, each subcommand in its own file, loaded on demand. */
import type { Command, CliIO } from '../shared/cli/command.js';
import { EXIT_USAGE } from '../shared/cli/command.js';

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  agent: { summary: 'run the node agent (gantry agent inventory: probe once and print)', load: async () => (await import('./agent.js')).agentCommand },
  demo: { summary: 'run a whole cluster on this machine: nats-server, scheduler, simulated agents', load: async () => (await import('./demo.js')).demoCommand },
  submit: { summary: 'submit a job spec; --wait follows it until all ranks run', load: async () => (await import('../shared/cli/submit.js')).submitCommand },
  jobs: { summary: 'list jobs', load: async () => (await import('../shared/cli/jobs.js')).jobsCommand },
  job: { summary: 'one job: state, placement map, why pending', load: async () => (await import('../shared/cli/job.js')).jobCommand },
  logs: { summary: "a rank's output through the scheduler; --follow keeps reading", load: async () => (await import('../shared/cli/logs.js')).logsCommand },
  events: { summary: "the scheduler's events from NATS; --follow keeps tailing", load: async () => (await import('../shared/cli/events.js')).eventsCommand },
  cancel: { summary: 'cancel a job', load: async () => (await import('../shared/cli/cancel.js')).cancelCommand },
  release: { summary: 'release a held job: it is scheduled again', load: async () => (await import('../shared/cli/release.js')).releaseCommand },
  topology: { summary: 'the topology tree with free and used GPUs per domain', load: async () => (await import('../shared/cli/topology.js')).topologyCommand },
  cordon: { summary: 'take no new work on a node', load: async () => (await import('../shared/cli/node-actions.js')).cordonCommand },
  uncordon: { summary: 'let a node take work again', load: async () => (await import('../shared/cli/node-actions.js')).uncordonCommand },
  drain: { summary: 'take no new work on a node; running gangs finish', load: async () => (await import('../shared/cli/node-actions.js')).drainCommand },
  nodes: { summary: 'list nodes: state, schedulability, health, GPUs', load: async () => (await import('../shared/cli/nodes.js')).nodesCommand },
  node: { summary: 'one node: show it (state, GPUs, labels, the accounts its agent runs ranks as), approve a new node, delete a record', load: async () => (await import('../shared/cli/node-actions.js')).nodeCommand },
  usage: { summary: 'GPU-hours, jobs and waiting time by user, queue, job or node; --cluster: utilisation', load: async () => (await import('../shared/cli/usage.js')).usageCommand },
  status: { summary: 'the control plane: each scheduler its role (leader, standby), term, since when, lag', load: async () => (await import('../shared/cli/status.js')).statusCommand },
  whoami: { summary: 'who the scheduler takes you to be: name, groups, roles, permissions, runAs', load: async () => (await import('../shared/cli/whoami.js')).whoamiCommand },
  config: { summary: "the CLI's contexts: get-contexts, current-context, use-context NAME", load: async () => (await import('../shared/cli/contexts.js')).configCommand },
  certs: { summary: 'make a CA and certificates for the scheduler, nodes and users', load: async () => (await import('./certs.js')).certsCommand },
  scheduler: { summary: 'run the scheduler daemon', load: async () => (await import('./scheduler.js')).schedulerCommand },
  plan: { summary: 'plan a job against a described cluster, running nothing', load: async () => (await import('./plan.js')).planCommand },
  simulate: { summary: 'replay a job trace in virtual time through the scheduler: policies, loads, locality', load: async () => (await import('./simulate.js')).simulateCommand },
  'nats-auth': { summary: 'write NATS users (nkeys) with per-daemon subject permissions', load: async () => (await import('./nats-auth.js')).natsAuthCommand },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return (
    `usage: gantry <command> [options]\n\ncommands:\n${rows.join('\n')}\n\n` +
    "Run 'gantry <command> --help' for a command's options (the scheduler commands' connection flags too:\n" +
    '--scheduler, --ca, --cert, --key, --token-file, --insecure, --context).\n' +
    'Exit codes: 0 success, 1 failure (the scheduler refused: UNAUTHENTICATED, PERMISSION_DENIED, ...; or is\n' +
    'unreachable), 2 bad input or configuration (the message names the flag, variable or key).\n'
  );
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  const entry = commands[name];
  if (!entry) {
    io.stderr(`gantry: unknown command ${JSON.stringify(name)}\n${usage()}`);
    return EXIT_USAGE;
  }
  const command = await entry.load();
  return command.run(rest, io);
}

const io: CliIO = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
};

const DAEMONS = new Set(['agent', 'scheduler', 'demo']);

main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
    // A stopped daemon exits even if a library left a timer behind (e.g. a reconnect delay).
    if (DAEMONS.has(process.argv[2] ?? '') && process.argv[3] !== 'inventory') setTimeout(() => process.exit(code), 500).unref();
  },
  (err: unknown) => {
    process.stderr.write(`gantry: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
