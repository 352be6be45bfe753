/** Table-driven refusals of bad agent config values: each must be a ConfigError naming the key. */
import t from 'tap';
import { loadConfig } from '../../../shared/config/index.js';
import { ConfigError } from '../../../shared/errors/index.js';
import { agentConfigSchema, agentEnv } from '../../../agent/config.js';

/** The agent config from `--set` pairs only (no file, no environment). */
export const agentConfigFrom = (sets: string[]) => loadConfig(agentConfigSchema, { env: {}, envBindings: agentEnv, sets });

/** One test per case: `--set <set>` is refused with a ConfigError whose message matches `re`. */
export function refusedConfigCases(cases: ReadonlyArray<[name: string, set: string, re: RegExp]>): void {
  for (const [name, set, re] of cases) {
    t.test(`refused: ${name}`, async (t) => {
      let caught: unknown;
      try {
        agentConfigFrom([set]);
      } catch (e) {
        caught = e;
      }
      t.ok(caught instanceof ConfigError, 'a ConfigError');
      t.equal((caught as ConfigError).code, 'CONFIG_INVALID');
      t.match((caught as Error).message, re);
    });
  }
}
