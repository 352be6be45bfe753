import { jobViewFromPb } from '../wire/index.js';
import type { Command } from './command.js';
import { runClientCommand } from './client.js';

export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'cancel a job: its ranks get SIGTERM, then SIGKILL after its grace period',
  run: (argv, io) =>
    runClientCommand('cancel', argv, io, { options: { reason: { type: 'string' } }, positionals: 1, usage: 'ID [--reason TEXT]' }, async ({ scheduler, values, positionals }) => {
      const job = jobViewFromPb(await scheduler.call('CancelJob', { id: positionals[0], reason: values.reason ?? '' }));
      io.stdout(`${job.id} ${job.state}\n`);
      return 0;
    }),
};
