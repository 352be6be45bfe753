/**
 * Kernel log reader for XID events. I/O lives here; parsing is parse-xid.ts.
 *
 * Default source is /dev/kmsg, opened non-blocking: each read returns one record, EAGAIN means
 * "nothing new", EPIPE means records were overwritten before we read them (skip on). The first
 * poll reads the whole ring buffer (every XID since boot that the buffer still holds); later polls
 * return only new records. A regular file (a dmesg capture, for tests and replays) is read from
 * where the last poll stopped.
 */
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { ProbeFailedError } from '../../../shared/errors/index.js';
import { parseXidLine, type XidEvent } from '../../core/index.js';

export interface KernelLogReaderOptions {
  /** Default '/dev/kmsg'. */
  path?: string;
  /** Stop reading after this many bytes in one poll (default 4 MiB); the rest comes next poll. */
  maxBytesPerPoll?: number;
}

export interface KernelLogReader {
  readonly path: string;
  /** XID events written since the previous poll (since boot on the first). */
  poll(): Promise<XidEvent[]>;
  close(): Promise<void>;
}

export function createKernelLogReader(options: KernelLogReaderOptions = {}): KernelLogReader {
  const path = options.path ?? '/dev/kmsg';
  const maxBytes = options.maxBytesPerPoll ?? 4 * 1024 * 1024;
  let handle: FileHandle | undefined;
  let isRegular = false;
  let position = 0;
  let partial = '';

  const open = async (): Promise<FileHandle> => {
    if (handle) return handle;
    try {
      const st = await fsp.stat(path);
      isRegular = st.isFile();
      handle = await fsp.open(path, isRegular ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw new ProbeFailedError(`read ${path}`, (err as Error).message, null, { cause: err });
    }
    return handle;
  };

  const poll = async (): Promise<XidEvent[]> => {
    const h = await open();
    const events: XidEvent[] = [];
    const buf = Buffer.alloc(64 * 1024);
    let total = 0;
    while (total < maxBytes) {
      let n: number;
      try {
        const r = await h.read(buf, 0, buf.length, isRegular ? position : null);
        n = r.bytesRead;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') break;
        if (code === 'EPIPE') continue; // kmsg: records overwritten; the next read resumes
        throw new ProbeFailedError(`read ${path}`, (err as Error).message, null, { cause: err });
      }
      if (n === 0) break;
      total += n;
      if (isRegular) position += n;
      const text = partial + buf.subarray(0, n).toString('utf8');
      const lines = text.split('\n');
      partial = isRegular ? (lines.pop() ?? '') : '';
      for (const line of lines) {
        const e = parseXidLine(line);
        if (e) events.push(e);
      }
    }
    return events;
  };

  return {
    path,
    poll,
    close: async () => {
      await handle?.close();
      handle = undefined;
    },
  };
}
