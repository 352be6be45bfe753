import { Registry } from 'prom-client';
import t from 'tap';
import { registerProcessMetrics } from '../../../shared/metrics/index.js';

t.test('process metrics: one set per process and prefix, served by every registry that asks', async (t) => {
  const a = new Registry();
  const b = new Registry();
  registerProcessMetrics(a, 'proc_test_');
  registerProcessMetrics(b, 'proc_test_');
  const names = (r: Registry): string[] => r.getMetricsAsArray().map((m) => m.name).sort();
  t.ok(names(a).includes('proc_test_process_cpu_user_seconds_total'), 'CPU time is there');
  t.ok(names(a).includes('proc_test_nodejs_gc_duration_seconds'), 'GC durations are there');
  t.same(names(b), names(a), 'both registries serve the same metrics');
  for (const name of names(a)) t.equal(b.getSingleMetric(name), a.getSingleMetric(name), `${name}: the same object, observed once`);
  t.notOk(names(a).some((n) => /nodejs_active_(handles|requests|resources)_total$/.test(n)), 'the gauges promtool refuses are left out');
  t.match(await b.metrics(), /^proc_test_process_cpu_user_seconds_total \d/m, 'rendered with a value');
  const c = new Registry();
  registerProcessMetrics(c, 'proc_other_');
  t.ok(c.getSingleMetric('proc_other_process_cpu_user_seconds_total'), 'another prefix gets its own set');
  t.notOk(c.getSingleMetric('proc_test_process_cpu_user_seconds_total'));
});
