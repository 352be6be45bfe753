import { Registry } from 'prom-client';
import t from 'tap';
import { EVENT_LOOP_RESOLUTION_MS, registerEventLoopDelay } from '../../../shared/metrics/index.js';

const value = async (r: Registry, name: string): Promise<number> => {
  const m = (await r.metrics()).match(new RegExp(`^${name} (\\S+)$`, 'm'));
  if (!m) throw new Error(`${name} is not served`);
  return Number(m[1]);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const block = (ms: number): void => {
  const until = Date.now() + ms;
  while (Date.now() < until);
};

t.test('event-loop delay: a stall shows in the max of its scrape window, and the next window starts clean', async (t) => {
  const a = new Registry();
  const b = new Registry();
  registerEventLoopDelay(a, 'eld_test_');
  registerEventLoopDelay(b, 'eld_test_');
  t.equal(a.getSingleMetric('eld_test_event_loop_delay_max_seconds'), b.getSingleMetric('eld_test_event_loop_delay_max_seconds'), 'one monitor per process and prefix');
  await sleep(100);
  await a.metrics(); // starts a window
  await sleep(5 * EVENT_LOOP_RESOLUTION_MS);
  block(300);
  await sleep(5 * EVENT_LOOP_RESOLUTION_MS);
  const max = await value(a, 'eld_test_event_loop_delay_max_seconds');
  // The 300 ms stall, less nothing but the sampling interval; the upper bound is generous (a loaded machine).
  t.ok(max >= 0.25 && max < 5, `the 300 ms stall is seen: max ${max} s`);
  t.ok((await value(a, 'eld_test_event_loop_delay_p99_seconds')) <= max, 'p99 <= max');
  await sleep(20 * EVENT_LOOP_RESOLUTION_MS);
  const calm = await value(a, 'eld_test_event_loop_delay_max_seconds');
  t.ok(calm < 0.25, `the next window no longer holds the stall: max ${calm} s`);
});
