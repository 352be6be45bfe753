/** The GPU probe itself failed: timed out (a hung driver call) or could not run / parse. */
import { ParseError, ProbeFailedError, ProbeTimeoutError } from '../../../shared/errors/index.js';
import type { Finding, Rule } from '../types.js';

export const PROBE_CHECK = 'gpu-probe';

export const probeRule: Rule = (input) => {
  const err = input.probeError;
  if (err === undefined || err === null) return [];
  let f: Finding;
  if (err instanceof ProbeTimeoutError) {
    f = { check: PROBE_CHECK, severity: 'fail', scope: 'node', key: 'timeout', evidence: err.message };
  } else if (err instanceof ProbeFailedError) {
    f = { check: PROBE_CHECK, severity: 'fail', scope: 'node', key: 'failed', evidence: err.message.slice(0, 300) };
  } else if (err instanceof ParseError) {
    f = { check: PROBE_CHECK, severity: 'warn', scope: 'node', key: 'parse', evidence: err.message.slice(0, 300) };
  } else {
    f = { check: PROBE_CHECK, severity: 'warn', scope: 'node', key: 'other', evidence: String(err instanceof Error ? err.message : err).slice(0, 300) };
  }
  return [f];
};
