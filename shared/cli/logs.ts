import { EXIT_USAGE, type Command } from './command.js';
import { runClientCommand } from './client.js';

export const logsCommand: Command = {
  name: 'logs',
  summary: "a rank's stdout and stderr, read through the scheduler; --follow keeps reading",
  run: (argv, io) =>
    runClientCommand(
      'logs',
      argv,
      io,
      { options: { rank: { type: 'string', default: '0' }, follow: { type: 'boolean', short: 'f' } }, positionals: 1, usage: 'JOB [--rank N (default 0)] [--follow]' },
      async ({ scheduler, values, positionals }) => {
        const rank = Number(values.rank);
        if (!Number.isInteger(rank) || rank < 0) {
          io.stderr('gantry logs: --rank must be a non-negative integer\n');
          return EXIT_USAGE;
        }
        let offset = 0;
        let stop = false;
        const onSignal = (): void => void (stop = true);
        process.once('SIGINT', onSignal);
        try {
          for (;;) {
            const res = await scheduler.call('ReadLogs', { jobId: positionals[0], rank, offset, maxBytes: 1 << 20 });
            if (res.data) io.stdout(res.data);
            offset = res.nextOffset;
            if (!res.eof) continue;
            if (!values.follow || res.finished || stop) return 0;
            await new Promise((r) => setTimeout(r, 500));
            if (stop) return 0;
          }
        } finally {
          process.off('SIGINT', onSignal);
        }
      },
    ),
};
