import { parseArgs, type ParseArgsConfig } from 'node:util';
/** Every `gantry` subcommand is one file exporting a Command. Exit codes: 0 ok, 1 failure, 2 bad input or config. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface Command {
  name: string;
  summary: string;
  run(argv: string[], io: CliIO): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * The flags of a subcommand that takes no positionals (`--help`/`-h` added), or its exit code: for
 * `--help`, the usage on stdout and 0; for a flag that does not parse, the error and the usage on
 * stderr and EXIT_USAGE.
 */
export function parseFlags(command: string, argv: string[], options: NonNullable<ParseArgsConfig['options']>, usage: string, io: CliIO): Record<string, string | boolean | undefined> | number {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true }) as { values: Record<string, string | boolean | undefined> });
  } catch (e) {
    io.stderr(`gantry ${command}: ${(e as Error).message}\n${usage}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    io.stdout(usage);
    return EXIT_OK;
  }
  return values;
}
