/** DiagnosticResult at the scheduler's boundary (shared/wire/diagnostic.ts): bounded, every bad field named. */
import t from 'tap';
import { diagnosticResultFromPb, diagnosticResultToPb, DIAGNOSTIC_RESULT_BOUNDS } from '../../../shared/wire/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';

const good = { requestId: 'r-1', passed: true, command: 'dcgmi diag -r 1', outputTail: 'Pass\n', startedMs: 1000, finishedMs: 2000, error: '' };

t.test('round trip', async (t) => {
  const pb = diagnosticResultToPb(good);
  t.same(diagnosticResultFromPb({ ...pb, startedUnixMs: 1000, finishedUnixMs: 2000 } as never, 'diagnosticResult'), good);
});

t.test('out of bounds or missing: INVALID_ARGUMENT naming the field', async (t) => {
  const pb = { ...diagnosticResultToPb(good), startedUnixMs: 1000, finishedUnixMs: 2000 };
  const cases: Array<[string, Record<string, unknown>]> = [
    ['diagnosticResult.requestId', { requestId: '' }],
    ['diagnosticResult.requestId', { requestId: 'x'.repeat(DIAGNOSTIC_RESULT_BOUNDS.requestIdMax + 1) }],
    ['diagnosticResult.command', { command: 'x'.repeat(DIAGNOSTIC_RESULT_BOUNDS.commandMax + 1) }],
    ['diagnosticResult.outputTail', { outputTail: 'x'.repeat(DIAGNOSTIC_RESULT_BOUNDS.outputTailMax + 1) }],
    ['diagnosticResult.error', { error: 'x'.repeat(DIAGNOSTIC_RESULT_BOUNDS.errorMax + 1) }],
    ['diagnosticResult.startedUnixMs', { startedUnixMs: -5 }],
    ['diagnosticResult.finishedUnixMs', { finishedUnixMs: 2 ** 60 }],
  ];
  const fieldOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      return e instanceof InvalidArgumentError ? e.field : `not INVALID_ARGUMENT: ${String(e)}`;
    }
    return 'accepted';
  };
  for (const [field, over] of cases) t.equal(fieldOf(() => diagnosticResultFromPb({ ...pb, ...over } as never, 'diagnosticResult')), field, field);
  t.equal(fieldOf(() => diagnosticResultFromPb(null, 'diagnosticResult')), 'diagnosticResult', 'missing');
});
