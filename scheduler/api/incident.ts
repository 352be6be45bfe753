/**
 * NodeIncident (agent → scheduler, issue 20) validated at the boundary: a known source, a job id
 * or none, a one-line reason, at most MAX_LEFTOVERS leftover processes with bounded names. A bad
 * field throws InvalidArgumentError naming it (the stream is closed, as for any bad agent message).
 */
import { InvalidArgumentError } from '../../shared/errors/index.js';
import type { IncidentLeftover } from '../../shared/events/index.js';
import type { NodeIncident__Output } from '../../proto/generated/gantry/v1/NodeIncident.js';
import { INCIDENT_SOURCES, type IncidentSource } from '../health/index.js';
import type { Incident } from '../node-registry.js';
import { checkText, REQUEST_FIELD_LIMITS } from './request-limits.js';

/** Leftover processes one incident may name (more are a bug or an attack: the event stays small). */
export const MAX_LEFTOVERS = 256;
const MAX_PROCESS_TEXT = 256;
const MAX_GPU_INDEX = 1023;

export function incidentFromPb(pb: NodeIncident__Output, field: string): Incident {
  if (!INCIDENT_SOURCES.has(pb.source as IncidentSource)) throw new InvalidArgumentError(`${field}.source`, `must be one of ${[...INCIDENT_SOURCES].join(', ')}; got ${JSON.stringify(pb.source.slice(0, 40))}`);
  checkText(`${field}.jobId`, pb.jobId, REQUEST_FIELD_LIMITS.nameMaxBytes);
  if (pb.reason === '') throw new InvalidArgumentError(`${field}.reason`, 'must say what happened');
  checkText(`${field}.reason`, pb.reason, REQUEST_FIELD_LIMITS.reasonMaxBytes);
  if (pb.leftovers.length > MAX_LEFTOVERS) throw new InvalidArgumentError(`${field}.leftovers`, `lists ${pb.leftovers.length} processes; at most ${MAX_LEFTOVERS}`);
  const leftovers: IncidentLeftover[] = pb.leftovers.map((p, i) => {
    const f = `${field}.leftovers[${i}]`;
    if (!Number.isInteger(p.pid) || p.pid <= 0) throw new InvalidArgumentError(`${f}.pid`, `must be a process id above 0; got ${p.pid}`);
    if (p.gpu > MAX_GPU_INDEX) throw new InvalidArgumentError(`${f}.gpu`, `must be a GPU index 0-${MAX_GPU_INDEX}; got ${p.gpu}`);
    const used = Number(p.usedMemoryBytes);
    if (!Number.isSafeInteger(used) || used < 0) throw new InvalidArgumentError(`${f}.usedMemoryBytes`, `must be a byte count; got ${String(p.usedMemoryBytes)}`);
    checkText(`${f}.user`, p.user, MAX_PROCESS_TEXT);
    checkText(`${f}.name`, p.name, MAX_PROCESS_TEXT);
    return { pid: p.pid, user: p.user, name: p.name, gpu: p.gpu, usedMemoryBytes: used };
  });
  return { source: pb.source as IncidentSource, jobId: pb.jobId, reason: pb.reason, leftovers };
}
