/** A commit's batch of lifecycle outcomes: the latest record per job, every command, one state event per job. */
import t from 'tap';
import { Batch } from '../../../scheduler/jobs/batch.js';
import type { JobCommand, Outcome } from '../../../scheduler/jobs/lifecycle.js';
import type { JobRecord } from '../../../shared/domain/index.js';
import { jobRecord } from '../../builders/job.js';

const a = jobRecord('a-1');
const b = jobRecord('b-2');
const as = (job: JobRecord, state: JobRecord['state']): JobRecord => ({ ...job, state });
const out = (job: JobRecord, events: Outcome['events'], commands: JobCommand[] = []): Outcome => ({ job, events, commands });
const schedule = (why: string): JobCommand => ({ kind: 'schedule', why });

t.test('outcomes combine per job', async (t) => {
  const cases: Array<{ name: string; steps: Array<[JobRecord, Outcome]>; records: Record<string, string>; events: string[]; commands: Record<string, string[]> }> = [
    { name: 'nothing changed: left out', steps: [[a, out(a, [])]], records: {}, events: [], commands: {} },
    { name: 'one change', steps: [[a, out(as(a, 'failed'), ['failed'], [schedule('x')])]], records: { 'a-1': 'failed' }, events: ['a-1 failed'], commands: { 'a-1': ['x'] } },
    {
      name: 'requeued → pending → placed in one cycle: the last state only',
      steps: [
        [as(a, 'requeued'), out(as(a, 'pending'), ['pending'])],
        [as(a, 'pending'), out(as(a, 'placed'), ['placed'], [schedule('start')])],
      ],
      records: { 'a-1': 'placed' },
      events: ['a-1 placed'],
      commands: { 'a-1': ['start'] },
    },
    {
      name: 'replica events all stay; the state event is the last one',
      steps: [
        [as(a, 'running'), out(as(a, 'running'), ['replica', 'running'], [schedule('u0')])],
        [as(a, 'running'), out(as(a, 'running'), ['replica', 'running'], [schedule('u1')])],
        [as(a, 'running'), out(as(a, 'running'), [])],
      ],
      records: { 'a-1': 'running' },
      events: ['a-1 replica', 'a-1 replica', 'a-1 running'],
      commands: { 'a-1': ['u0', 'u1'] },
    },
    {
      name: "two jobs: one's events do not drop the other's",
      steps: [
        [a, out(as(a, 'requeued'), ['requeued'])],
        [b, out(as(b, 'failed'), ['failed'])],
        [as(a, 'requeued'), out(as(a, 'pending'), ['pending'])],
      ],
      records: { 'a-1': 'pending', 'b-2': 'failed' },
      events: ['b-2 failed', 'a-1 pending'],
      commands: { 'a-1': [], 'b-2': [] },
    },
  ];
  for (const c of cases) {
    const batch = new Batch();
    for (const [before, o] of c.steps) batch.add(before, o);
    t.same(Object.fromEntries([...batch.records].map(([id, r]) => [id, r.job.state])), c.records, `${c.name}: records`);
    t.same(batch.events.map((e) => `${e.job.id} ${e.type}`), c.events, `${c.name}: events`);
    t.same(Object.fromEntries([...batch.records].map(([id, r]) => [id, r.commands.map((x) => (x.kind === 'schedule' ? x.why : x.kind))])), c.commands, `${c.name}: commands`);
    t.equal(batch.size, Object.keys(c.records).length);
  }
});
