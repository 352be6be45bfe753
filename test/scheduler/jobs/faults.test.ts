/**
 * The scheduler's intake of JobFaults (scheduler/jobs/faults.ts): a fault from a node becomes a
 * record naming that node; one for an unknown job, or a rank not placed there, is ignored (not an
 * error, not counted); a recorded one is counted by XID.
 */
import t from 'tap';
import { Counter, Registry } from 'prom-client';
import { createFaultIntake, faultRecord, type FaultApplied } from '../../../scheduler/jobs/index.js';
import type { JobFaultRecord } from '../../../shared/domain/index.js';
import { createLogger } from '../../../shared/log/index.js';
import type { JobFaultView } from '../../../shared/wire/index.js';

const view: JobFaultView = { jobId: 'train-7', rank: 1, epoch: 3, xid: 13, gpu: 3, pid: 4242, processName: 'python3', evidence: 'Xid 13 ...', atMs: 1000 };

t.test('the record names the sending node', async (t) => {
  t.same(faultRecord('n2', view), { xid: 13, rank: 1, epoch: 3, node: 'n2', gpu: 3, pid: 4242, processName: 'python3', atMs: 1000, evidence: 'Xid 13 ...' });
});

t.test('ignored faults are neither errors nor counted; recorded ones are counted by XID', async (t) => {
  const counter = new Counter({ name: 'f_total', help: 'h', labelNames: ['xid'], registers: [new Registry()] });
  const seen: Array<[string, JobFaultRecord]> = [];
  let answer: FaultApplied = 'unknown-job';
  const intake = createFaultIntake({
    onJobFault: async (id, f) => {
      seen.push([id, f]);
      return answer;
    },
    counter,
    log: createLogger({ name: 'f', level: 'silent', format: 'json', isTty: false }),
  });
  const total = async () => (await counter.get()).values.reduce((a, v) => a + v.value, 0);
  await intake('n2', view);
  answer = 'not-placed';
  await intake('n1', view);
  t.equal(await total(), 0, 'unknown job, rank not placed there: not counted');
  answer = 'requeued';
  await intake('n2', view);
  answer = 'recorded';
  await intake('n2', { ...view, xid: 45 });
  t.same((await counter.get()).values.map((v) => [v.labels.xid, v.value]), [['13', 1], ['45', 1]]);
  t.same(seen.map(([id, f]) => [id, f.node]), [['train-7', 'n2'], ['train-7', 'n1'], ['train-7', 'n2'], ['train-7', 'n2']]);
});
