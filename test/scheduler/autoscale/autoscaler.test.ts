/** The autoscaling policy and its histogram arithmetic, on a fake time axis (pure: no clock inside). */
import t from 'tap';
import { histogramQuantile, mergeHistograms, ServiceAutoscaler, serviceStateOf, type AutoscaleOptions, type ServiceState } from '../../../scheduler/autoscale/index.js';
import type { JobRecord } from '../../../shared/domain/index.js';

const LE = [0.1, 0.2, 0.3, 0.5, 1];

/** n observations all in the bucket whose upper bound is `bound` (cumulative form). */
function at(bound: number, n: number): { le: number[]; buckets: number[]; count: number; sum: number } {
  const i = LE.indexOf(bound);
  const buckets = [...LE.map((_, j) => (j >= i && i >= 0 ? n : 0)), n];
  return { le: LE, buckets, count: n, sum: n * bound };
}

t.test('histogram_quantile: interpolation inside the bucket, as Prometheus does', async (t) => {
  // 100 observations: 50 ≤ 0.1, 40 in (0.1, 0.2], 10 in (0.2, 0.3].
  const h = { le: LE, buckets: [50, 90, 100, 100, 100, 100] };
  t.equal(histogramQuantile(0.5, h), 0.1, 'rank 50 is the top of the first bucket');
  t.equal(histogramQuantile(0.25, h), 0.05, 'first bucket interpolates from 0');
  t.equal(+histogramQuantile(0.7, h).toFixed(6), 0.15, 'rank 70: halfway through (0.1, 0.2]');
  t.equal(+histogramQuantile(0.99, h).toFixed(6), 0.29, 'rank 99: 9 of 10 into (0.2, 0.3]');
  t.equal(histogramQuantile(0.99, { le: LE, buckets: [0, 0, 0, 0, 0, 10] }), 1, 'a rank in +Inf answers the highest finite bound');
  t.ok(Number.isNaN(histogramQuantile(0.99, { le: LE, buckets: [0, 0, 0, 0, 0, 0] })), 'NaN without observations');
  t.equal(+histogramQuantile(0.7, { le: LE, buckets: [2, 6, 5, 10, 10, 10] }).toFixed(6), 0.35, 'a dipping bucket is made monotonic');
  t.equal(histogramQuantile(-1, h), -Infinity);
  t.equal(histogramQuantile(2, h), Infinity);
});

t.test('merging replicas sums buckets, counts and sums; different bounds are refused', async (t) => {
  const m = mergeHistograms([at(0.2, 10), at(0.5, 30)])!;
  t.same(m.buckets, [0, 10, 10, 40, 40, 40]);
  t.equal(m.count, 40);
  t.equal(m.sum, 17);
  t.equal(mergeHistograms([]), undefined);
  t.throws(() => mergeHistograms([at(0.2, 1), { le: [1], buckets: [1, 1], count: 1, sum: 1 }]));
});

const OPTS: AutoscaleOptions = { windowMs: 10_000, upFactor: 1, upAfterMs: 3_000, downFactor: 0.5, downAfterMs: 5_000, cooldownMs: 4_000, minSamples: 20 };
const SLO: Omit<ServiceState, 'current'> = { min: 1, max: 3, p99Ms: 300 };

interface Step {
  /** Fake time, ms. */
  t: number;
  /** Windows arriving at t (one per replica). */
  windows: Array<ReturnType<typeof at>>;
  current: number;
  /** Expected target, or undefined for no decision. */
  target?: number;
  /** A fragment of the evaluation's why/reason. */
  why?: RegExp;
}

const table: Array<{ name: string; opts?: Partial<AutoscaleOptions>; steps: Step[] }> = [
  {
    name: 'slow for upAfterMs: one replica more, with the reason',
    steps: [
      { t: 0, windows: [at(0.5, 30)], current: 2, why: /p99 498 ms > SLO 300 ms for 0 s, not yet 3 s/ },
      { t: 1000, windows: [at(0.5, 30)], current: 2 },
      { t: 3000, windows: [at(0.5, 30)], current: 2, target: 3, why: /^p99 498 ms > SLO 300 ms for 3 s: 2 → 3 replicas$/ },
    ],
  },
  {
    name: 'a break in the condition restarts the timer (hysteresis band); old windows leave the sliding window',
    opts: { windowMs: 1000 },
    steps: [
      { t: 0, windows: [at(0.5, 30)], current: 1 },
      { t: 2000, windows: [at(0.3, 30)], current: 1, why: /^p99 \d+ ms within 150 ms–300 ms$/ },
      { t: 4000, windows: [at(0.5, 30)], current: 1, why: /for 0 s, not yet 3 s/ },
      { t: 6000, windows: [at(0.5, 30)], current: 1, why: /for 2 s, not yet 3 s/ },
      { t: 7000, windows: [at(0.5, 30)], current: 1, target: 2, why: /for 3 s: 1 → 2 replicas/ },
    ],
  },
  {
    name: 'fast for downAfterMs: one fewer; cooldown between steps; never below min',
    steps: [
      { t: 0, windows: [at(0.1, 50)], current: 3, why: /p99 99 ms < 150 ms \(0.5 × SLO 300 ms\) for 0 s/ },
      { t: 5000, windows: [at(0.1, 50)], current: 3, target: 2, why: /: 3 → 2 replicas$/ },
      { t: 10_000, windows: [at(0.1, 50)], current: 2, why: /not yet 5 s/ },
      { t: 15_000, windows: [at(0.1, 50)], current: 2, target: 1 },
      { t: 21_000, windows: [at(0.1, 50)], current: 1 },
      { t: 30_000, windows: [at(0.1, 50)], current: 1, why: /already at min 1 replicas/ },
    ],
  },
  {
    name: 'cooldown holds a second step even when the condition has held long enough',
    opts: { upAfterMs: 0, cooldownMs: 4000 },
    steps: [
      { t: 0, windows: [at(1, 30)], current: 1, target: 2 },
      { t: 1000, windows: [at(1, 30)], current: 2, why: /cooling down: 1 s since the last step, 4 s needed/ },
      { t: 4000, windows: [at(1, 30)], current: 2, target: 3 },
      { t: 9000, windows: [at(1, 30)], current: 3, why: /already at max 3 replicas/ },
    ],
  },
  {
    name: 'too few samples: no action, and the timers start over',
    steps: [
      { t: 0, windows: [at(0.5, 5)], current: 1, why: /too few samples: 5 < 20 in 10 s/ },
      { t: 5000, windows: [at(0.5, 5)], current: 1, why: /too few samples: 10 < 20/ },
      { t: 6000, windows: [at(0.5, 10)], current: 1, why: /for 0 s, not yet 3 s/ },
    ],
  },
  {
    name: "replicas' windows are merged: one slow replica among fast ones sets the p99",
    opts: { upAfterMs: 0 },
    steps: [{ t: 0, windows: [at(0.1, 60), at(0.1, 60), at(1, 10)], current: 2, target: 3, why: /p99 \d+ ms > SLO 300 ms/ }],
  },
];

for (const c of table) {
  t.test(c.name, async (t) => {
    const a = new ServiceAutoscaler({ ...OPTS, ...c.opts });
    for (const s of c.steps) {
      for (const w of s.windows) a.observe(w, s.t);
      const ev = a.evaluate(s.t, { ...SLO, current: s.current });
      t.equal(ev.decision?.target, s.target, `t=${s.t}: ${ev.why}`);
      if (s.why) t.match(ev.why, s.why, `t=${s.t}: why`);
      if (ev.decision) t.equal(ev.decision.reason, ev.why);
    }
  });
}

t.test('new bounds replace the windows with the old ones', async (t) => {
  const a = new ServiceAutoscaler({ ...OPTS, minSamples: 1 });
  a.observe(at(0.5, 30), 0);
  a.observe({ le: [1, 2], buckets: [5, 5, 5], count: 5, sum: 2 }, 1);
  t.equal(a.merged(1)!.count, 5);
});

t.test('serviceStateOf: only active Inference jobs with an SLO', async (t) => {
  const job = {
    state: 'running',
    spec: { kind: 'Inference', replicas: { min: 1, max: 4 }, slo: { p99Ms: 300, metric: 'm', port: 8000 } },
    ranks: [{ unit: 0 }, { unit: 0 }, { unit: 1 }],
  } as unknown as JobRecord;
  t.same(serviceStateOf(job), { current: 2, min: 1, max: 4, p99Ms: 300 });
  t.equal(serviceStateOf({ ...job, state: 'pending' }), undefined);
  t.equal(serviceStateOf({ ...job, spec: { ...job.spec, slo: undefined } }), undefined);
  t.equal(serviceStateOf(undefined), undefined);
});
