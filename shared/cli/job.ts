import { parseArgs } from 'node:util';
import type { ExplainJobResponse__Output, PbJobOut } from '../proto/index.js';
import { jobViewFromPb } from '../wire/index.js';
import { EXIT_USAGE, type Command } from './command.js';
import { reportCallError, schedulerAddress, schedulerClient, unaryCall } from './client.js';
import { jobText } from './job-format.js';

export const jobCommand: Command = {
  name: 'job',
  summary: 'one job: state, placement map (rank → node, GPUs, topology path), why pending',
  async run(argv, io) {
    let values, positionals;
    try {
      ({ values, positionals } = parseArgs({
        args: argv,
        options: { json: { type: 'boolean' }, scheduler: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
        strict: true,
      }));
    } catch (e) {
      io.stderr(`gantry job: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
    if (values.help || positionals.length !== 1) {
      (values.help ? io.stdout : io.stderr)('usage: gantry job ID [--json] [--scheduler host:port]\n');
      return values.help ? 0 : EXIT_USAGE;
    }
    const address = schedulerAddress(values.scheduler, io.env);
    const client = schedulerClient(address);
    try {
      const job = jobViewFromPb(await unaryCall<object, PbJobOut>(client, client.GetJob as never, { id: positionals[0] }));
      const why = await unaryCall<object, ExplainJobResponse__Output>(client, client.ExplainJob as never, { id: positionals[0] });
      if (values.json) {
        io.stdout(JSON.stringify({ ...job, whyPending: job.state === 'pending' ? { text: why.text, reasons: why.reasons } : null }, null, 2) + '\n');
      } else {
        io.stdout(jobText(job, job.state === 'pending' ? why.text : undefined));
      }
      return 0;
    } catch (e) {
      return reportCallError('job', e, address, io.stderr);
    } finally {
      client.close();
    }
  },
};
