/**
 * The runner's contract tests again, with ranks under the Node supervisor (supervisor.ts) instead
 * of the native one: both supervisors keep the same records and behave the same, so the same
 * tests hold for both. (The Node supervisor's own matters, warm hand-offs, are in warm.test.ts.)
 */
process.env.GANTRY_TEST_SUPERVISOR = 'node';
await import('./run.test.js');
await import('./stop.test.js');
await import('./adopt.test.js');
await import('./logs.test.js');
await import('./runas.test.js');
