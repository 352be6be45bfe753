import { systemClock } from '../shared/clock/index.js';
import { runUntilSignalled } from '../shared/lifecycle/index.js';
import { createLogger } from '../shared/log/index.js';
import { serviceNotifier } from '../shared/sdnotify/index.js';
import { createScheduler } from '../scheduler/main.js';
import { createHaScheduler } from '../scheduler/ha/daemon.js';
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
    // systemd (Type=notify): READY=1 once it serves, WATCHDOG=1 from the event loop, STOPPING=1 at SIGTERM.
    const notify = serviceNotifier(io.env, { log });
    notify.startWatchdog();
    // ha.enabled: one of several schedulers, leader or standby (scheduler/ha/daemon.ts).
    const daemon = config.ha.enabled ? createHaScheduler(config, { log, clock: systemClock }) : createScheduler(config, { log, clock: systemClock });
    try {
      // SIGHUP re-reads the TLS files, the revoked certificate serials and the token keys (never stops the daemon).
      const code = await runUntilSignalled(
        daemon,
        (e) => log.error({ err: e }, 'error while stopping'),
        (e) => log.error({ err: e }, 'reload failed'),
        {
          onStarted: () => notify.ready(`serving gRPC on port ${daemon.grpcPort}`),
          onStopping: () => notify.stopping('stopping'),
          stopTimeoutMs: config.shutdownTimeoutMs,
          onStopTimeout: (ms) => log.error({ shutdownTimeoutMs: ms }, 'the stop did not finish within shutdownTimeoutMs; exiting anyway (events not yet published stay in the outbox)'),
        },
      );
      notify.close();
      return code;
    } catch (e) {
      notify.close();
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
