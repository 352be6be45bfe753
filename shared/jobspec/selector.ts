/**
 * Node selection by agent labels (`nodeSelector`) and minimum driver/CUDA versions
 * (`accelerator.minDriver`, `accelerator.minCuda`): the syntax the job spec accepts and
 * the version order the placement engine compares by. Pure.
 */

/**
 * A label key, Kubernetes style: an optional DNS-subdomain prefix (at most 253 characters) and
 * `/`, then a name of 1-63 characters of letters, digits, `-`, `_` and `.`, starting and ending
 * with a letter or digit. `pool`, `zone`, `example.com/tier`, `gantry.io/node`.
 */
export const LABEL_KEY = /^(?:(?=[a-z0-9.-]{1,253}\/)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\/)?(?=.{1,63}$)[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** What LABEL_KEY asks for, in the words of every error that refuses a key. */
export const LABEL_KEY_WORDS = 'a label key: an optional DNS prefix and /, then 1-63 letters, digits, - _ . starting and ending with a letter or digit (pool, example.com/tier)';

/** A label value a selector may ask for: 1-253 characters of letters, digits and `. _ - : / + @`. */
export const LABEL_VALUE = /^[A-Za-z0-9._:/+@-]{1,253}$/;

/** The most values one selector entry may list, and the most entries in one selector. */
export const MAX_SELECTOR_VALUES = 64;
export const MAX_SELECTOR_ENTRIES = 32;

/**
 * The built-in label every node carries: its node name. The scheduler sets it; an agent's own
 * `labels` cannot override it, and a cluster file may not list it.
 */
export const NODE_NAME_LABEL = 'gantry.io/node';

/** Label → the value it must equal (a string) or the values it must be one of (a list). All entries must hold. */
export type NodeSelector = Record<string, string | string[]>;

/** A version in a job spec: dot-separated non-negative integers of at most 9 digits each, 1-8 segments (`550.54`, `12.4`). */
export const VERSION = /^\d{1,9}(?:\.\d{1,9}){0,7}$/;

/**
 * The numeric segments of a version a node reports: its leading run of dot-separated digits
 * (`535.104.05` -> [535, 104, 5]; `6.1.0-82` -> [6, 1, 0]); null when it has none (empty, `N/A`).
 * Segments are kept as digit strings without leading zeros, so any length compares exactly.
 */
export function versionSegments(version: string): string[] | null {
  const m = /^\s*v?(\d+(?:\.\d+)*)/.exec(version);
  if (!m) return null;
  return (m[1] as string).split('.').map((s) => s.replace(/^0+(?=\d)/, ''));
}

/**
 * Compare two versions segment by segment, numerically: negative when a < b, 0 when equal,
 * positive when a > b. Missing trailing segments are 0 (`12` = `12.0`; `550.100` > `550.54`;
 * `12.10` > `12.4`). Both must have segments (versionSegments not null).
 */
export function compareVersions(a: readonly string[], b: readonly string[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? '0';
    const y = b[i] ?? '0';
    if (x.length !== y.length) return x.length - y.length;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
