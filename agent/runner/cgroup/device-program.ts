/**
 * Applies a rank's device rules to its cgroup (the I/O side of devices.ts):
 *
 * - cgroup v2: runs the native helper `gantry-devices attach <dir> <rule>...` (built by
 *   scripts/build-native.mjs into dist/agent/runner/gantry-devices), which loads a
 *   BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the cgroup (replacing the previous ones it
 *   attached there). The program stays with the cgroup after the helper exits.
 * - cgroup v1 (no v2 dir): `devices.deny` "a", then one `devices.allow` line per rule.
 *
 * Errors: a rule that is not well formed (here or as the helper judges it) is an
 * InvalidArgumentError naming it; the helper missing, refused by the kernel, or past its timeout is
 * a FailedPreconditionError carrying the helper's stderr (errno text and the verifier log).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FailedPreconditionError, InvalidArgumentError } from '../../../shared/errors/index.js';
import { packageRoot } from '../../../shared/procs/index.js';
import { deviceRuleError, formatDeviceRule } from './devices.js';
import type { DeviceRule } from './types.js';

export interface DeviceProgramOptions {
  /** The helper binary; default dist/agent/runner/gantry-devices (beside the compiled runner). */
  helperPath?: string;
  /** Kill the helper after this long; default 5000 ms. */
  timeoutMs?: number;
}

export const DEFAULT_DEVICE_HELPER_TIMEOUT_MS = 5000;

/** dist/agent/runner/gantry-devices: beside the runner when running from dist/, else under the package root. */
export function defaultDeviceHelperPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), '..', 'gantry-devices');
  return path.join(packageRoot(), 'dist', 'agent', 'runner', 'gantry-devices');
}

function checkRules(rules: readonly DeviceRule[]): void {
  rules.forEach((r, i) => {
    const bad = deviceRuleError(r);
    if (bad !== null) throw new InvalidArgumentError(`devices[${i}]`, bad);
  });
}

/** Attaches a device program allowing `rules` (and nothing else) to the v2 cgroup `cgroupDir`. */
export async function attachDeviceProgram(cgroupDir: string, rules: readonly DeviceRule[], options: DeviceProgramOptions = {}): Promise<void> {
  checkRules(rules);
  if (!path.isAbsolute(cgroupDir)) throw new InvalidArgumentError('cgroupDir', `${JSON.stringify(cgroupDir)} is not an absolute path`);
  const helper = options.helperPath ?? defaultDeviceHelperPath();
  const timeoutMs = options.timeoutMs ?? DEFAULT_DEVICE_HELPER_TIMEOUT_MS;
  const args = ['attach', cgroupDir, ...rules.map(formatDeviceRule)];
  await new Promise<void>((resolve, reject) => {
    execFile(helper, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const text = String(stderr ?? '').trim();
      const e = err as unknown as { code?: string | number | null; killed?: boolean; signal?: string | null };
      if (e.code === 'ENOENT' || e.code === 'EACCES') {
        return reject(new FailedPreconditionError(`device program helper ${helper} cannot run (${e.code}); devices cannot be limited on cgroup v2 (build-native needs a C compiler)`, { cause: err }));
      }
      if (e.killed || e.signal) {
        return reject(new FailedPreconditionError(`device program helper on ${cgroupDir} ${e.killed ? `ran past ${timeoutMs} ms and was killed` : `died of ${e.signal}`}${text ? `: ${text}` : ''}`, { cause: err }));
      }
      if (e.code === 2) return reject(new InvalidArgumentError('devices', text || 'the device program helper refused its arguments', { cause: err }));
      return reject(new FailedPreconditionError(`device program on ${cgroupDir} not attached (helper exit ${String(e.code)}): ${text || 'no message'}`, { cause: err }));
    });
  });
}

/** A rule as a v1 devices.allow line: `c 195:0 rw`, `c 136:* rwm`. */
export function v1DeviceLine(r: DeviceRule): string {
  return `${r.type} ${r.major}:${r.minor === null ? '*' : r.minor} ${r.access}`;
}

/** cgroup v1: deny everything ("a"), then allow each rule, one write per line (the kernel takes one rule a write). */
export async function writeV1DeviceRules(v1Dir: string, rules: readonly DeviceRule[]): Promise<void> {
  checkRules(rules);
  const put = async (file: string, line: string): Promise<void> => {
    try {
      await writeFile(path.join(v1Dir, file), line);
    } catch (err) {
      throw new FailedPreconditionError(`writing "${line}" to ${path.join(v1Dir, file)}: ${(err as Error).message}`, { cause: err });
    }
  };
  await put('devices.deny', 'a');
  for (const r of rules) await put('devices.allow', v1DeviceLine(r));
}

/** What a CgroupManager calls to limit a rank leaf's devices. */
export type DeviceApplier = (dirs: { v2: string | null; v1: string | null }, rules: DeviceRule[]) => Promise<void>;

/** v2 dir → BPF device program; else v1 dir → devices.allow; neither → FailedPreconditionError. */
export function createDeviceApplier(options: DeviceProgramOptions = {}): DeviceApplier {
  return async (dirs, rules) => {
    if (dirs.v2 !== null) return attachDeviceProgram(dirs.v2, rules, options);
    if (dirs.v1 !== null) return writeV1DeviceRules(dirs.v1, rules);
    throw new FailedPreconditionError('devices cannot be limited: the rank has neither a v2 cgroup nor a v1 devices cgroup');
  };
}

/** The applier with the default helper and timeout. */
export const applyDevices: DeviceApplier = createDeviceApplier();
