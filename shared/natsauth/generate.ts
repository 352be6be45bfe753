/**
 * NATS credentials for a Gantry cluster: one nkey user per daemon (the scheduler, each node's agent)
 * and one for `gantry events`, with the permissions of ./permissions.ts, as an include-able
 * nats-server authorization block plus the users' seeds. Seeds given in `keep` are reused (adding a
 * node does not rotate everyone else's); the rest are drawn fresh.
 */
import { nkeys } from 'nats';
import { InvalidArgumentError } from '../errors/index.js';
import { authorizationConf, eventsReaderPermissions, nodePermissions, schedulerPermissions, type NatsUserEntry } from './permissions.js';

export interface NatsSeeds {
  scheduler: string;
  events: string;
  /** Node name -> its agent's seed. */
  nodes: Record<string, string>;
}

export interface NatsAuthOptions {
  /** The nodes whose agents get a user (each confined to its own telemetry subjects). */
  nodes: readonly string[];
  /** Seeds to reuse (a node's, the scheduler's, the events user's); absent ones are drawn fresh. */
  keep?: Partial<{ scheduler: string; events: string; nodes: Record<string, string> }>;
}

export interface NatsAuth {
  /** The `authorization { users = [...] }` block (public keys only) for the server's config to `include`. */
  conf: string;
  /** The users' seeds (secrets): nats.nkeySeedFile of each daemon, `gantry events --nats-nkey`. */
  seeds: NatsSeeds;
  /** The users' public keys, by the same names. */
  publicKeys: NatsSeeds;
}

/** The public key of a user seed (SU...); InvalidArgumentError naming `what` when it is not one. */
export function userPublicKey(seed: string, what: string): string {
  const s = seed.trim();
  if (!s.startsWith('SU')) throw new InvalidArgumentError(what, 'is not an nkey user seed (SU...)');
  try {
    return nkeys.fromSeed(new TextEncoder().encode(s)).getPublicKey();
  } catch (e) {
    throw new InvalidArgumentError(what, `is not a valid nkey seed (${(e as Error).message})`);
  }
}

function freshSeed(): string {
  return new TextDecoder().decode(nkeys.createUser().getSeed());
}

/** Validates the node list: non-empty names, each once. */
function checkNodes(nodes: readonly string[]): void {
  const seen = new Set<string>();
  for (const n of nodes) {
    if (n.trim() === '' || n !== n.trim()) throw new InvalidArgumentError('nodes', `node name ${JSON.stringify(n)} is empty or has surrounding spaces`);
    if (seen.has(n)) throw new InvalidArgumentError('nodes', `node ${JSON.stringify(n)} is listed twice`);
    seen.add(n);
  }
}

/** Users, seeds and the authorization block for the scheduler, `gantry events` and each node. */
export function natsAuth(opts: NatsAuthOptions): NatsAuth {
  checkNodes(opts.nodes);
  const keep = opts.keep ?? {};
  const seeds: NatsSeeds = { scheduler: keep.scheduler?.trim() || freshSeed(), events: keep.events?.trim() || freshSeed(), nodes: {} };
  for (const n of opts.nodes) seeds.nodes[n] = keep.nodes?.[n]?.trim() || freshSeed();
  const publicKeys: NatsSeeds = {
    scheduler: userPublicKey(seeds.scheduler, 'scheduler seed'),
    events: userPublicKey(seeds.events, 'events seed'),
    nodes: Object.fromEntries(opts.nodes.map((n) => [n, userPublicKey(seeds.nodes[n]!, `seed of node ${JSON.stringify(n)}`)])),
  };
  const all = [publicKeys.scheduler, publicKeys.events, ...Object.values(publicKeys.nodes)];
  if (new Set(all).size !== all.length) throw new InvalidArgumentError('keep', 'two users would share one seed');
  const users: NatsUserEntry[] = [
    { who: 'scheduler: publishes events (GANTRY_EVENTS), reads telemetry', nkey: publicKeys.scheduler, permissions: schedulerPermissions() },
    { who: 'events: gantry events, reads GANTRY_EVENTS', nkey: publicKeys.events, permissions: eventsReaderPermissions() },
    ...opts.nodes.map((n) => ({ who: `node ${JSON.stringify(n)}: its own telemetry only`, nkey: publicKeys.nodes[n]!, permissions: nodePermissions(n) })),
  ];
  const conf = authorizationConf(users, [
    'NATS users of a Gantry cluster (gantry nats-auth): include this from nats-server.conf.',
    'Public keys only; the seeds are in the files beside it. Regenerate it when nodes join or leave.',
  ]);
  return { conf, seeds, publicKeys };
}
