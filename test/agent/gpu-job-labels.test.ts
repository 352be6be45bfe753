/** The pure label choice behind metrics.jobLabels (agent/gpu-job-labels.ts), table-driven. */
import t from 'tap';
import { capLabelValue, JOB_LABEL_MAX_CHARS, jobLabelsByGpu, NO_JOB, type GpuHolding } from '../../agent/gpu-job-labels.js';

const h = (jobId: string, rank: number, epoch: number, gpus: number[], owner = 'alice'): GpuHolding => ({ jobId, rank, epoch, gpus, owner });

t.test('labels per GPU', async (t) => {
  const cases: Array<{ name: string; holdings: GpuHolding[]; want: Record<number, [string, string, string]> }> = [
    { name: 'no rank: no GPU labelled', holdings: [], want: {} },
    { name: "one rank's GPUs", holdings: [h('train', 0, 1, [1, 3])], want: { 1: ['train', '0', 'alice'], 3: ['train', '0', 'alice'] } },
    {
      name: 'two ranks of one job, two jobs',
      holdings: [h('train', 1, 1, [2]), h('train', 0, 1, [0, 1]), h('eval', 0, 4, [7], 'bob')],
      want: { 0: ['train', '0', 'alice'], 1: ['train', '0', 'alice'], 2: ['train', '1', 'alice'], 7: ['eval', '0', 'bob'] },
    },
    {
      name: 'a GPU held twice (a stopping epoch and its successor): one label set, the later epoch',
      holdings: [h('train', 0, 3, [5]), h('train', 0, 2, [5])],
      want: { 5: ['train', '0', 'alice'] },
    },
    { name: 'GPU indexes that are not indexes are skipped', holdings: [h('j', 0, 1, [-1, 1.5, 2])], want: { 2: ['j', '0', 'alice'] } },
    { name: 'a rank without GPUs labels nothing', holdings: [h('cpu-only', 0, 1, [])], want: {} },
  ];
  for (const c of cases) {
    const got = Object.fromEntries([...jobLabelsByGpu(c.holdings)].map(([g, l]) => [g, [l.job_id, l.rank, l.owner]]));
    t.same(got, c.want, c.name);
  }
});

t.test('label values are capped, by code point', async (t) => {
  const long = 'x'.repeat(JOB_LABEL_MAX_CHARS + 50);
  t.equal(capLabelValue(long).length, JOB_LABEL_MAX_CHARS, `${JOB_LABEL_MAX_CHARS + 50} characters are cut to ${JOB_LABEL_MAX_CHARS}`);
  t.equal(capLabelValue('short'), 'short', 'short values unchanged');
  const emoji = '😀'.repeat(JOB_LABEL_MAX_CHARS + 1);
  t.equal([...capLabelValue(emoji)].length, JOB_LABEL_MAX_CHARS, 'astral characters count once and are never split');
  const labels = jobLabelsByGpu([h('j', 0, 1, [0], long)]).get(0)!;
  t.equal(labels.owner.length, JOB_LABEL_MAX_CHARS, 'an owner name is capped too');
  t.same(NO_JOB, { job_id: '', rank: '', owner: '' }, 'a GPU no rank holds: the same labels, empty');
  t.ok(Object.isFrozen(NO_JOB));
});
