/**
 * sd_notify: the environment read in one place (parseNotifyEnv, pure), and the notifier against a
 * real unix datagram socket the test owns (test/harness/notify-listener.py), through the native
 * helper (paths and @abstract names) and through systemd-notify where the helper is missing.
 * The watchdog pings come from the event loop: a loop blocked for 600 ms sends none meanwhile.
 */
import t from 'tap';
import path from 'node:path';
import { parseNotifyEnv, serviceNotifier } from '../../shared/sdnotify/index.js';
import { createLogger } from '../../shared/log/index.js';
import { ROOT, which } from '../harness/cluster.js';
import { startNotifyListener } from '../harness/notify.js';

const log = createLogger({ name: 'sdnotify-test', level: 'silent', format: 'json', isTty: false });
const NATIVE = path.join(ROOT, 'dist', 'shared', 'sdnotify', 'gantry-notify');

t.test('parseNotifyEnv: socket forms, WATCHDOG_USEC/2, WATCHDOG_PID, bad values named', async (t) => {
  t.same(parseNotifyEnv({}, 7), { socket: undefined, watchdogIntervalMs: undefined, problems: [] }, 'not under systemd');
  t.same(parseNotifyEnv({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000' }, 7), { socket: '/run/systemd/notify', watchdogIntervalMs: 15_000, problems: [] }, 'half of WATCHDOG_USEC, in ms');
  t.equal(parseNotifyEnv({ NOTIFY_SOCKET: '@abstract' }, 7).socket, '@abstract', 'an abstract name');
  t.equal(parseNotifyEnv({ NOTIFY_SOCKET: '/s', WATCHDOG_USEC: '400000', WATCHDOG_PID: '7' }, 7).watchdogIntervalMs, 200, 'a watchdog for this pid');
  t.equal(parseNotifyEnv({ NOTIFY_SOCKET: '/s', WATCHDOG_USEC: '400000', WATCHDOG_PID: '8' }, 7).watchdogIntervalMs, undefined, "another process's watchdog is not ours");
  t.equal(parseNotifyEnv({ WATCHDOG_USEC: '400000' }, 7).watchdogIntervalMs, undefined, 'no socket, no pings');
  const bad = parseNotifyEnv({ NOTIFY_SOCKET: 'relative/x', WATCHDOG_USEC: '-5' }, 7);
  t.equal(bad.socket, undefined);
  t.match(bad.problems.join('\n'), /NOTIFY_SOCKET "relative\/x"/, 'names NOTIFY_SOCKET');
  t.match(bad.problems.join('\n'), /WATCHDOG_USEC "-5"/, 'names WATCHDOG_USEC');
  t.equal(parseNotifyEnv({ NOTIFY_SOCKET: '/' + 'x'.repeat(200) }, 7).socket, undefined, 'longer than sun_path');
});

for (const abstract of [false, true]) {
  t.test(`native helper, ${abstract ? 'an @abstract name' : 'a path'}: READY, STATUS, WATCHDOG from the event loop, STOPPING`, async (t) => {
    const listener = await startNotifyListener(t, { abstract });
    const env: Record<string, string | undefined> = { NOTIFY_SOCKET: listener.socket, WATCHDOG_USEC: '100000', WATCHDOG_PID: String(process.pid), PATH: '' };
    const n = serviceNotifier(env, { log, helperPath: NATIVE });
    t.teardown(() => n.close());
    t.equal(n.via, 'native');
    t.equal(n.watchdogIntervalMs, 50);
    t.same(Object.keys(env), ['PATH'], 'NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID removed: children do not inherit them');
    n.ready('serving');
    n.ready('again');
    await listener.waitFor('READY=1');
    t.ok(listener.messages.some((m) => m.msg === 'STATUS=serving'), 'STATUS before READY');
    n.startWatchdog();
    await listener.waitFor('WATCHDOG=1', 3);
    // The loop stops for 600 ms: no ping goes out meanwhile (they come from a timer on this loop).
    const before = listener.count('WATCHDOG=1');
    const until = Date.now() + 600;
    while (Date.now() < until) {
      /* a stuck event loop */
    }
    await listener.waitFor('WATCHDOG=1', before + 2);
    const pings = listener.messages.filter((m) => m.msg === 'WATCHDOG=1');
    const gaps = pings.slice(1).map((m, i) => m.atMs - pings[i]!.atMs);
    t.ok(Math.max(...gaps) >= 500, `a gap of the stall's length between pings (largest ${Math.max(...gaps).toFixed(0)} ms)`);
    n.stopping('bye');
    await listener.waitFor('STOPPING=1');
    const pingsAtStop = listener.count('WATCHDOG=1');
    await new Promise((r) => setTimeout(r, 300));
    t.equal(listener.count('WATCHDOG=1'), pingsAtStop, 'no pings after STOPPING=1');
    t.equal(listener.count('READY=1'), 1, 'READY=1 once');
    if (process.getuid?.() === 0) t.ok(listener.messages.every((m) => m.pid === process.pid), "as root, every message carries the daemon's pid (NotifyAccess=main accepts it)");
  });
}

t.test('without the native helper: systemd-notify', { skip: which('systemd-notify') ? false : 'systemd-notify is not installed' }, async (t) => {
  const listener = await startNotifyListener(t);
  const n = serviceNotifier({ NOTIFY_SOCKET: listener.socket, WATCHDOG_USEC: '400000', PATH: process.env.PATH }, { log, helperPath: '/nonexistent/gantry-notify' });
  t.teardown(() => n.close());
  t.equal(n.via, 'systemd-notify');
  n.ready();
  n.startWatchdog();
  await listener.waitFor('READY=1');
  await listener.waitFor('WATCHDOG=1', 2);
  n.stopping();
  await listener.waitFor('STOPPING=1');
});

t.test('neither helper: says so and sends nothing; no NOTIFY_SOCKET: off', async (t) => {
  const none = serviceNotifier({ NOTIFY_SOCKET: '/tmp/x', PATH: '' }, { log, helperPath: '/nonexistent/gantry-notify' });
  t.equal(none.via, 'none');
  none.ready();
  none.startWatchdog();
  none.close();
  const off = serviceNotifier({}, { log });
  t.equal(off.via, 'off');
  t.equal(off.watchdogIntervalMs, undefined);
  off.close();
});
