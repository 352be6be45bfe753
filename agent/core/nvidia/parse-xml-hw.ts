/**
 * What `nvidia-smi -q -x` says of a GPU's hardware beyond the readings parse-xml.ts takes (issue 24):
 * its MIG devices (`mig_devices/mig_device`) and, on GB200/GB300, its place in the rack
 * (`platformInfo`), and the fabric's health sub-fields that mark an NVLink domain degraded.
 * Pure: no I/O; works on the parsed <gpu> element.
 */
import type { GpuPlatform, MigInstance } from '../../../shared/domain/index.js';
import { migProfileName } from './mig-profiles.js';

type Node = Record<string, unknown>;

const ABSENT = /^(|n\/a|\[n\/a\]|not supported|\[not supported\])$/i;

function at(node: unknown, path: string): unknown {
  let cur: unknown = node;
  for (const part of path.split('/')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Node)[part];
  }
  return cur;
}

/** Trimmed text at a path; undefined for absent or N/A. */
function text(node: unknown, path: string): string | undefined {
  const v = at(node, path);
  const s = v !== null && typeof v === 'object' ? (v as Node)['#text'] : v;
  if (s === undefined || s === null || typeof s === 'object') return undefined;
  const t = String(s).trim();
  return ABSENT.test(t) ? undefined : t;
}

/** A non-negative integer (decimal, or 0x hex) at a path; `missing` otherwise. */
function int(node: unknown, path: string, missing: number): number {
  const t = text(node, path);
  if (t === undefined) return missing;
  if (/^0x[0-9a-f]+$/i.test(t)) return Number.parseInt(t, 16);
  const m = /^\d+/.exec(t);
  return m ? Number(m[0]) : missing;
}

/** "19968 MiB" -> 19968; GiB scaled. */
function mib(t: string | undefined): number {
  const m = t === undefined ? null : /^(\d+(?:\.\d+)?)\s*(MiB|GiB)?/i.exec(t);
  if (!m) return 0;
  return Math.round(Number(m[1]) * (/gib/i.test(m[2] ?? '') ? 1024 : 1));
}

/** The MIG devices of one <gpu> element; [] when none are listed (MIG off, or N/A). */
export function migInstancesOf(gpu: Node, model: string, gpuMemoryMiB: number): MigInstance[] {
  const list = at(gpu, 'mig_devices/mig_device');
  if (!Array.isArray(list)) return [];
  return list
    .filter((d): d is Node => d !== null && typeof d === 'object')
    .map((d, i) => {
      const sms = int(d, 'device_attributes/shared/multiprocessor_count', 0);
      const memoryMiB = mib(text(d, 'fb_memory_usage/total'));
      return {
        index: int(d, 'index', i),
        gpuInstanceId: int(d, 'gpu_instance_id', 0),
        computeInstanceId: int(d, 'compute_instance_id', 0),
        multiprocessorCount: sms,
        memoryMiB,
        profile: migProfileName(model, gpuMemoryMiB, sms, memoryMiB),
        // Not in -q -x: unknown until `nvidia-smi -L` / `mig -lgi` are read.
        uuid: '',
        placementStart: -1,
      };
    });
}

/** `platformInfo` of one <gpu> element; null when absent or it names no chassis. */
export function platformOf(gpu: Node): GpuPlatform | null {
  const p = at(gpu, 'platformInfo');
  if (p === null || typeof p !== 'object') return null;
  const chassisSerial = text(p, 'chassis_serial_number') ?? '';
  if (chassisSerial === '') return null;
  return {
    chassisSerial,
    slotNumber: int(p, 'slot_number', -1),
    trayIndex: int(p, 'tray_index', -1),
    hostId: int(p, 'host_id', -1),
    moduleId: int(p, 'module_id', -1),
    peerType: text(p, 'peer_type') ?? '',
  };
}

/**
 * The fabric health sub-fields of one <gpu> that say degraded, as `name=value` (empty: healthy or
 * not reported): summary not Healthy, bandwidth not Full, and any of the True-means-trouble flags.
 */
export function fabricDegradation(gpu: Node): string[] {
  const out: string[] = [];
  const summary = text(gpu, 'fabric/health/summary');
  if (summary !== undefined && summary !== 'Healthy') out.push(`summary=${summary}`);
  const bandwidth = text(gpu, 'fabric/health/bandwidth');
  if (bandwidth !== undefined && bandwidth !== 'Full') out.push(`bandwidth=${bandwidth}`);
  for (const flag of ['route_unhealthy', 'route_recovery_in_progress', 'access_timeout_recovery', 'incorrect_configuration']) {
    const v = text(gpu, `fabric/health/${flag}`);
    if (v !== undefined && /^true$/i.test(v)) out.push(`${flag}=${v}`);
  }
  return out;
}
