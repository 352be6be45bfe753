/**
 * `gantry nats-auth --nodes a,b --out DIR [--rotate]`: writes the NATS users of a cluster (an nkey
 * per daemon, each with only the subjects it needs) into DIR: nats-auth.conf for nats-server to
 * `include`, and one seed file per user (shared/natsauth). Seeds already in DIR are kept unless
 * --rotate, so adding a node leaves everyone else's credentials alone.
 */
import path from 'node:path';
import type { Command } from '../shared/cli/command.js';
import { EXIT_FAILURE, EXIT_USAGE, parseFlags } from '../shared/cli/command.js';
import { isGantryError } from '../shared/errors/index.js';
import { generateNatsAuthDir } from '../shared/natsauth/index.js';

const USAGE = `usage: gantry nats-auth --nodes NAME[,NAME...] --out DIR [--rotate]

Writes NATS users for the scheduler, each node's agent and 'gantry events' into DIR:
  nats-auth.conf     authorization block (public keys): include it from nats-server.conf
  scheduler.nk       the scheduler's seed (nats.nkeySeedFile): alone may publish gantry.events.>
  node-<node>.nk     each agent's seed (nats.nkeySeedFile): publishes gantry.telemetry.*.<node> only
  events.nk          gantry events --nats-nkey: reads GANTRY_EVENTS, publishes no event
Seed files are mode 0600. Seeds already in DIR are kept; the block lists exactly --nodes.

  --nodes LIST   node names, comma-separated (as the agents' nodeName)
  --out DIR      where to write (created, mode 0700, if absent)
  --rotate       draw every seed afresh (restart every daemon with its new file)
  -h, --help     this help
`;

export const natsAuthCommand: Command = {
  name: 'nats-auth',
  summary: 'write NATS users (nkeys) with per-daemon subject permissions',
  async run(argv, io) {
    const flags = parseFlags('nats-auth', argv, { nodes: { type: 'string' }, out: { type: 'string' }, rotate: { type: 'boolean' } }, USAGE, io);
    if (typeof flags === 'number') return flags;
    const values = flags as { nodes?: string; out?: string; rotate?: boolean };
    if (values.nodes === undefined || values.out === undefined || values.out === '') {
      io.stderr(`gantry nats-auth: --nodes and --out are required\n${USAGE}`);
      return EXIT_USAGE;
    }
    const nodes = values.nodes.split(',').map((n) => n.trim()).filter((n) => n !== '');
    const dir = path.resolve(io.cwd, values.out);
    try {
      const { auth, files } = generateNatsAuthDir(dir, { nodes, rotate: values.rotate === true });
      io.stdout(`wrote ${files.conf} (include it from nats-server.conf)\n`);
      io.stdout(`  scheduler  ${auth.publicKeys.scheduler}  ${files.scheduler}\n`);
      io.stdout(`  events     ${auth.publicKeys.events}  ${files.events}\n`);
      for (const n of nodes) io.stdout(`  node ${n}  ${auth.publicKeys.nodes[n]}  ${files.nodes[n]}\n`);
      return 0;
    } catch (e) {
      if (isGantryError(e) && e.code === 'INVALID_ARGUMENT') {
        io.stderr(`gantry nats-auth: ${e.message}\n`);
        return EXIT_USAGE;
      }
      io.stderr(`gantry nats-auth: ${(e as Error).message}\n`);
      return EXIT_FAILURE;
    }
  },
};
