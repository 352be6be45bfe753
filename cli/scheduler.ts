import { systemClock } from '../shared/clock/index.js';
import { runUntilSignalled } from '../shared/lifecycle/index.js';
import { createLogger } from '../shared/log/index.js';
import { createScheduler } from '../scheduler/main.js';
import { schedulerConfigSchema, schedulerEnv, schedulerFlags } from '../scheduler/config.js';
import { EXIT_USAGE, type Command } from '../shared/cli/command.js';
import { configFromArgs, configUsage, isUsageError } from './config-args.js';

export const schedulerCommand: Command = {
  name: 'scheduler',
  summary: 'run the scheduler daemon',
  async run(argv, io) {
    let parsed;
    try {
      parsed = configFromArgs(argv, io, schedulerConfigSchema, schedulerFlags, schedulerEnv);
    } catch (e) {
      if (!isUsageError(e)) throw e;
      io.stderr(`gantry scheduler: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (parsed.help) {
      io.stdout(configUsage('scheduler', schedulerFlags, schedulerEnv));
      return 0;
    }
    const config = parsed.config;
    const log = createLogger({ name: 'gantry-scheduler', level: config.log.level, format: config.log.format, isTty: process.stderr.isTTY });
    const daemon = createScheduler(config, { log, clock: systemClock });
    try {
      // SIGHUP re-reads the TLS files, the revoked certificate serials and the token keys (never stops the daemon).
      return await runUntilSignalled(
        daemon,
        (e) => log.error({ err: e }, 'error while stopping'),
        (e) => log.error({ err: e }, 'reload failed'),
      );
    } catch (e) {
      if (isUsageError(e)) {
        io.stderr(`gantry scheduler: ${e.message}\n`);
        await daemon.stop().catch(() => undefined);
        return EXIT_USAGE;
      }
      log.fatal({ err: e }, 'scheduler failed to start');
      await daemon.stop().catch(() => undefined);
      return 1;
    }
  },
};
