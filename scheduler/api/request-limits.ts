/**
 * Bounds on the free-form string fields of every SchedulerService request (the job spec has its
 * own, shared/jobspec): names, ids, owners and filters at most 253 bytes, reasons at most 1,024,
 * and none with control characters (NUL, ESC, newlines...), which would forge log lines, audit
 * records and CLI output. Pure.
 */
import { InvalidArgumentError } from '../../shared/errors/index.js';

export const REQUEST_FIELD_LIMITS = {
  /** owner, name, id, job_id, node, queue, state, kind, level... */
  nameMaxBytes: 253,
  /** reason (cordon, drain, cancel). */
  reasonMaxBytes: 1024,
  /** Labels an agent registers. */
  agentMaxLabels: 64,
  /** Bytes of a label key (a 253-byte prefix, `/` and a 63-byte name). */
  labelKeyMaxBytes: 317,
  /** Bytes of a label value, an agent's address or version. */
  labelValueMaxBytes: 253,
} as const;

/** Fields checked elsewhere (the spec: shared/jobspec's limits). */
const OWN_LIMITS = new Set(['spec']);
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Throws InvalidArgumentError naming the first top-level string field out of bounds (the proto's field name). */
export function checkRequestStrings(req: unknown): void {
  if (req === null || typeof req !== 'object') return;
  for (const [key, value] of Object.entries(req)) {
    if (typeof value !== 'string' || OWN_LIMITS.has(key)) continue;
    const field = snake(key);
    const max = key === 'reason' ? REQUEST_FIELD_LIMITS.reasonMaxBytes : REQUEST_FIELD_LIMITS.nameMaxBytes;
    checkText(field, value, max);
  }
}

/** UTF-16 units first (never more than the UTF-8 bytes), so that a 1 MB value is refused without encoding it. */
export function checkText(field: string, value: string, max: number): void {
  if (value.length > max || Buffer.byteLength(value, 'utf8') > max) throw new InvalidArgumentError(field, `is longer than ${max} bytes (${value.length} characters)`);
  const bad = CONTROL.exec(value);
  if (bad) throw new InvalidArgumentError(field, `must not contain control characters (found U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at ${bad.index})`);
}

/**
 * An agent registration's free-form strings: its labels (at most 64, keys and values bounded), its
 * address and its version, none with control characters (they reach `gantry nodes`, logs and events).
 */
export function checkRegistrationStrings(r: { labels: Record<string, string>; address: string; agentVersion: string }, prefix: string): void {
  const L = REQUEST_FIELD_LIMITS;
  const keys = Object.keys(r.labels);
  if (keys.length > L.agentMaxLabels) throw new InvalidArgumentError(`${prefix}.labels`, `has ${keys.length} labels; the limit is ${L.agentMaxLabels}`);
  for (const k of keys) {
    checkText(`${prefix}.labels`, k, L.labelKeyMaxBytes);
    checkText(`${prefix}.labels.${k}`, r.labels[k]!, L.labelValueMaxBytes);
  }
  checkText(`${prefix}.address`, r.address, L.labelValueMaxBytes);
  checkText(`${prefix}.agentVersion`, r.agentVersion, L.labelValueMaxBytes);
}
