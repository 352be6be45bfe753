/** The diagnostics policy as a table: node state, tries, hold-downs and the clock in; run / wait / expire / give up out. */
import t from 'tap';
import { decideDiagnostic, diagnosticOutcome, summarize, type DiagnosticDecision, type DiagnosticInput } from '../../../scheduler/diagnostics/index.js';

const P = { maxTries: 3, holdDownMs: 600_000, answerGraceMs: 3_660_000 };
const NOW = 10_000_000;
const base: DiagnosticInput = {
  schedulability: 'cordoned',
  reason: 'health: xid gpu 3',
  connectivity: 'ready',
  awaitingApproval: false,
  busyRanks: 0,
  tries: 0,
  lastTryMs: null,
  lastReturnMs: null,
  inFlightSinceMs: null,
  nowMs: NOW,
};

const rows: Array<[string, Partial<DiagnosticInput>, DiagnosticDecision]> = [
  ['cordoned for health, idle, first try: run at once', {}, { action: 'run', attempt: 1 }],
  ['draining for health (epilog), idle: run', { schedulability: 'draining', reason: 'health: epilog: exit 1' }, { action: 'run', attempt: 1 }],
  ['schedulable: nothing to do', { schedulability: 'schedulable', reason: '' }, { action: 'none', why: 'not-health-drained' }],
  ['cordoned by a person: not the diagnostic\'s', { reason: 'maintenance' }, { action: 'none', why: 'not-health-drained' }],
  ['a reason that only contains health: not ours', { reason: 'ops: health: later' }, { action: 'none', why: 'not-health-drained' }],
  ['lost: cannot run', { connectivity: 'lost' }, { action: 'none', why: 'lost' }],
  ['awaiting approval: no', { awaitingApproval: true }, { action: 'none', why: 'awaiting-approval' }],
  ['ranks still running: wait', { busyRanks: 2, schedulability: 'draining' }, { action: 'wait', why: 'ranks-running' }],
  ['a request in flight: wait', { inFlightSinceMs: NOW - 1000, tries: 1 }, { action: 'wait', why: 'in-flight' }],
  ['a request unanswered past the grace: expire as the next try', { inFlightSinceMs: NOW - P.answerGraceMs, tries: 1 }, { action: 'expire', attempt: 2 }],
  ['second try inside the hold-down: wait until it ends', { tries: 1, lastTryMs: NOW - 1000 }, { action: 'wait', why: 'hold-down', untilMs: NOW - 1000 + P.holdDownMs }],
  ['second try after the hold-down: run', { tries: 1, lastTryMs: NOW - P.holdDownMs }, { action: 'run', attempt: 2 }],
  ['third try after the hold-down: run', { tries: 2, lastTryMs: NOW - P.holdDownMs - 5 }, { action: 'run', attempt: 3 }],
  ['maxTries reached: give up (stays drained)', { tries: 3, lastTryMs: NOW - 10 * P.holdDownMs }, { action: 'give-up', tries: 3 }],
  ['maxTries reached, ranks running: still give up', { tries: 3, busyRanks: 1 }, { action: 'give-up', tries: 3 }],
  ['drained again soon after a return: wait out the hold-down from the return', { lastReturnMs: NOW - 60_000 }, { action: 'wait', why: 'hold-down', untilMs: NOW - 60_000 + P.holdDownMs }],
  ['drained again long after a return: run', { lastReturnMs: NOW - P.holdDownMs }, { action: 'run', attempt: 1 }],
  ['a return before this drain\'s tries does not hold the second try', { tries: 1, lastTryMs: NOW - P.holdDownMs, lastReturnMs: NOW - 1000 }, { action: 'run', attempt: 2 }],
  ['hold-down 0: tries back to back', { tries: 2, lastTryMs: NOW }, { action: 'run', attempt: 3 }],
];

for (const [name, over, want] of rows) {
  t.test(name, async (t) => {
    const policy = name.startsWith('hold-down 0') ? { ...P, holdDownMs: 0 } : P;
    t.same(decideDiagnostic({ ...base, ...over }, policy), want);
  });
}

t.test('maxTries 1: one try, then give up', async (t) => {
  t.same(decideDiagnostic(base, { ...P, maxTries: 1 }), { action: 'run', attempt: 1 });
  t.same(decideDiagnostic({ ...base, tries: 1, lastTryMs: 0 }, { ...P, maxTries: 1 }), { action: 'give-up', tries: 1 });
});

t.test('outcomes: pass returns only a node still drained; failures say what to do', async (t) => {
  const answer = { passed: true, command: 'dcgmi diag -r 1', outputTail: 'Diagnostic ... Pass\n\n', error: '', finishedMs: 5 };
  const pass = diagnosticOutcome('gpu-1', answer, 1, 3, [], true);
  t.same(pass, { result: 'passed', record: { atMs: 5, passed: true, command: 'dcgmi diag -r 1', summary: 'Diagnostic ... Pass', tries: 1 }, returnNode: true, todo: '' });
  t.equal(diagnosticOutcome('gpu-1', answer, 1, 3, [], false).returnNode, false, 'uncordoned meanwhile: not returned again');

  const fail = diagnosticOutcome('gpu-1', { ...answer, passed: false, outputTail: 'GPU 3: FAIL' }, 2, 3, ['reset-gpu', 'reset-gpu'], true);
  t.equal(fail.result, 'failed');
  t.equal(fail.returnNode, false);
  t.equal(fail.todo, 'node gpu-1 stays drained, try 2 of 3: run the diagnostic by hand (dcgmi diag -r 1); remedy: reset-gpu; then gantry uncordon gpu-1');

  const last = diagnosticOutcome('gpu-1', { ...answer, passed: false, outputTail: '' }, 3, 3, [], true);
  t.equal(last.todo, 'node gpu-1 stays drained, no more automatic tries (3 of 3): run the diagnostic by hand (dcgmi diag -r 1); replace or repair the GPU; then gantry uncordon gpu-1');

  const none = diagnosticOutcome('gpu-1', { passed: false, command: '', outputTail: '', error: 'no diagnostic configured (health.diagnostic.command)', finishedMs: 5 }, 1, 3, [], true);
  t.equal(none.result, 'error');
  t.equal(none.record.summary, 'no diagnostic configured (health.diagnostic.command)');
  t.match(none.todo, /configure a diagnostic \(health\.diagnostic\.command in the agent config\)/);

  const errorWins = diagnosticOutcome('gpu-1', { ...answer, error: 'timed out after 100 ms' }, 1, 3, [], true);
  t.equal(errorWins.result, 'error', 'an error is never a pass, whatever passed says');
  t.equal(errorWins.returnNode, false);
});

t.test('summaries are one bounded line', async (t) => {
  t.equal(summarize({ error: '', outputTail: 'a\nb\n  last line  \n\n' }), 'last line');
  t.equal(summarize({ error: 'boom', outputTail: 'x' }), 'boom');
  t.equal(summarize({ error: '', outputTail: '' }), '');
  t.equal(summarize({ error: 'x'.repeat(1000), outputTail: '' }).length, 300);
});
