/**
 * The kernel-message watermark (issue 20, diagnostics and return). The agent reads /dev/kmsg from
 * boot, so the XIDs a passed diagnostic cleared would come back after an agent restart. A pass
 * stores the highest kmsg sequence number it cleared, with the boot id: after a restart the kernel
 * log reader's XIDs at or below it are skipped; after a reboot (another boot id) it no longer
 * applies, since kmsg sequence numbers start again. Written atomically (temp file, fsync, rename).
 */
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';

export const WATERMARK_FILE = 'kmsg-watermark.json';
export const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';

export interface KmsgWatermark {
  bootId: string;
  /** kmsg records with a sequence number at or below this were cleared by a passed diagnostic. */
  seq: number;
  /** When it was stored (unix ms), for people. */
  atMs: number;
}

/** This boot's id ('' when it cannot be read: then a stored watermark applies only to '' too). */
export function readBootId(file = BOOT_ID_PATH): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * The watermark that applies to this boot: undefined when none is stored, it is from another boot,
 * or the file cannot be used (`onBad` says why; the agent then reads every XID again, as before).
 */
export function loadWatermark(stateDir: string, bootId: string, onBad: (why: string) => void = () => undefined): KmsgWatermark | undefined {
  const file = path.join(stateDir, WATERMARK_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') onBad(`${file}: ${(e as Error).message}`);
    return undefined;
  }
  try {
    const w = JSON.parse(text) as Partial<KmsgWatermark>;
    if (typeof w.bootId !== 'string' || typeof w.seq !== 'number' || !Number.isSafeInteger(w.seq) || w.seq < 0) {
      onBad(`${file}: not a watermark (bootId, seq)`);
      return undefined;
    }
    if (w.bootId !== bootId) return undefined; // rebooted: kmsg starts afresh
    return { bootId: w.bootId, seq: w.seq, atMs: typeof w.atMs === 'number' ? w.atMs : 0 };
  } catch (e) {
    onBad(`${file}: ${(e as Error).message}`);
    return undefined;
  }
}

/** Stores the watermark atomically: a crash leaves the old file or the new one, never half of one. */
export async function storeWatermark(stateDir: string, w: KmsgWatermark): Promise<void> {
  await fsp.mkdir(stateDir, { recursive: true });
  const file = path.join(stateDir, WATERMARK_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const h = await fsp.open(tmp, 'w', 0o644);
    try {
      await h.writeFile(JSON.stringify(w) + '\n');
      await h.sync();
    } finally {
      await h.close();
    }
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw e;
  }
}
