/** Stored records for the store tests: a one-GPU node, a job with the default spec, a job event numbered n. */
import { emptyInventory, type JobRecord, type JobState, type NodeRecord } from '../../shared/domain/index.js';
import { EVENT_SCHEMA_VERSION, type GantryEvent } from '../../shared/events/index.js';
import { parseJobSpec } from '../../shared/jobspec/index.js';
import { jobYaml } from './job.js';

const spec = parseJobSpec(jobYaml());

export function storedNode(name: string, over: Partial<NodeRecord> = {}): NodeRecord {
  const inventory = emptyInventory(name);
  inventory.gpus.push({
    index: 0, uuid: `GPU-${name}`, name: 'NVIDIA H100 80GB HBM3', vendor: 'nvidia', memoryMiB: 81559, pciBusId: '00000000:18:00.0',
    serial: 's', vbiosVersion: 'v', inforomVersion: 'i', gspFirmwareVersion: 'g', numaNode: 0, nvlinkDomain: '', linkRow: ['X'], migEnabled: false,
  });
  return {
    name, address: name, connectivity: 'ready', schedulability: 'schedulable', schedulabilityReason: '', health: 'ok', verdicts: [],
    inventory, labels: { a: 'b' }, agentVersion: '0.1.0', registeredMs: 1000, lastSeenMs: 2000, reportsReceived: 3, ...over,
  };
}

export function storedJob(id: string, state: JobState): JobRecord {
  return {
    id, spec, owner: 'u', state, message: '', attempt: 0, epoch: 0, submittedMs: 1, updatedMs: 1, startedMs: 0, finishedMs: 0, requeueAtMs: 0, ranks: [], masterPort: 0,
  };
}

export function jobEvent(n: number): GantryEvent {
  return { v: EVENT_SCHEMA_VERSION, id: `e-${n}`, at: new Date(n).toISOString(), kind: 'job', job: `j-${n}`, type: 'submitted', attempt: 0, epoch: 0, message: `event ${n}` };
}
