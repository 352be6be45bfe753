import { jobViewFromPb } from '../wire/index.js';
import type { Command } from './command.js';
import { runClientCommand } from './client.js';

/** `gantry release ID`: a held job (its prolog failed on too many nodes) is scheduled again, on any node. */
export const releaseCommand: Command = {
  name: 'release',
  summary: 'release a held job (its prolog failed on health.prologFailuresToHold nodes): it is scheduled again, on any node',
  run: (argv, io) =>
    runClientCommand('release', argv, io, { options: {}, positionals: 1, usage: 'ID' }, async ({ scheduler, positionals }) => {
      const job = jobViewFromPb(await scheduler.call('ReleaseJob', { id: positionals[0] }));
      io.stdout(`${job.id} ${job.state}: ${job.message}\n`);
      return 0;
    }),
};
