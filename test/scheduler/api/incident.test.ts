/** NodeIncident at the boundary (scheduler/api/incident.ts): each bad field is refused with INVALID_ARGUMENT naming it. */
import t from 'tap';
import { incidentFromPb, MAX_LEFTOVERS } from '../../../scheduler/api/incident.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import type { NodeIncident__Output } from '../../../proto/generated/gantry/v1/NodeIncident.js';

const good = (): NodeIncident__Output => ({
  source: 'gpu-clean',
  jobId: 'train-7',
  reason: '1 compute process left on GPU 0',
  leftovers: [{ pid: 4242, user: 'alice', name: 'python3', gpu: 0, usedMemoryBytes: 1_073_741_824 }],
  atUnixMs: 1,
});

t.test('a good incident converts', async (t) => {
  t.same(incidentFromPb(good(), 'incident'), { source: 'gpu-clean', jobId: 'train-7', reason: '1 compute process left on GPU 0', leftovers: [{ pid: 4242, user: 'alice', name: 'python3', gpu: 0, usedMemoryBytes: 1_073_741_824 }] });
  t.same(incidentFromPb({ ...good(), source: 'prolog', jobId: '', leftovers: [] }, 'incident').jobId, '', 'no job: allowed');
});

t.test('bad fields are named', async (t) => {
  const cases: Array<[string, (pb: NodeIncident__Output) => void, string]> = [
    ['unknown source', (pb) => void (pb.source = 'cosmic'), 'incident.source'],
    ['empty reason', (pb) => void (pb.reason = ''), 'incident.reason'],
    ['reason over 1024 bytes', (pb) => void (pb.reason = 'x'.repeat(1025)), 'incident.reason'],
    ['a newline in the reason', (pb) => void (pb.reason = 'a\nforged log line'), 'incident.reason'],
    ['job id too long', (pb) => void (pb.jobId = 'j'.repeat(300)), 'incident.jobId'],
    ['too many leftovers', (pb) => void (pb.leftovers = Array.from({ length: MAX_LEFTOVERS + 1 }, () => good().leftovers[0]!)), 'incident.leftovers'],
    ['pid 0', (pb) => void (pb.leftovers[0]!.pid = 0), 'incident.leftovers[0].pid'],
    ['GPU 4096', (pb) => void (pb.leftovers[0]!.gpu = 4096), 'incident.leftovers[0].gpu'],
    ['memory beyond 2^53', (pb) => void (pb.leftovers[0]!.usedMemoryBytes = 2 ** 64), 'incident.leftovers[0].usedMemoryBytes'],
    ['escape in the user', (pb) => void (pb.leftovers[0]!.user = '\u001b[31mroot'), 'incident.leftovers[0].user'],
    ['a long process name', (pb) => void (pb.leftovers[0]!.name = 'p'.repeat(300)), 'incident.leftovers[0].name'],
  ];
  for (const [what, edit, field] of cases) {
    const pb = good();
    edit(pb);
    try {
      incidentFromPb(pb, 'incident');
      t.fail(`${what}: accepted`);
    } catch (e) {
      t.ok(e instanceof InvalidArgumentError, `${what}: INVALID_ARGUMENT`);
      t.equal((e as InvalidArgumentError).field, field, `${what}: names ${field}`);
    }
  }
});
