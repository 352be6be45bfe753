import { jobViewFromPb } from '../wire/index.js';
import type { Command } from './command.js';
import { runClientCommand } from './client.js';
import { jobsTable } from './job-format.js';

export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'list jobs (filter by --state, --queue, --owner)',
  run: (argv, io) =>
    runClientCommand(
      'jobs',
      argv,
      io,
      {
        options: { json: { type: 'boolean' }, state: { type: 'string' }, queue: { type: 'string' }, owner: { type: 'string' } },
        positionals: 0,
        usage: '[--state S] [--queue Q] [--owner O] [--json]',
      },
      async ({ scheduler, values }) => {
        const res = await scheduler.call('ListJobs', {
          state: values.state ?? '',
          queue: values.queue ?? '',
          owner: values.owner ?? '',
        });
        const jobs = res.jobs.map(jobViewFromPb);
        io.stdout(values.json ? JSON.stringify(jobs, null, 2) + '\n' : jobsTable(jobs, Date.now()));
        return 0;
      },
    ),
};
