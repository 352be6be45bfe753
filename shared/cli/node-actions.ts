/** cordon, uncordon and drain: one shape, three commands. */
import { nodeFromPb } from '../wire/index.js';
import type { Command } from './command.js';
import { runClientCommand } from './client.js';
import { parseDurationSeconds } from '../jobspec/index.js';

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
          io.stdout(`${n.name} ${n.schedulability}${n.schedulabilityReason ? ` (${n.schedulabilityReason})` : ''}\n`);
          return 0;
        },
      ),
  };
}

export const cordonCommand = nodeAction('cordon', 'CordonNode', 'take no new work on a node');
export const uncordonCommand = nodeAction('uncordon', 'UncordonNode', 'let a node take work again');
export const drainCommand = nodeAction('drain', 'DrainNode', 'take no new work; running gangs finish, or are stopped and requeued after --deadline');
