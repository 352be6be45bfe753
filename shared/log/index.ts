import { pino, type Logger } from 'pino';

export type LogFormat = 'auto' | 'json' | 'pretty';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type { Logger };

/** Logs go to stderr: JSON, or human-readable on a TTY (format 'auto'). */
export function createLogger(opts: { name: string; level: LogLevel; format: LogFormat; isTty: boolean }): Logger {
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && opts.isTty);
  if (pretty) {
    return pino({
      name: opts.name,
      level: opts.level,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino({ name: opts.name, level: opts.level }, pino.destination({ dest: 2, sync: false }));
}
