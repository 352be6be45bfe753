export type { NotifyEnv } from './env.js';
export { NOTIFY_ENV_NAMES, parseNotifyEnv } from './env.js';
export type { NotifierOptions, NotifyVia, ServiceNotifier } from './notifier.js';
export { defaultHelperPath, serviceNotifier } from './notifier.js';
