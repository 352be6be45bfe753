#!/usr/bin/env node
/** The `gantry` executable: one entry, each subcommand in its own file, loaded on demand. */
import type { Command, CliIO } from './command.js';
import { EXIT_USAGE } from './command.js';

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  scheduler: { summary: 'run the scheduler daemon', load: async () => (await import('./scheduler.js')).schedulerCommand },
  plan: { summary: 'plan a job against a described cluster, running nothing', load: async () => (await import('./plan.js')).planCommand },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: gantry <command> [options]\n\ncommands:\n${rows.join('\n')}\n\nRun 'gantry <command> --help' for a command's options.\n`;
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

main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`gantry: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
