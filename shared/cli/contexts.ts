/**
 * `gantry config get-contexts | current-context | use-context NAME`: the CLI's contexts
 * (connection.ts), listed and switched. use-context rewrites only `current-context`, keeping the
 * file's comments and layout; a name the file does not define is refused.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseDocument } from 'yaml';
import { ConfigError, InvalidArgumentError } from '../errors/index.js';
import { EXIT_FAILURE, EXIT_USAGE, type CliIO, type Command } from './command.js';
import { configFilePath, parseCliConfig, type CliConfig } from './connection.js';

const USAGE = `usage: gantry config get-contexts | current-context | use-context NAME

The CLI's contexts live in \${GANTRY_CONFIG_FILE:-\${XDG_CONFIG_HOME:-~/.config}/gantry/config.yaml}.
  get-contexts      list them (* marks the current one)
  current-context   print the current one's name
  use-context NAME  make NAME the current one
`;

/** The table of get-contexts (pure). */
export function contextsTable(config: CliConfig): string {
  const current = config['current-context'];
  const rows = Object.entries(config.contexts).map(([name, c]) => [
    name === current ? '*' : '',
    name,
    (c.schedulers ?? []).join(',') || '-',
    c.insecure ? 'plaintext' : c.cert ? 'certificate' : c.token || c.tokenFile ? 'token' : 'none',
  ]);
  const header = ['CURRENT', 'NAME', 'SCHEDULERS', 'CREDENTIAL'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function readConfig(io: CliIO): { file: string; text: string | null; config: CliConfig } {
  const file = configFilePath(io.env, io.env.HOME || os.homedir());
  let text: string | null = null;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(file, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  return { file, text, config: parseCliConfig(text, file) };
}

export const configCommand: Command = {
  name: 'config',
  summary: "the CLI's contexts: get-contexts, current-context, use-context NAME",
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === '-h') {
      io.stdout(USAGE);
      return sub === undefined ? EXIT_USAGE : 0;
    }
    try {
      const { file, text, config } = readConfig(io);
      switch (sub) {
        case 'get-contexts':
          if (rest.length) break;
          io.stdout(contextsTable(config));
          return 0;
        case 'current-context':
          if (rest.length) break;
          if (config['current-context'] === undefined) {
            io.stderr(`gantry config: ${text === null ? `there is no config file ${file}` : `${file} sets no current-context`}\n`);
            return EXIT_FAILURE;
          }
          io.stdout(`${config['current-context']}\n`);
          return 0;
        case 'use-context': {
          if (rest.length !== 1) break;
          const name = rest[0]!;
          if (!config.contexts[name]) {
            const known = Object.keys(config.contexts);
            throw new InvalidArgumentError('NAME', `no context ${JSON.stringify(name)} in ${file}${known.length ? ` (it has ${known.join(', ')})` : ''}`);
          }
          const doc = parseDocument(text ?? '');
          doc.set('current-context', name);
          writeFileSync(file, doc.toString());
          io.stdout(`current context: ${name}\n`);
          return 0;
        }
        default:
          io.stderr(`gantry config: unknown subcommand ${JSON.stringify(sub)}\n`);
      }
    } catch (e) {
      if (e instanceof ConfigError || e instanceof InvalidArgumentError) {
        io.stderr(`gantry config: ${e.message}\n`);
        return EXIT_USAGE;
      }
      throw e;
    }
    io.stderr(USAGE);
    return EXIT_USAGE;
  },
};
