import t from 'tap';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { memoryBytesPerRank, parseDurationSeconds, parseJobSpec, validateJobSpec, MAX_DOCUMENT_BYTES, utf8Length, servicePort } from '../../../shared/jobspec/index.js';
import { jobSpec } from '../../builders/job.js';

t.test('defaults are filled in', async (t) => {
  const spec = validateJobSpec({ kind: 'Training', name: 'a', command: ['python', 'train.py'] });
  t.same(spec, {
    kind: 'Training',
    name: 'a',
    queue: 'default',
    priority: 100,
    ranks: 1,
    gpusPerRank: 1,
    accelerator: {},
    topology: {},
    sameFirmware: false,
    replicas: { min: 1, max: 1 },
    shards: 1,
    command: ['python', 'train.py'],
    env: {},
    maxRetries: 3,
    preemptGraceSeconds: 30,
    onTimeLimit: 'fail',
  });
});

t.test('a full spec of each kind validates', async (t) => {
  const training = validateJobSpec(
    jobSpec({
      ranks: 64,
      gpusPerRank: 8,
      accelerator: { vendor: 'nvidia', model: 'H100*', minMemoryGiB: 80 },
      topology: { required: 'spine', preferred: 'leaf', slice: { size: 8, level: 'nvlink' } },
      sameFirmware: true,
      env: { NCCL_DEBUG: 'INFO' },
      workdir: '/srv/job',
      runAs: 'mlteam',
      timeLimit: '1h30m',
      maxRetries: 0,
      preemptGraceSeconds: 120,
    }),
  );
  t.equal(training.timeLimitSeconds, 5400);
  t.same(training.topology.slice, { size: 8, level: 'nvlink' });
  const inference = validateJobSpec(
    jobSpec({ kind: 'Inference', replicas: { min: 2, max: 6 }, spread: 'leaf', slo: { p99Ms: 250, metric: 'http_request_duration_seconds', port: 9400 } }),
  );
  t.same(inference.replicas, { min: 2, max: 6 });
  t.equal(inference.spread, 'leaf');
  const batch = validateJobSpec(jobSpec({ kind: 'Batch', shards: 100 }));
  t.equal(batch.shards, 100);
});

// Every error names its field.
const bad: [string, Record<string, unknown>, string][] = [
  ['kind missing', { kind: undefined }, 'kind'],
  ['kind unknown', { kind: 'Service' }, 'kind'],
  ['name upper case', { name: 'Train' }, 'name'],
  ['name too long', { name: 'a'.repeat(64) }, 'name'],
  ['priority above 1000', { priority: 1001 }, 'priority'],
  ['ranks zero', { ranks: 0 }, 'ranks'],
  ['ranks fractional', { ranks: 1.5 }, 'ranks'],
  ['gpusPerRank string', { gpusPerRank: '8' }, 'gpusPerRank'],
  ['vendor unknown', { accelerator: { vendor: 'intel' } }, 'accelerator.vendor'],
  ['model with a quote', { accelerator: { model: 'H100"' } }, 'accelerator.model'],
  ['memory negative', { accelerator: { minMemoryGiB: -1 } }, 'accelerator.minMemoryGiB'],
  ['unknown accelerator field', { accelerator: { count: 8 } }, 'accelerator.count'],
  ['unknown top-level field', { gpus: 8 }, 'gpus'],
  ['slice does not divide ranks', { ranks: 12, topology: { slice: { size: 5, level: 'nvlink' } } }, 'topology.slice.size'],
  ['slice size zero', { topology: { slice: { size: 0, level: 'nvlink' } } }, 'topology.slice.size'],
  ['slice without level', { topology: { slice: { size: 1 } } }, 'topology.slice.level'],
  ['unknown slice field', { topology: { slice: { size: 1, level: 'rack', count: 2 } } }, 'topology.slice.count'],
  ['level with capitals', { topology: { required: 'Rack' } }, 'topology.required'],
  ['unknown topology field', { topology: { requried: 'rack' } }, 'topology.requried'],
  ['replicas on training', { replicas: { min: 1, max: 2 } }, 'replicas'],
  ['spread on batch', { kind: 'Batch', spread: 'leaf' }, 'spread'],
  ['shards on inference', { kind: 'Inference', shards: 2 }, 'shards'],
  ['replicas min above max', { kind: 'Inference', replicas: { min: 3, max: 2 } }, 'replicas.min'],
  ['slo port', { kind: 'Inference', slo: { p99Ms: 100, metric: 'm', port: 70000 } }, 'slo.port'],
  ['slo metric name', { kind: 'Inference', slo: { p99Ms: 100, metric: 'a-b', port: 80 } }, 'slo.metric'],
  ['slo port + replicas beyond 65535', { kind: 'Inference', replicas: { min: 1, max: 8 }, slo: { p99Ms: 100, metric: 'm', port: 65530 } }, 'slo.port'],
  ['env sets the service port', { env: { GANTRY_SERVICE_PORT: '8000' } }, 'env.GANTRY_SERVICE_PORT'],
  ['command missing', { command: undefined }, 'command'],
  ['command empty', { command: [] }, 'command'],
  ['command not strings', { command: ['a', 3] }, 'command[1]'],
  ['program empty', { command: [''] }, 'command[0]'],
  ['env value number', { env: { A: 1 } }, 'env.A'],
  ['env bad name', { env: { '1A': 'x' } }, 'env.1A'],
  ['env reserved', { env: { RANK: '3' } }, 'env.RANK'],
  ['workdir relative', { workdir: 'srv/job' }, 'workdir'],
  ['runAs bad', { runAs: 'Root User' }, 'runAs'],
  ['timeLimit garbage', { timeLimit: 'soon' }, 'timeLimit'],
  ['timeLimit zero', { timeLimit: 0 }, 'timeLimit'],
  ['maxRetries negative', { maxRetries: -1 }, 'maxRetries'],
  ['sameFirmware string', { sameFirmware: 'yes' }, 'sameFirmware'],
  ['resources not a mapping', { resources: 4 }, 'resources'],
  ['resources unknown field', { resources: { gpus: 2 } }, 'resources.gpus'],
  ['memoryGiBPerRank zero', { resources: { memoryGiBPerRank: 0 } }, 'resources.memoryGiBPerRank'],
  ['memoryGiBPerRank negative', { resources: { memoryGiBPerRank: -4 } }, 'resources.memoryGiBPerRank'],
  ['memoryGiBPerRank below 1 MiB', { resources: { memoryGiBPerRank: 0.0001 } }, 'resources.memoryGiBPerRank'],
  ['memoryGiBPerRank absurd', { resources: { memoryGiBPerRank: 1e9 } }, 'resources.memoryGiBPerRank'],
  ['memoryGiBPerRank string', { resources: { memoryGiBPerRank: '8G' } }, 'resources.memoryGiBPerRank'],
  ['maxProcesses zero', { resources: { maxProcesses: 0 } }, 'resources.maxProcesses'],
  ['maxProcesses fraction', { resources: { maxProcesses: 2.5 } }, 'resources.maxProcesses'],
  ['maxProcesses absurd', { resources: { maxProcesses: 1e12 } }, 'resources.maxProcesses'],
  ['cpuBinding unknown', { resources: { cpuBinding: 'core' } }, 'resources.cpuBinding'],
  ['onTimeLimit unknown', { onTimeLimit: 'retry', timeLimit: 60 }, 'onTimeLimit'],
  ['onTimeLimit without timeLimit', { onTimeLimit: 'requeue' }, 'onTimeLimit'],
];

t.test('invalid specs name the field', async (t) => {
  for (const [label, overrides, field] of bad) {
    const spec = jobSpec(overrides);
    for (const k of Object.keys(overrides)) if (overrides[k] === undefined) delete spec[k];
    try {
      validateJobSpec(spec);
      t.fail(`${label}: accepted`);
    } catch (e) {
      t.ok(e instanceof InvalidArgumentError, `${label}: InvalidArgumentError`);
      t.equal((e as InvalidArgumentError).field, field, `${label}: names ${field}`);
      t.equal((e as InvalidArgumentError).code, 'INVALID_ARGUMENT');
      t.match((e as Error).message, new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')}: `), `${label}: message starts with the field`);
    }
  }
});

t.test('resources and onTimeLimit: given values kept, defaults filled in', async (t) => {
  const full = validateJobSpec(jobSpec({ timeLimit: '2h', onTimeLimit: 'requeue', resources: { memoryGiBPerRank: 1.5, maxProcesses: 4096, cpuBinding: 'none' } }));
  t.same(full.resources, { memoryGiBPerRank: 1.5, maxProcesses: 4096, cpuBinding: 'none' });
  t.equal(full.onTimeLimit, 'requeue');
  t.equal(memoryBytesPerRank(full), 1.5 * 1024 ** 3);
  const some = validateJobSpec(jobSpec({ resources: { maxProcesses: 64 } }));
  t.same(some.resources, { maxProcesses: 64, cpuBinding: 'numa' }, 'cpuBinding defaults to numa, memory left to the agent');
  t.equal(memoryBytesPerRank(some), 0, 'no memory limit: 0 (the agent decides)');
  const none = validateJobSpec(jobSpec({ timeLimit: 60 }));
  t.equal(none.resources, undefined, 'no resources: the agent decides everything');
  t.equal(none.onTimeLimit, 'fail');
  t.equal(memoryBytesPerRank(validateJobSpec(jobSpec({ resources: { memoryGiBPerRank: 1 / 1024 } }))), 1024 * 1024, 'the 1 MiB floor itself is taken');
  t.throws(() => validateJobSpec(jobSpec({ resources: { memoryGiBPerRank: -1 } })), /resources\.memoryGiBPerRank: must be a positive number of GiB/);
  t.throws(() => validateJobSpec(jobSpec({ onTimeLimit: 'requeue' })), /onTimeLimit: needs a timeLimit/);
});

t.test('parses YAML and JSON text', async (t) => {
  const yaml = 'kind: Batch\nname: sweep\nshards: 4\ncommand: [python, eval.py]\n';
  const json = JSON.stringify({ kind: 'Batch', name: 'sweep', shards: 4, command: ['python', 'eval.py'] });
  t.same(parseJobSpec(yaml), parseJobSpec(json));
});

t.test('refuses documents over the size limit, empty, broken or duplicated keys', async (t) => {
  const big = `kind: Training\nname: a\ncommand: [x]\nenv:\n  A: "${'x'.repeat(MAX_DOCUMENT_BYTES)}"\n`;
  t.throws(() => parseJobSpec(big), /bytes; the limit is 1048576/);
  t.throws(() => parseJobSpec('kind: Training\nname: a\ncommand: [x]\n', { maxBytes: 10 }), /the limit is 10/);
  t.throws(() => parseJobSpec('   \n'), /empty/);
  t.throws(() => parseJobSpec('kind: [Training\n'), /not valid YAML or JSON at line/);
  t.throws(() => parseJobSpec('kind: Training\nkind: Batch\nname: a\ncommand: [x]\n'), /Map keys must be unique/);
  t.throws(() => parseJobSpec('- a\n- b\n'), /a job spec is a mapping/);
});

t.test('JSON text takes the native parser and reads as the YAML parser reads it; a duplicated key is still refused', async (t) => {
  const doc = {
    kind: 'Training', name: 'llm', ranks: 4, gpusPerRank: 8, command: ['python', 'train.py', '--lr', '3e-4'],
    env: { A: 'x "quoted" \\ back', B_C: '{[not: "nesting"]}', U: '\u00e9\n' }, priority: 100, maxRetries: 2, queue: 'default',
  };
  const json = JSON.stringify(doc);
  const yamlOnly = `# a comment makes it YAML\n${json}`;
  t.same(parseJobSpec(json), parseJobSpec(yamlOnly), 'same spec either way');
  t.same(parseJobSpec(`  \n${JSON.stringify(doc, null, 2)}\n`), parseJobSpec(yamlOnly), 'indented JSON too');
  const dupes = [
    '{"kind":"Training","name":"a","command":["x"],"kind":"Batch"}',
    '{"kind":"Training","name":"a","command":["x"],"env":{"A":"1","A":"2"}}',
    '{"kind":"Training","name":"a","command":["x"],"\\u006eame":"b"}',
  ];
  for (const d of dupes) t.throws(() => parseJobSpec(d), /Map keys must be unique/, d);
  t.same(parseJobSpec('{"kind":"Training","name":"a","command":["x"],"env":{"name":"n","kind":"k"}}').env, { name: 'n', kind: 'k' }, 'a key repeated at another level is no duplicate');
  t.same(parseJobSpec('{kind: Training, name: a, command: [x]}').name, 'a', 'a YAML flow mapping (not JSON) still parses');
  try {
    parseJobSpec('{"kind":"Training","name":"a","command":["x"],"ranks":"four"}');
    t.fail('accepted ranks "four"');
  } catch (e) {
    t.ok(e instanceof InvalidArgumentError);
    t.match((e as Error).message, /ranks/, 'the bad field is named');
  }
});

t.test('durations', async (t) => {
  const cases: [number | string, number][] = [
    [90, 90],
    ['90s', 90],
    ['30m', 1800],
    ['2h', 7200],
    ['1h30m', 5400],
    ['1d', 86400],
    ['1d2h3m4s', 93784],
  ];
  for (const [input, want] of cases) t.equal(parseDurationSeconds(input, 'timeLimit'), want, String(input));
  for (const b of ['', '90', 'h', '1.5h', '-1s', '2x']) t.throws(() => parseDurationSeconds(b, 'timeLimit'), /timeLimit/, JSON.stringify(b));
});

t.test('utf8Length counts bytes', async (t) => {
  t.equal(utf8Length('abc'), 3);
  t.equal(utf8Length('é'), 2);
  t.equal(utf8Length('€'), 3);
  t.equal(utf8Length('😀'), 4);
});

t.test('replica i serves on slo.port + i: the last replica may use port 65535', async (t) => {
  const spec = validateJobSpec(jobSpec({ kind: 'Inference', replicas: { min: 1, max: 8 }, slo: { p99Ms: 100, metric: 'm', port: 65528 } }));
  t.equal(spec.slo?.port, 65528);
  t.equal(servicePort(spec.slo!, 7), 65535);
  t.equal(servicePort(spec.slo!, 0), 65528, 'replica 0 serves on the base port');
});
