/**
 * MIG profile names from what `nvidia-smi -q -x` says of a MIG device (issue 24): its SM count
 * (`device_attributes/shared/multiprocessor_count`) and memory (`fb_memory_usage/total`), with the
 * parent GPU's model and memory. `-q -x` holds no profile name, placement or UUID.
 *
 * Tables: NVIDIA Multi-Instance GPU User Guide, "Supported MIG Profiles"
 * (https://docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-mig-profiles.html): the
 * A100-SXM4-40GB table, its note that A100 80GB names follow the memory (1g.10gb, 1g.20gb, 2g.20gb,
 * 3g.40gb, 4g.40gb, 7g.80gb), and the H100 and H200 tables. SM counts per profile: A100 7 slices of
 * 14 SMs (98); H100/H200 (GH100, 132 SMs) as `nvidia-smi mig -lgip` lists them: 16, 26 (1g double
 * memory), 32, 60, 64, 132. The "+me" (media extension) variants have the same SMs and memory as
 * their base profile and cannot be told apart here: the base name is given.
 *
 * Pure: no I/O.
 */

export interface MigProfileEntry {
  name: string;
  sms: number;
  /** The profile's memory in GiB as the guide's tables and `mig -lgip` give it. */
  memoryGiB: number;
}

interface Family {
  /** Matches the parent GPU's product name. */
  model: RegExp;
  /** The parent's memory (MiB) is within [min, max). */
  minMemoryMiB: number;
  maxMemoryMiB: number;
  profiles: MigProfileEntry[];
}

const GIB = 1024;
const p = (name: string, sms: number, memoryGiB: number): MigProfileEntry => ({ name, sms, memoryGiB });

export const MIG_FAMILIES: readonly Family[] = [
  {
    model: /A100/i,
    minMemoryMiB: 0,
    maxMemoryMiB: 60 * GIB,
    profiles: [p('1g.5gb', 14, 4.75), p('1g.10gb', 14, 9.75), p('2g.10gb', 28, 9.75), p('3g.20gb', 42, 19.62), p('4g.20gb', 56, 19.62), p('7g.40gb', 98, 39.25)],
  },
  {
    model: /A100/i,
    minMemoryMiB: 60 * GIB,
    maxMemoryMiB: 100 * GIB,
    profiles: [p('1g.10gb', 14, 9.5), p('1g.20gb', 14, 19.5), p('2g.20gb', 28, 19.5), p('3g.40gb', 42, 39.25), p('4g.40gb', 56, 39.25), p('7g.80gb', 98, 79.25)],
  },
  {
    model: /H100/i,
    minMemoryMiB: 0,
    maxMemoryMiB: 88 * GIB,
    profiles: [p('1g.10gb', 16, 9.75), p('1g.20gb', 26, 19.62), p('2g.20gb', 32, 19.62), p('3g.40gb', 60, 39.5), p('4g.40gb', 64, 39.5), p('7g.80gb', 132, 79.25)],
  },
  {
    model: /H100/i,
    minMemoryMiB: 88 * GIB,
    maxMemoryMiB: 100 * GIB,
    profiles: [p('1g.12gb', 16, 11), p('1g.24gb', 26, 22), p('2g.24gb', 32, 22), p('3g.47gb', 60, 46), p('4g.47gb', 64, 46), p('7g.94gb', 132, 93)],
  },
  {
    model: /H200/i,
    minMemoryMiB: 0,
    maxMemoryMiB: 200 * GIB,
    profiles: [p('1g.18gb', 16, 16.5), p('1g.35gb', 26, 32.5), p('2g.35gb', 32, 32.5), p('3g.71gb', 60, 69.5), p('4g.71gb', 64, 69.5), p('7g.141gb', 132, 139.5)],
  },
];

/** A profile's memory may differ this much (relative) from the table and still match. */
const MEMORY_TOLERANCE = 0.2;

/**
 * The profile of a MIG device of a GPU `model` with `gpuMemoryMiB`, from its SM count and memory;
 * '' when no table covers the model or no entry has these SMs and about this memory.
 */
export function migProfileName(model: string, gpuMemoryMiB: number, sms: number, memoryMiB: number): string {
  const family = MIG_FAMILIES.find((f) => f.model.test(model) && gpuMemoryMiB >= f.minMemoryMiB && gpuMemoryMiB < f.maxMemoryMiB);
  if (!family || sms <= 0 || memoryMiB <= 0) return '';
  const gib = memoryMiB / GIB;
  let best: { name: string; off: number } | undefined;
  for (const e of family.profiles) {
    if (e.sms !== sms) continue;
    const off = Math.abs(gib - e.memoryGiB) / e.memoryGiB;
    if (off <= MEMORY_TOLERANCE && (!best || off < best.off)) best = { name: e.name, off };
  }
  return best?.name ?? '';
}
