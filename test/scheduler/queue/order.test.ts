import t from 'tap';
import { pendingOrder } from '../../../scheduler/queue/index.js';
import type { JobRecord } from '../../../shared/domain/index.js';

const j = (id: string, priority: number, submittedMs: number): JobRecord =>
  ({ id, spec: { priority } as JobRecord['spec'], submittedMs } as JobRecord);

t.test('priority first, then submission time, then id', async (t) => {
  const order = pendingOrder([j('c-3', 100, 5), j('a-1', 100, 5), j('b-2', 500, 9), j('d-4', 100, 1)]).map((x) => x.id);
  t.same(order, ['b-2', 'd-4', 'a-1', 'c-3']);
  const input = [j('x-1', 1, 1)];
  pendingOrder(input);
  t.equal(input[0]!.id, 'x-1', 'the input is not reordered in place');
});
