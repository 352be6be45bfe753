/**
 * The job spec's limits: nesting depth refused before parsing (JSON and YAML), aliases, and the
 * free-form fields' sizes, each an InvalidArgumentError naming the field.
 */
import t, { type Test } from 'tap';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { jsonDepth, parseJobSpec, yamlShape, SPEC_FIELD_LIMITS, MAX_DOCUMENT_DEPTH } from '../../../shared/jobspec/index.js';

const base = 'kind: Batch\nname: limits\ncommand: [sleep, "1"]\n';

function refusal(t: Test, fn: () => unknown, field: string, message: RegExp): void {
  try {
    fn();
    t.fail(`accepted; expected a refusal naming ${JSON.stringify(field)}`);
  } catch (e) {
    t.type(e, InvalidArgumentError);
    t.equal((e as InvalidArgumentError).field, field, `names ${JSON.stringify(field)}`);
    t.match((e as Error).message, message);
  }
}

const yamlDepth = (text: string, maxDepth: number): number => yamlShape(text, { maxDepth, maxNodes: 1e9 }).depth;

t.test('depth: the scans read nesting as the parsers do', async (t) => {
  t.equal(jsonDepth('{"a":[1,{"b":"[[[["}]}', 100), 3, 'brackets inside JSON strings do not count');
  t.equal(jsonDepth('{"a":"\\"[[[["}', 100), 1, 'an escaped quote does not end the string');
  t.equal(jsonDepth('['.repeat(1000), 10), 11, 'stops just past the limit');
  t.equal(yamlDepth('a: "[[[[["\n# [[[[[[\nb: |\n  [[[[[[\n', 100), 1, 'quoted scalars, comments and block scalars do not count');
  t.equal(yamlDepth('a:\n  b:\n    c: [1, {d: 2}]\n', 100), 5, 'block levels plus flow levels');
  t.equal(yamlDepth('- - - x\n', 100), 4, 'compact sequences count a level each');
  t.equal(yamlDepth("a: it's [[[\n", 100), 1, "brackets inside a plain scalar are text");
  t.equal(yamlDepth("a: [it's, [[1]]]\n", 100), 4, "an apostrophe inside a plain scalar is not a quote: the brackets after it count (the lexer's reading)");
});

t.test('a deeply nested spec is refused before parsing, fast', async (t) => {
  const n = 400_000;
  const cases: Array<[string, string]> = [
    ['800 KB of [ then ] (the issue)', '['.repeat(n) + ']'.repeat(n)],
    ['800 KB of { (JSON path)', '{"a":'.repeat(160_000)],
    ['800 KB of "- " (block sequences)', '- '.repeat(n) + 'x'],
    ['1,200 mappings indented one space each', Array.from({ length: 1200 }, (_, i) => ' '.repeat(i) + 'a:').join('\n')],
  ];
  for (const [what, text] of cases) {
    const t0 = performance.now();
    refusal(t, () => parseJobSpec(text), '', new RegExp(`nests deeper than ${MAX_DOCUMENT_DEPTH} levels`));
    // Reported, not asserted (timing belongs to benchmarks): before the pre-scan this cost 2.3 s and 435 MB.
    t.comment(`${what}: refused in ${(performance.now() - t0).toFixed(1)} ms`);
  }
  refusal(t, () => parseJobSpec(`${base}env:\n  A: ${'['.repeat(8)}1${']'.repeat(8)}\n`, { maxDepth: 6 }), '', /nests deeper than 6 levels/);
  t.ok(parseJobSpec(`${base}nodeSelector:\n  zone: [a, b]\n`), 'an ordinary spec passes the depth check');
});

t.test('aliases: the limit is configurable', async (t) => {
  const bomb = `${base}x: &a [1]\nnodeSelector: {${Array.from({ length: 5 }, (_, i) => `k${i}: *a`).join(', ')}}\n`;
  refusal(t, () => parseJobSpec(bomb, { maxAliasCount: 2 }), '', /alias/i);
});

t.test('free-form fields are bounded', async (t) => {
  const env = (count: number, value = 'v'): string => JSON.stringify({ kind: 'Batch', name: 'e', command: ['true'], env: Object.fromEntries(Array.from({ length: count }, (_, i) => [`K${i}`, value])) });
  const t0 = performance.now();
  refusal(t, () => parseJobSpec(env(60_000)), 'env', /60000 variables; the limit is 1024/);
  t.comment(`60,000 env keys refused in ${(performance.now() - t0).toFixed(1)} ms`);
  t.ok(parseJobSpec(env(SPEC_FIELD_LIMITS.envMaxKeys)), `${SPEC_FIELD_LIMITS.envMaxKeys} variables pass`);
  refusal(t, () => parseJobSpec(env(3, 'x'.repeat(100_000))), 'env', /bytes of names and values; the limit is 262144/);
  refusal(t, () => parseJobSpec(JSON.stringify({ kind: 'Batch', name: 'c', command: Array.from({ length: 5000 }, () => 'a') })), 'command', /5000 arguments; the limit is 4096/);
  refusal(t, () => parseJobSpec(JSON.stringify({ kind: 'Batch', name: 'c', command: ['a', 'x'.repeat(131_073)] })), 'command[1]', /131072/);
  refusal(t, () => parseJobSpec(JSON.stringify({ kind: 'Batch', name: 'c', command: ['a', 'x'.repeat(130_000), 'y'.repeat(130_000), 'z'.repeat(10_000)] })), 'command', /bytes of arguments; the limit is 262144/);
  refusal(t, () => parseJobSpec(JSON.stringify({ kind: 'Batch', name: 'bad\nname\u001b[31m', command: ['a'] })), 'name', /a-z, 0-9 and -/);
});

t.test('the bounds of env and command can be lowered, not raised', async (t) => {
  const spec = (command: string[], env: Record<string, string> = {}): string => JSON.stringify({ kind: 'Batch', name: 'l', command, env });
  const fieldLimits = { commandMaxArgs: 2, commandArgMaxBytes: 4, commandMaxBytes: 6, envMaxKeys: 2, envNameMaxBytes: 3, envValueMaxBytes: 4, envMaxBytes: 10 };
  const parse = (text: string) => () => parseJobSpec(text, { fieldLimits });
  refusal(t, parse(spec(['a', 'b', 'c'])), 'command', /^command: has 3 arguments; the limit is 2$/);
  refusal(t, parse(spec(['a', 'bbbbb'])), 'command[1]', /^command\[1\]: is 5 bytes; the limit is 4$/);
  refusal(t, parse(spec(['\u00e9\u00e9', 'cccc'])), 'command', /^command: holds 8 bytes of arguments; the limit is 6$/); // bytes of UTF-8, not characters
  refusal(t, parse(spec(['a'], { A: '1', B: '2', C: '3' })), 'env', /^env: has 3 variables; the limit is 2$/);
  refusal(t, parse(spec(['a'], { ABCD: '1' })), 'env', /^env: has a variable name of 4 bytes \("ABCD"\.\.\.\); the limit is 3$/);
  refusal(t, parse(spec(['a'], { A: '12345' })), 'env.A', /^env\.A: is 5 bytes; the limit is 4$/);
  refusal(t, parse(spec(['a'], { ABC: '1234', BC: '12' })), 'env', /^env: holds 11 bytes of names and values; the limit is 10$/);
  const ok = parseJobSpec(spec(['ab', 'cdef'], { AB: '1234', B: '123' }), { fieldLimits });
  t.same([ok.command, ok.env], [['ab', 'cdef'], { AB: '1234', B: '123' }], 'at every limit passes');
  // A limit above SPEC_FIELD_LIMITS is held at it.
  refusal(t, () => parseJobSpec(spec(Array.from({ length: 4097 }, () => 'a')), { fieldLimits: { commandMaxArgs: 10_000 } }), 'command', /the limit is 4096$/);
});

t.test('ranks, shards and replicas per job', async (t) => {
  const limits = { maxRanksPerJob: 8, maxShardsPerJob: 10, maxReplicasPerJob: 4 };
  refusal(t, () => parseJobSpec('kind: Training\nname: r\nranks: 9\ncommand: [a]\n', limits), 'ranks', /is 9; this scheduler takes at most 8 ranks per job/);
  refusal(t, () => parseJobSpec('kind: Batch\nname: s\nshards: 11\ncommand: [a]\n', limits), 'shards', /at most 10 shards/);
  refusal(t, () => parseJobSpec('kind: Inference\nname: i\nreplicas: {min: 1, max: 5}\ncommand: [a]\n', limits), 'replicas.max', /at most 4 replicas/);
  t.equal(parseJobSpec('kind: Training\nname: r\nranks: 8\ncommand: [a]\n', limits).ranks, 8, 'at the limit passes');
});

t.test('YAML values are counted before parsing; duplicate keys are found in linear time', async (t) => {
  t.same(yamlShape('a: [1, "two", \'three\']\nb: |\n  four\n', { maxDepth: 64, maxNodes: 100 }), { depth: 2, nodes: 11 }, 'plain, quoted and block scalars, keys, :, [ and ,');
  t.same(yamlShape('- [[], {}]\n- ? k\n', { maxDepth: 64, maxNodes: 100 }).nodes, 8, 'empty collections and bare entries count too');
  const t1 = performance.now();
  refusal(t, () => parseJobSpec(`${base}x: [${'[[[[[[[[]]]]]]]],'.repeat(60_000)}]\n`), '', /holds more than 20000 YAML nodes/);
  t.comment(`1 MB of empty nested collections refused in ${(performance.now() - t1).toFixed(1)} ms (parsed, it cost 5-7 s and 790 MB)`);
  const flat = (n: number): string => `${base}x:\n${Array.from({ length: n }, (_, i) => `  K${i}: v`).join('\n')}\n`;
  let t0 = performance.now();
  refusal(t, () => parseJobSpec(flat(60_000)), '', /holds more than 20000 YAML nodes \(values, collections and entries\); it is refused before parsing/);
  t.comment(`a YAML mapping of 60,000 keys refused in ${(performance.now() - t0).toFixed(1)} ms (parsed, it cost the scheduler 40 s)`);
  t0 = performance.now();
  refusal(t, () => parseJobSpec(`${flat(4000)}  K17: again\n`), '', /at line 4005, column 3: Map keys must be unique/);
  t.comment(`a duplicate among 4,000 keys found in ${(performance.now() - t0).toFixed(1)} ms`);
  refusal(t, () => parseJobSpec(`${base}env: {A: "1", "1": x, '1': y}\n`), '', /at line 4, column 23: Map keys must be unique/);
  refusal(t, () => parseJobSpec(`${base}env: {"1": x, 1: y}\n`), 'env.1', /environment variable name/); // "1" and 1 differ, as in the library: no duplicate
  t.ok(parseJobSpec(`${base}nodeSelector: {a: "1"}\nenv: {a: "1"}\n`), 'one key in two mappings is no duplicate');
});
