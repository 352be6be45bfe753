/** The Prometheus text parser against a real vLLM exposition (fixtures/prometheus), and its edge cases. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { histogramDelta, histogramOf, parseExposition } from '../../../agent/slo/index.js';
import { ParseError } from '../../../shared/errors/index.js';
import { packageRoot } from '../../../shared/procs/index.js';

const VLLM = readFileSync(path.join(packageRoot(), 'fixtures', 'prometheus', 'vllm-qwen3-0.6b-metrics.txt'), 'utf8');
const E2E = 'vllm:e2e_request_latency_seconds';

t.test('a real vLLM exposition: every sample, labels and values', async (t) => {
  const samples = parseExposition(VLLM);
  t.equal(samples.length, 2 + (20 + 2) + (22 + 2) + 2, 'two gauges, both histograms (buckets, sum, count), a gauge and a counter');
  const cfg = samples.find((s) => s.name === 'vllm:cache_config_info')!;
  t.equal(Object.keys(cfg.labels).length, 15);
  t.equal(cfg.labels.num_gpu_blocks, '2340');
  t.equal(cfg.labels.swap_space_bytes, '4294967296.0');
  const lora = samples.find((s) => s.name === 'vllm:lora_requests_info')!;
  t.same(lora.labels, { max_lora: '1', running_lora_adapters: '', waiting_lora_adapters: '' }, 'empty label values');
  t.equal(lora.value, 1.755178079975038e9, 'exponent notation');
  const inf = samples.find((s) => s.name === `${E2E}_bucket` && s.labels.le === '+Inf')!;
  t.same(inf.labels, { le: '+Inf', model_name: 'Qwen/Qwen3-0.6B' });
});

t.test('a real vLLM exposition: the e2e latency histogram', async (t) => {
  const h = histogramOf(parseExposition(VLLM), E2E)!;
  t.same(h.le, [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680], "vLLM's request-latency bounds");
  t.same(h.buckets, [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 28, 33, 33, 33, 37, 38, 38, 38, 38, 38, 38, 38]);
  t.equal(h.count, 38);
  t.equal(h.sum, 902.0056705474854);
  const tpot = histogramOf(parseExposition(VLLM), 'vllm:time_per_output_token_seconds')!;
  t.equal(tpot.le.length, 19);
  t.equal(tpot.buckets[5], 4054, 'le=0.15');
  t.equal(tpot.count, 4805);
  t.equal(histogramOf(parseExposition(VLLM), 'vllm:time_to_first_token_seconds'), undefined, 'a family the exposition lacks');
  t.equal(histogramOf(parseExposition(VLLM), 'vllm:request_success'), undefined, 'a counter is no histogram');
});

t.test('label sets other than le are summed, as sum by (le) does', async (t) => {
  const text = [
    '# TYPE m histogram',
    'm_bucket{engine="0",le="0.5"} 2',
    'm_bucket{engine="0",le="1"} 3',
    'm_bucket{engine="0",le="+Inf"} 4',
    'm_sum{engine="0"} 3.5',
    'm_count{engine="0"} 4',
    'm_bucket{le="0.5",engine="1"} 1',
    'm_bucket{le="1.0",engine="1"} 5',
    'm_bucket{le="+Inf",engine="1"} 6',
    'm_sum{engine="1"} 4',
    'm_count{engine="1"} 6',
    'm_created{engine="1"} 1.7e9',
  ].join('\n');
  const h = histogramOf(parseExposition(text), 'm')!;
  t.same(h.le, [0.5, 1], '"1" and "1.0" are the same bound');
  t.same(h.buckets, [3, 8, 10]);
  t.equal(h.count, 10);
  t.equal(h.sum, 7.5);
});

t.test('escapes, whitespace, special values, timestamps, CRLF and OpenMetrics EOF', async (t) => {
  const text = [
    'a{path="C:\\\\dir",msg="say \\"hi\\"\\nbye",} 1 1700000000000\r',
    'b { x = "1" , y="2" }  +Inf',
    'c -Inf',
    'd NaN',
    'e{le="+Inf"} 3e-2',
    '  # indented comment',
    '',
    '# EOF',
  ].join('\n');
  const s = parseExposition(text);
  t.same(s[0]!.labels, { path: 'C:\\dir', msg: 'say "hi"\nbye' }, 'backslash, quote and newline escapes; trailing comma');
  t.equal(s[0]!.value, 1);
  t.same(s[1], { name: 'b', labels: { x: '1', y: '2' }, value: Infinity });
  t.equal(s[2]!.value, -Infinity);
  t.ok(Number.isNaN(s[3]!.value));
  t.equal(s[4]!.value, 0.03);
  t.equal(s.length, 5);
});

t.test('malformed input is refused, naming the line', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['ok 1\nbad{le="1" 2', /line 2: expected ',' or '}'/],
    ['x{le=1} 2', /line 1: expected '"'/],
    ['x{a="\\t"} 1', /line 1: invalid escape/],
    ['x{a="1",a="2"} 1', /line 1: label a repeated/],
    ['x{a="1} 1', /line 1: unterminated value/],
    ['x 12abc', /line 1: invalid value "12abc"/],
    ['x', /line 1: sample x has no value/],
    ['9x 1', /line 1: expected a metric name/],
    ['x 1 2 3', /line 1: unexpected text/],
  ];
  for (const [text, re] of cases) {
    try {
      parseExposition(text);
      t.fail(`accepted ${JSON.stringify(text)}`);
    } catch (e) {
      t.ok(e instanceof ParseError, `ParseError for ${JSON.stringify(text)}`);
      t.match((e as Error).message, re);
    }
  }
  try {
    histogramOf(parseExposition('m_bucket{le="1"} 1\nm_count 1'), 'm');
    t.fail('a histogram without +Inf was accepted');
  } catch (e) {
    t.match((e as Error).message, /no le="\+Inf" bucket/);
  }
});

t.test('deltas between scrapes; a drop of a counter is a restart', async (t) => {
  const a = { le: [0.5, 1], buckets: [2, 3, 4], count: 4, sum: 2 };
  const b = { le: [0.5, 1], buckets: [5, 9, 10], count: 10, sum: 6.5 };
  t.same(histogramDelta(a, b), { le: [0.5, 1], buckets: [3, 6, 6], count: 6, sum: 4.5, reset: false });
  t.same(histogramDelta(b, b), { le: [0.5, 1], buckets: [0, 0, 0], count: 0, sum: 0, reset: false }, 'no traffic: zero deltas');
  const restarted = { le: [0.5, 1], buckets: [1, 1, 2], count: 2, sum: 0.7 };
  t.same(histogramDelta(b, restarted), { ...restarted, reset: true }, 'the new values are the delta');
  const oneBucketDown = { le: [0.5, 1], buckets: [4, 9, 11], count: 11, sum: 7 };
  t.equal(histogramDelta(b, oneBucketDown).reset, true, 'any cumulative bucket going down is a reset');
  const rebucketed = { le: [0.25, 1], buckets: [6, 9, 11], count: 11, sum: 7 };
  t.same(histogramDelta(b, rebucketed), { ...rebucketed, reset: true }, 'new bounds: start over');
  t.same(histogramDelta(undefined, a), { ...a, reset: false }, 'no previous scrape');
});
