import t from 'tap';
import { jobEventSubject, nodeEventSubject, subjectToken, subjectTokenDecode } from '../../../shared/events/index.js';

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
