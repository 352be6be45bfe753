import { parseArgs } from 'node:util';
import type { ReadLogsResponse__Output } from '../proto/index.js';
import { EXIT_USAGE, type Command } from './command.js';
import { reportCallError, schedulerAddress, schedulerClient, unaryCall } from './client.js';

export const logsCommand: Command = {
  name: 'logs',
  summary: "a rank's stdout and stderr, read through the scheduler; --follow keeps reading",
  async run(argv, io) {
    let values, positionals;
    try {
      ({ values, positionals } = parseArgs({
        args: argv,
        options: { rank: { type: 'string', default: '0' }, follow: { type: 'boolean', short: 'f' }, scheduler: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
        strict: true,
      }));
    } catch (e) {
      io.stderr(`gantry logs: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
    if (values.help || positionals.length !== 1) {
      (values.help ? io.stdout : io.stderr)('usage: gantry logs JOB [--rank N (default 0)] [--follow] [--scheduler host:port]\n');
      return values.help ? 0 : EXIT_USAGE;
    }
    const rank = Number(values.rank);
    if (!Number.isInteger(rank) || rank < 0) {
      io.stderr('gantry logs: --rank must be a non-negative integer\n');
      return EXIT_USAGE;
    }
    const address = schedulerAddress(values.scheduler, io.env);
    const client = schedulerClient(address);
    let offset = 0;
    let stop = false;
    const onSignal = (): void => void (stop = true);
    process.once('SIGINT', onSignal);
    try {
      for (;;) {
        const res = await unaryCall<object, ReadLogsResponse__Output>(client, client.ReadLogs as never, { jobId: positionals[0], rank, offset, maxBytes: 1 << 20 });
        if (res.data) io.stdout(res.data);
        offset = res.nextOffset;
        if (!res.eof) continue;
        if (!values.follow || res.finished || stop) return 0;
        await new Promise((r) => setTimeout(r, 500));
        if (stop) return 0;
      }
    } catch (e) {
      return reportCallError('logs', e, address, io.stderr);
    } finally {
      process.off('SIGINT', onSignal);
      client.close();
    }
  },
};
