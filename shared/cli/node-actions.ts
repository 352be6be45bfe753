/** cordon, uncordon and drain: one shape, three commands. */
import { parseArgs } from 'node:util';
import type { PbNodeOut } from '../proto/index.js';
import { nodeFromPb } from '../wire/index.js';
import { EXIT_USAGE, type Command } from './command.js';
import { reportCallError, schedulerAddress, schedulerClient, unaryCall } from './client.js';

function nodeAction(name: 'cordon' | 'uncordon' | 'drain', rpc: 'CordonNode' | 'UncordonNode' | 'DrainNode', summary: string): Command {
  return {
    name,
    summary,
    async run(argv, io) {
      let values, positionals;
      try {
        ({ values, positionals } = parseArgs({
          args: argv,
          options: { reason: { type: 'string' }, scheduler: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
          allowPositionals: true,
          strict: true,
        }));
      } catch (e) {
        io.stderr(`gantry ${name}: ${(e as Error).message}\n`);
        return EXIT_USAGE;
      }
      if (values.help || positionals.length !== 1) {
        (values.help ? io.stdout : io.stderr)(`usage: gantry ${name} NODE [--reason TEXT] [--scheduler host:port]\n`);
        return values.help ? 0 : EXIT_USAGE;
      }
      const address = schedulerAddress(values.scheduler, io.env);
      const client = schedulerClient(address);
      try {
        const n = nodeFromPb(await unaryCall<object, PbNodeOut>(client, client[rpc] as never, { name: positionals[0], reason: values.reason ?? '' }));
        io.stdout(`${n.name} ${n.schedulability}${n.schedulabilityReason ? ` (${n.schedulabilityReason})` : ''}\n`);
        return 0;
      } catch (e) {
        return reportCallError(name, e, address, io.stderr);
      } finally {
        client.close();
      }
    },
  };
}

export const cordonCommand = nodeAction('cordon', 'CordonNode', 'take no new work on a node');
export const uncordonCommand = nodeAction('uncordon', 'UncordonNode', 'let a node take work again');
export const drainCommand = nodeAction('drain', 'DrainNode', 'take no new work; running gangs finish');
