/**
 * NATS credentials on disk, in one directory:
 *
 *   nats-auth.conf      the authorization block (public keys), mode 0644: `include` it from nats-server.conf
 *   scheduler.nk        the scheduler's seed, mode 0600: its nats.nkeySeedFile
 *   events.nk           the `gantry events` reader's seed, mode 0600: gantry events --nats-nkey
 *   node-<node>.nk      each agent's seed, mode 0600: that node's nats.nkeySeedFile (<node> as one
 *                       subject token: letters, digits, '-', '_' kept, the rest percent-encoded)
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { subjectToken, subjectTokenDecode } from '../events/index.js';
import { natsAuth, type NatsAuth, type NatsSeeds } from './generate.js';

export const NATS_AUTH_CONF_FILE = 'nats-auth.conf';
export const SCHEDULER_SEED_FILE = 'scheduler.nk';
export const EVENTS_SEED_FILE = 'events.nk';

/** The seed file of a node's agent, relative to the directory. */
export function nodeSeedFile(node: string): string {
  return `node-${subjectToken(node)}.nk`;
}

export interface NatsAuthFiles {
  conf: string;
  scheduler: string;
  events: string;
  nodes: Record<string, string>;
}

/** Writes through a temporary file and a rename, so a reader never sees half a file; sets the mode even on an existing file. */
function writeFileAtomic(file: string, data: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

/** Writes the block and every seed into `dir` (created, mode 0700, if absent); returns the paths. */
export function writeNatsAuth(dir: string, auth: NatsAuth): NatsAuthFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const at = (f: string): string => path.join(dir, f);
  const files: NatsAuthFiles = { conf: at(NATS_AUTH_CONF_FILE), scheduler: at(SCHEDULER_SEED_FILE), events: at(EVENTS_SEED_FILE), nodes: {} };
  writeFileAtomic(files.scheduler, `${auth.seeds.scheduler}\n`, 0o600);
  writeFileAtomic(files.events, `${auth.seeds.events}\n`, 0o600);
  for (const [node, seed] of Object.entries(auth.seeds.nodes)) {
    files.nodes[node] = at(nodeSeedFile(node));
    writeFileAtomic(files.nodes[node], `${seed}\n`, 0o600);
  }
  // The block last: it never names a user whose seed is not on disk yet.
  writeFileAtomic(files.conf, auth.conf, 0o644);
  return files;
}

/** The seeds already in `dir` (none when it does not exist), for natsAuth's `keep`. */
export function readNatsSeeds(dir: string): Partial<NatsSeeds> {
  if (!existsSync(dir)) return {};
  const read = (f: string): string | undefined => {
    const p = path.join(dir, f);
    return existsSync(p) ? readFileSync(p, 'utf8').trim() : undefined;
  };
  const out: Partial<NatsSeeds> = { nodes: {} };
  const scheduler = read(SCHEDULER_SEED_FILE);
  const events = read(EVENTS_SEED_FILE);
  if (scheduler) out.scheduler = scheduler;
  if (events) out.events = events;
  for (const f of readdirSync(dir)) {
    const m = /^node-(.+)\.nk$/.exec(f);
    if (!m) continue;
    let node: string;
    try {
      node = subjectTokenDecode(m[1]!);
    } catch {
      continue; // not a name nodeSeedFile writes
    }
    if (nodeSeedFile(node) !== f) continue;
    const seed = read(f);
    if (seed) out.nodes![node] = seed;
  }
  return out;
}

/**
 * Generates (or completes) a cluster's NATS credentials in `dir`: seeds already there are kept
 * unless `rotate`, missing ones drawn, the block rewritten for exactly `nodes`. Seed files of nodes
 * no longer listed stay on disk but no longer name a user. Returns the result and the paths.
 */
export function generateNatsAuthDir(dir: string, opts: { nodes: readonly string[]; rotate?: boolean }): { auth: NatsAuth; files: NatsAuthFiles } {
  const keep = opts.rotate ? {} : readNatsSeeds(dir);
  const auth = natsAuth({ nodes: opts.nodes, keep });
  return { auth, files: writeNatsAuth(dir, auth) };
}
