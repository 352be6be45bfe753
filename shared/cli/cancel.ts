import { parseArgs } from 'node:util';
import type { PbJobOut } from '../proto/index.js';
import { jobViewFromPb } from '../wire/index.js';
import { EXIT_USAGE, type Command } from './command.js';
import { reportCallError, schedulerAddress, schedulerClient, unaryCall } from './client.js';

export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'cancel a job: its ranks get SIGTERM, then SIGKILL after its grace period',
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
      io.stderr(`gantry cancel: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
    if (values.help || positionals.length !== 1) {
      (values.help ? io.stdout : io.stderr)('usage: gantry cancel ID [--reason TEXT] [--scheduler host:port]\n');
      return values.help ? 0 : EXIT_USAGE;
    }
    const address = schedulerAddress(values.scheduler, io.env);
    const client = schedulerClient(address);
    try {
      const job = jobViewFromPb(await unaryCall<object, PbJobOut>(client, client.CancelJob as never, { id: positionals[0], reason: values.reason ?? '' }));
      io.stdout(`${job.id} ${job.state}\n`);
      return 0;
    } catch (e) {
      return reportCallError('cancel', e, address, io.stderr);
    } finally {
      client.close();
    }
  },
};
