/** cordon, uncordon and drain: one shape, three commands; and `gantry node approve|delete|show NODE`. */
import { nodeFromPb } from '../wire/index.js';
import { EXIT_USAGE, type Command } from './command.js';
import { runClientCommand } from './client.js';
import { parseDurationSeconds } from '../jobspec/index.js';
import { schedulingText } from './nodes.js';
import { nodeShowCommand } from './node.js';
import { printable } from './printable.js';

function nodeAction(name: 'cordon' | 'uncordon' | 'drain', rpc: 'CordonNode' | 'UncordonNode' | 'DrainNode', summary: string): Command {
  return {
    name,
    summary,
    run: (argv, io) =>
      runClientCommand(
        name,
        argv,
        io,
        name === 'drain'
          ? { options: { reason: { type: 'string' }, deadline: { type: 'string' } }, positionals: 1, usage: 'NODE [--reason TEXT] [--deadline DURATION, e.g. 30m: then stop and requeue what still runs]' }
          : { options: { reason: { type: 'string' } }, positionals: 1, usage: 'NODE [--reason TEXT]' },
        async ({ scheduler, values, positionals }) => {
          const v = values as { reason?: string; deadline?: string };
          const deadlineSeconds = v.deadline !== undefined ? parseDurationSeconds(/^\d+$/.test(v.deadline) ? Number(v.deadline) : v.deadline, '--deadline') : 0;
          const n = nodeFromPb(await scheduler.call(rpc, { name: positionals[0], reason: v.reason ?? '', deadlineSeconds }));
          io.stdout(`${printable(n.name)} ${n.schedulability}${n.schedulabilityReason ? ` (${printable(n.schedulabilityReason)})` : ''}\n`);
          return 0;
        },
      ),
  };
}

export const cordonCommand = nodeAction('cordon', 'CordonNode', 'take no new work on a node');
export const uncordonCommand = nodeAction('uncordon', 'UncordonNode', 'let a node take work again');
export const drainCommand = nodeAction('drain', 'DrainNode', 'take no new work; running gangs finish, or are stopped and requeued after --deadline');

const NODE_USAGE = `usage: gantry node [show] NODE [--json] | approve NODE | delete NODE [--scheduler host:port]

subcommands:
  approve NODE        let a node that joined while the scheduler required approval (nodes.requireApproval) take work
  delete NODE         delete a node's record (refused while ranks run there: cordon and drain it first); its agent's
                      stream is closed, and if that agent registers again the node joins afresh
  [show] NODE [--json]
                      one node: state, GPUs, domains, labels, verdicts, the accounts its agent runs ranks as
`;

/** `gantry node [show] NODE`, `gantry node approve NODE`, `gantry node delete NODE`. */
export const nodeCommand: Command = {
  name: 'node',
  summary: 'one node: approve a new node, delete a record, show it',
  run(argv, io) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'approve':
        return runClientCommand('node approve', rest, io, { options: {}, positionals: 1, usage: 'NODE' }, async ({ scheduler, positionals }) => {
          const n = nodeFromPb(await scheduler.call('ApproveNode', { name: positionals[0] }));
          io.stdout(`${printable(n.name)} approved: ${printable(schedulingText(n))}\n`);
          return 0;
        });
      case 'delete':
        return runClientCommand('node delete', rest, io, { options: {}, positionals: 1, usage: 'NODE' }, async ({ scheduler, positionals }) => {
          const res = await scheduler.call('DeleteNode', { name: positionals[0] });
          io.stdout(`${printable(res.name)} deleted\n`);
          return 0;
        });
      case 'show':
        return nodeShowCommand.run(rest, io);
      case '--help':
      case '-h':
        io.stdout(NODE_USAGE);
        return Promise.resolve(0);
      default:
        // `gantry node NAME` shows it.
        if (sub !== undefined && !sub.startsWith('-')) return nodeShowCommand.run(argv, io);
        io.stderr(sub === undefined ? NODE_USAGE : `gantry node: unknown option ${JSON.stringify(sub)}\n${NODE_USAGE}`);
        return Promise.resolve(EXIT_USAGE);
    }
  },
};
