/** nodeSelector and accelerator.minDriver/minCuda in the job spec, and the version order the engine compares by. */
import t from 'tap';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { compareVersions, parseJobSpec, validateJobSpec, versionSegments } from '../../../shared/jobspec/index.js';
import { jobSpec } from '../../builders/job.js';

t.test('a selector and minimum versions validate and are kept as given', async (t) => {
  const spec = validateJobSpec(
    jobSpec({
      nodeSelector: { pool: 'training', zone: ['a', 'b'], 'example.com/tier': 'gold', 'gantry.io/node': ['gpu-01', 'gpu-02'], 'rack.v2': 'R_1' },
      accelerator: { minDriver: '550.54', minCuda: '12.4' },
    }),
  );
  t.same(spec.nodeSelector, { pool: 'training', zone: ['a', 'b'], 'example.com/tier': 'gold', 'gantry.io/node': ['gpu-01', 'gpu-02'], 'rack.v2': 'R_1' });
  t.same(spec.accelerator, { minDriver: '550.54', minCuda: '12.4' });
  t.notOk('nodeSelector' in validateJobSpec(jobSpec({})), 'absent when not given');
  const yaml = parseJobSpec('kind: Batch\nname: b\ncommand: [x]\nnodeSelector:\n  pool: inference\n  zone: [a, c]\naccelerator: {minDriver: "570", minCuda: "12.8.1"}\n');
  t.same(yaml.nodeSelector, { pool: 'inference', zone: ['a', 'c'] });
  t.same(yaml.accelerator, { minDriver: '570', minCuda: '12.8.1' });
});

// Every error names its field.
const bad: [string, Record<string, unknown>, string, RegExp][] = [
  ['selector not a mapping', { nodeSelector: ['pool'] }, 'nodeSelector', /mapping/],
  ['key with a space', { nodeSelector: { 'my pool': 'a' } }, 'nodeSelector.my pool', /label key/],
  ['key starting with -', { nodeSelector: { '-pool': 'a' } }, 'nodeSelector.-pool', /label key/],
  ['key name of 64 characters', { nodeSelector: { ['a'.repeat(64)]: 'x' } }, `nodeSelector.${'a'.repeat(64)}`, /label key/],
  ['key with an upper-case prefix', { nodeSelector: { 'Example.com/tier': 'x' } }, 'nodeSelector.Example.com/tier', /label key/],
  ['key with an empty name', { nodeSelector: { 'example.com/': 'x' } }, 'nodeSelector.example.com/', /label key/],
  ['key __proto__', JSON.parse('{"nodeSelector": {"__proto__": "x"}}') as Record<string, unknown>, 'nodeSelector.__proto__', /label key/],
  ['value empty', { nodeSelector: { pool: '' } }, 'nodeSelector.pool', /label value/],
  ['value with a space', { nodeSelector: { pool: 'a b' } }, 'nodeSelector.pool', /label value/],
  ['value a number', { nodeSelector: { gpus: 8 } }, 'nodeSelector.gpus', /or a list of them/],
  ['value too long', { nodeSelector: { pool: 'x'.repeat(254) } }, 'nodeSelector.pool', /1-253/],
  ['empty list', { nodeSelector: { zone: [] } }, 'nodeSelector.zone', /at least 1/],
  ['list of 65', { nodeSelector: { zone: Array.from({ length: 65 }, (_, i) => `z${i}`) } }, 'nodeSelector.zone', /at most 64/],
  ['list item not a string', { nodeSelector: { zone: ['a', 3] } }, 'nodeSelector.zone[1]', /label value/],
  ['33 entries', { nodeSelector: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) }, 'nodeSelector', /at most 32/],
  ['minDriver with letters', { accelerator: { minDriver: '550.54a' } }, 'accelerator.minDriver', /dot-separated whole numbers/],
  ['minDriver empty', { accelerator: { minDriver: '' } }, 'accelerator.minDriver', /version/],
  ['minDriver a number', { accelerator: { minDriver: 550 } }, 'accelerator.minDriver', /must be a version string; quote it \("550"\)/],
  ['minCuda an unquoted YAML number', { accelerator: { minCuda: 12.1 } }, 'accelerator.minCuda', /12\.10 would read as 12\.1/],
  ['minCuda a list', { accelerator: { minCuda: ['12.4'] } }, 'accelerator.minCuda', /must be a version/],
  ['minDriver null', { accelerator: { minDriver: null } }, 'accelerator.minDriver', /must be a version/],
  ['minCuda trailing dot', { accelerator: { minCuda: '12.' } }, 'accelerator.minCuda', /version/],
  ['minCuda negative', { accelerator: { minCuda: '-12.4' } }, 'accelerator.minCuda', /version/],
  ['minCuda with v', { accelerator: { minCuda: 'v12.4' } }, 'accelerator.minCuda', /version/],
  ['unknown accelerator field stays refused', { accelerator: { minFirmware: '1' } }, 'accelerator.minFirmware', /unknown field/],
  ['unknown top-level field stays refused', { nodeSelectors: { pool: 'a' } }, 'nodeSelectors', /unknown field/],
];

t.test('invalid selectors and versions name the field', async (t) => {
  for (const [what, fields, field, detail] of bad) {
    try {
      validateJobSpec(jobSpec(fields));
      t.fail(`${what}: accepted`);
    } catch (e) {
      t.ok(e instanceof InvalidArgumentError, `${what}: InvalidArgumentError`);
      t.equal((e as InvalidArgumentError).field, field, `${what}: names ${field}`);
      t.match((e as Error).message, detail, `${what}: ${(e as Error).message}`);
    }
  }
});

t.test('versions compare segment by segment, numerically; missing trailing segments are 0', async (t) => {
  const cases: [string, string, -1 | 0 | 1][] = [
    ['550.100', '550.54', 1],
    ['12.10', '12.4', 1],
    ['12.4', '12.4.0', 0],
    ['12', '12.0.0', 0],
    ['12.4.1', '12.4', 1],
    ['535.104.05', '550', -1],
    ['535.104.05', '535.104.5', 0],
    ['550.54.15', '550.54', 1],
    ['570.86.15', '570.86.16', -1],
    ['9', '10', -1],
    ['100000000000000000000001', '100000000000000000000000', 1],
    ['6.1.0-82', '6.1', 0],
    ['0', '0.0', 0],
  ];
  for (const [a, b, want] of cases) {
    const x = versionSegments(a);
    const y = versionSegments(b);
    t.ok(x && y, `${a} and ${b} parse`);
    t.equal(Math.sign(compareVersions(x!, y!)), want, `${a} vs ${b}`);
    t.equal(Math.sign(compareVersions(y!, x!)), -want || 0, `${b} vs ${a}`);
  }
  t.equal(versionSegments(''), null, 'empty: unknown');
  t.equal(versionSegments('N/A'), null, 'N/A: unknown');
  t.same(versionSegments('535.104.05'), ['535', '104', '5']);
});
