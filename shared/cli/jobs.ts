import { parseArgs } from 'node:util';
import type { ListJobsResponse__Output } from '../proto/index.js';
import { jobViewFromPb } from '../wire/index.js';
import { EXIT_USAGE, type Command } from './command.js';
import { reportCallError, schedulerAddress, schedulerClient, unaryCall } from './client.js';
import { jobsTable } from './job-format.js';

export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'list jobs (filter by --state, --queue, --owner)',
  async run(argv, io) {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: { json: { type: 'boolean' }, state: { type: 'string' }, queue: { type: 'string' }, owner: { type: 'string' }, scheduler: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
        strict: true,
      }));
    } catch (e) {
      io.stderr(`gantry jobs: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
    if (values.help) {
      io.stdout('usage: gantry jobs [--state S] [--queue Q] [--owner O] [--json] [--scheduler host:port]\n');
      return 0;
    }
    const address = schedulerAddress(values.scheduler, io.env);
    const client = schedulerClient(address);
    try {
      const res = await unaryCall<object, ListJobsResponse__Output>(client, client.ListJobs as never, {
        state: values.state ?? '',
        queue: values.queue ?? '',
        owner: values.owner ?? '',
      });
      const jobs = res.jobs.map(jobViewFromPb);
      io.stdout(values.json ? JSON.stringify(jobs, null, 2) + '\n' : jobsTable(jobs, Date.now()));
      return 0;
    } catch (e) {
      return reportCallError('jobs', e, address, io.stderr);
    } finally {
      client.close();
    }
  },
};
