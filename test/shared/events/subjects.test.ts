import t from 'tap';
import {
  jobEventSubject,
  latencyTelemetrySubject,
  nodeEventSubject,
  nodeTelemetryPermission,
  serviceTelemetrySubject,
  subjectToken,
  subjectTokenDecode,
  telemetrySubjectNode,
} from '../../../shared/events/index.js';

const cases: Array<[string, string]> = [
  ['node-a', 'node-a'],
  ['gpu_01', 'gpu_01'],
  ['node-b.rack1.example', 'node-b%2Erack1%2Eexample'],
  ['a b*c>d', 'a%20b%2Ac%3Ed'],
  ['ünï', '%C3%BCn%C3%AF'],
  ['100%', '100%25'],
  ['', '%'],
];

for (const [name, token] of cases) {
  t.test(`token for ${JSON.stringify(name)}`, async (t) => {
    t.equal(subjectToken(name), token);
    t.notMatch(subjectToken(name), /[.\s*>]/, 'one subject token, no wildcards');
    t.equal(subjectTokenDecode(subjectToken(name)), name, 'decodes back');
  });
}

t.test('subjects', async (t) => {
  t.equal(nodeEventSubject('n1.example'), 'gantry.events.node.n1%2Eexample');
  t.equal(jobEventSubject('job-7'), 'gantry.events.job.job-7');
});

t.test('telemetry subjects end in the publishing node; the scheduler reads the node back from them', async (t) => {
  t.equal(latencyTelemetrySubject('n1.example'), 'gantry.telemetry.latency.n1%2Eexample');
  t.equal(serviceTelemetrySubject('n1.example'), 'gantry.telemetry.service.n1%2Eexample', 'service windows too: the node, not the service');
  t.equal(nodeTelemetryPermission('n1.example'), 'gantry.telemetry.*.n1%2Eexample');
  for (const [name] of cases) {
    t.equal(telemetrySubjectNode(latencyTelemetrySubject(name), 'latency'), name, `latency round trip of ${JSON.stringify(name)}`);
    t.equal(telemetrySubjectNode(serviceTelemetrySubject(name), 'service'), name, `service round trip of ${JSON.stringify(name)}`);
  }
  t.equal(telemetrySubjectNode(serviceTelemetrySubject('n1'), 'latency'), undefined, 'another kind');
  t.equal(telemetrySubjectNode('gantry.telemetry.latency.', 'latency'), undefined, 'no token');
  t.equal(telemetrySubjectNode('gantry.telemetry.latency.n1.n2', 'latency'), undefined, 'two tokens');
  t.equal(telemetrySubjectNode('gantry.telemetry.latency.n1%', 'latency'), undefined, 'a stray %');
  t.equal(telemetrySubjectNode('gantry.telemetry.latency.%zz', 'latency'), undefined, 'not a percent escape');
  t.equal(telemetrySubjectNode('gantry.telemetry.latency.a:b', 'latency'), undefined, 'not a token subjectToken builds (no permission matches it)');
  t.equal(telemetrySubjectNode('gantry.telemetry.latency.%61', 'latency'), undefined, "an escape subjectToken never writes ('a' is plain)");
  t.equal(telemetrySubjectNode('gantry.events.node.n1', 'latency'), undefined, 'not telemetry');
});
