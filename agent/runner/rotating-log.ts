/**
 * A rank's log: the supervisor appends to `log` and rotates by size (log -> log.1 -> ... -> log.N,
 * the oldest dropped); readers address the rank's whole output by a byte offset that stays valid
 * across rotation. `log.json` says where the current `log` starts; the writer bumps its seq before
 * and after each rotation so a reader that saw the same even seq before and after its read knows no
 * rotation happened meanwhile (a seqlock).
 */
import { closeSync, existsSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { FILES, rotatedLogName } from './layout.js';
import { isMissing, readJson, readJsonSync, unlinkQuietSync, writeJsonAtomicSync, type LogIndexRecord } from './records.js';
import type { LogChunk } from './types.js';

/** Synchronous writer used by the supervisor (one process per rank; writes in arrival order). */
export class RotatingLogWriter {
  private fd: number;
  private size: number;
  private base: number;
  private seq: number;
  private readonly file: string;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly keep: number,
  ) {
    this.file = path.join(dir, FILES.log);
    const idx = readJsonSync<LogIndexRecord>(path.join(dir, FILES.logIndex));
    this.base = idx?.base ?? 0;
    this.seq = idx ? idx.seq + (idx.seq % 2) : 0; // a rotation cut short by a crash: move on to the next even seq
    this.fd = openSync(this.file, 'a', 0o644);
    this.size = fstatSync(this.fd).size;
    if (idx?.rotating) this.writeIndex(false);
  }

  write(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) {
      if (this.maxBytes > 0 && this.size >= this.maxBytes) this.rotate();
      const room = this.maxBytes > 0 ? this.maxBytes - this.size : buf.length - off;
      const n = Math.min(room, buf.length - off);
      let done = 0;
      while (done < n) done += writeSync(this.fd, buf, off + done, n - done);
      off += n;
      this.size += n;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private writeIndex(rotating: boolean): void {
    this.seq += 1;
    writeJsonAtomicSync(path.join(this.dir, FILES.logIndex), { seq: this.seq, base: this.base, rotating } satisfies LogIndexRecord);
  }

  private rotate(): void {
    this.writeIndex(true);
    closeSync(this.fd);
    // Files beyond keep (from a larger keep before) go first.
    for (let i = Math.max(this.keep, 0) + 1; existsSync(path.join(this.dir, rotatedLogName(i))); i++) {
      unlinkQuietSync(path.join(this.dir, rotatedLogName(i)));
    }
    if (this.keep > 0) {
      for (let i = this.keep - 1; i >= 1; i--) {
        const from = path.join(this.dir, rotatedLogName(i));
        if (existsSync(from)) renameSync(from, path.join(this.dir, rotatedLogName(i + 1)));
      }
      renameSync(this.file, path.join(this.dir, rotatedLogName(1)));
    } else {
      unlinkQuietSync(this.file);
    }
    this.base += this.size;
    this.size = 0;
    this.fd = openSync(this.file, 'a', 0o644);
    this.writeIndex(false);
  }
}

/** Length of buf without a trailing, incomplete UTF-8 sequence (whole length if nothing would be left). Pure. */
export function utf8CompleteLength(buf: Uint8Array): number {
  const len = buf.length;
  let i = len - 1;
  while (i >= 0 && len - i < 4 && ((buf[i] ?? 0) & 0xc0) === 0x80) i--;
  if (i < 0) return len;
  const lead = buf[i] ?? 0;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (len - i >= need) return len;
  return i > 0 ? i : len;
}

interface Segment {
  file: string;
  base: number;
  size: number;
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

async function readRange(file: string, position: number, length: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Reads up to maxBytes of a task's log from offset (in the rank's whole output). An offset already
 * rotated away reads from the oldest byte kept; an offset past the end reads nothing from the end.
 */
export async function readLogRange(dir: string, offset: number, maxBytes: number): Promise<LogChunk> {
  const indexFile = path.join(dir, FILES.logIndex);
  for (let attempt = 0; ; attempt++) {
    const before = (await readJson<LogIndexRecord>(indexFile)) ?? { seq: 0, base: 0, rotating: false };
    if (before.rotating && attempt < 50) {
      await sleep(10);
      continue;
    }
    const names = await readdir(dir).catch((e: unknown) => {
      if (isMissing(e)) return [] as string[];
      throw e;
    });
    const rotated = new Set(names.filter((n) => /^log\.\d+$/.test(n)));
    const segments: Segment[] = [];
    const curSize = (await sizeOf(path.join(dir, FILES.log))) ?? 0;
    segments.push({ file: path.join(dir, FILES.log), base: before.base, size: curSize });
    let base = before.base;
    for (let i = 1; rotated.has(rotatedLogName(i)); i++) {
      const size = await sizeOf(path.join(dir, rotatedLogName(i)));
      if (size === undefined) break;
      base -= size;
      segments.push({ file: path.join(dir, rotatedLogName(i)), base, size });
    }
    segments.reverse();
    const oldest = Math.max(segments[0]?.base ?? 0, 0);
    const end = before.base + curSize;
    const from = Math.min(Math.max(offset, oldest), end);
    const want = Math.min(maxBytes, end - from);
    const parts: Buffer[] = [];
    let pos = from;
    for (const seg of segments) {
      if (pos >= from + want) break;
      const segEnd = seg.base + seg.size;
      if (pos >= segEnd || seg.size === 0) continue;
      const n = Math.min(segEnd, from + want) - pos;
      const got = await readRange(seg.file, pos - seg.base, n).catch((e: unknown) => {
        if (isMissing(e)) return Buffer.alloc(0);
        throw e;
      });
      parts.push(got);
      pos += got.length;
      if (got.length < n) break;
    }
    const after = (await readJson<LogIndexRecord>(indexFile)) ?? { seq: 0, base: 0, rotating: false };
    if ((after.seq !== before.seq || after.rotating) && attempt < 50) continue;
    const buf = Buffer.concat(parts);
    // A character split by maxBytes (or by a write still under way) waits for the next read.
    const keepLen = utf8CompleteLength(buf);
    const next = from + keepLen;
    return { data: buf.subarray(0, keepLen).toString('utf8'), nextOffset: next, eof: next >= end };
  }
}
