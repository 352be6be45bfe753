/** Flags shared by the daemon subcommands: --config FILE, --set key=value, and per-daemon shortcuts. */
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { ConfigError, InvalidArgumentError } from '../shared/errors/index.js';
import { loadConfig, type EnvBinding, type FlagBinding } from '../shared/config/index.js';
import type { CliIO } from '../shared/cli/command.js';

export function configUsage(command: string, flags: readonly FlagBinding[], env: readonly EnvBinding[]): string {
  const lines = [
    `usage: gantry ${command} [--config FILE] [--set key=value ...] [flags]`,
    '',
    'flags:',
    '  --config FILE          YAML config file (also GANTRY_CONFIG)',
    '  --set key=value        set any config key (repeatable; applied last)',
    ...flags.map((f) => `  --${(f.flag + ' VALUE').padEnd(21)}sets ${f.key}`),
    '',
    'environment:',
    '  GANTRY_CONFIG          config file path',
    ...env.map((e) => `  ${e.env.padEnd(22)} sets ${e.key}`),
    '',
  ];
  return lines.join('\n');
}

/** Parses argv into a validated config. Throws ConfigError or InvalidArgumentError (exit 2). */
export function configFromArgs<S extends z.ZodType>(
  argv: string[],
  io: CliIO,
  schema: S,
  flags: readonly FlagBinding[],
  env: readonly EnvBinding[],
): { config: z.infer<S>; help: boolean; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    config: { type: 'string' },
    set: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  };
  for (const f of flags) options[f.flag] = { type: 'string' };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new InvalidArgumentError('', (e as Error).message, { cause: e });
  }
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (values.help) return { config: undefined as z.infer<S>, help: true, positionals: parsed.positionals };
  const sets = [...((values.set as string[] | undefined) ?? [])];
  // Shortcut flags apply before --set so an explicit --set wins.
  const shortcuts: string[] = [];
  for (const f of flags) {
    const v = values[f.flag];
    if (typeof v === 'string') shortcuts.push(`${f.key}=${v}`);
  }
  const file = (values.config as string | undefined) ?? io.env.GANTRY_CONFIG;
  const config = loadConfig(schema, { file, env: io.env, envBindings: env, sets: [...shortcuts, ...sets] });
  return { config, help: false, positionals: parsed.positionals };
}

export function isUsageError(e: unknown): e is ConfigError | InvalidArgumentError {
  return e instanceof ConfigError || e instanceof InvalidArgumentError;
}
