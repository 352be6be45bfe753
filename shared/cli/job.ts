import { jobViewFromPb } from '../wire/index.js';
import type { Command } from './command.js';
import { runClientCommand } from './client.js';
import { jobText } from './job-format.js';

export const jobCommand: Command = {
  name: 'job',
  summary: 'one job: state, placement map (rank → node, GPUs, topology path), why pending',
  run: (argv, io) =>
    runClientCommand('job', argv, io, { options: { json: { type: 'boolean' } }, positionals: 1, usage: 'ID [--json]' }, async ({ scheduler, values, positionals }) => {
      const job = jobViewFromPb(await scheduler.call('GetJob', { id: positionals[0] }));
      const why = await scheduler.call('ExplainJob', { id: positionals[0] });
      if (values.json) {
        io.stdout(JSON.stringify({ ...job, whyPending: job.state === 'pending' ? { text: why.text, reasons: why.reasons } : null }, null, 2) + '\n');
      } else {
        io.stdout(jobText(job, job.state === 'pending' ? why.text : undefined));
      }
      return 0;
    }),
};
