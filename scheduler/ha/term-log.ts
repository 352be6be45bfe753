/**
 * The replicated log a leader commits its state changes to, fenced by sequence (issue 21, point 2).
 *
 * An append names the sequence the leader believes is last; the log takes it only if that is
 * still so (JetStream's `Nats-Expected-Last-Sequence`). Every append also carries the leader's
 * term. A new leader's first append is a `term` record: it moves the sequence on, so a deposed
 * leader that wakes up and appends with the sequence it last knew is refused, even before the new
 * leader has written anything else. Outcomes are values (`stale`); only a failure to get an answer
 * throws. Two implementations with one contract test (test/scheduler/ha/term-log.test.ts):
 * JetStream (JetStreamTermLog) and the in-memory twin.
 */
import { headers, type JetStreamClient, type NatsConnection } from 'nats';
import { isWrongLastSequence } from './jetstream-errors.js';

export type AppendResult = { ok: true; seq: number } | { ok: false; reason: 'stale' };

export interface LogEntry {
  seq: number;
  term: number;
  data: Uint8Array;
}

export interface TermLog {
  append(term: number, data: Uint8Array, expectedLastSeq: number): Promise<AppendResult>;
  /** The last sequence in the log (0: empty). */
  lastSeq(): Promise<number>;
  /** The entries after `afterSeq`, in order (a follower's tail). */
  read(afterSeq: number, max: number): Promise<LogEntry[]>;
  close(): Promise<void>;
}

export class MemoryTermLog implements TermLog {
  private readonly entries: LogEntry[] = [];

  async append(term: number, data: Uint8Array, expectedLastSeq: number): Promise<AppendResult> {
    if (expectedLastSeq !== this.entries.length) return { ok: false, reason: 'stale' };
    this.entries.push({ seq: this.entries.length + 1, term, data });
    return { ok: true, seq: this.entries.length };
  }

  async lastSeq(): Promise<number> {
    return this.entries.length;
  }

  async read(afterSeq: number, max: number): Promise<LogEntry[]> {
    return this.entries.slice(afterSeq, afterSeq + max);
  }

  async close(): Promise<void> {}
}

export const TERM_HEADER = 'Gantry-Term';

export interface JetStreamTermLogOptions {
  stream: string;
  subject: string;
  replicas: number;
  timeoutMs: number;
}

export class JetStreamTermLog implements TermLog {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly o: JetStreamTermLogOptions,
  ) {}

  static async open(nc: NatsConnection, o: JetStreamTermLogOptions): Promise<JetStreamTermLog> {
    const jsm = await nc.jetstreamManager({ timeout: o.timeoutMs });
    try {
      await jsm.streams.info(o.stream);
    } catch {
      await jsm.streams.add({ name: o.stream, subjects: [o.subject], num_replicas: o.replicas });
    }
    return new JetStreamTermLog(nc, nc.jetstream({ timeout: o.timeoutMs }), o);
  }

  async append(term: number, data: Uint8Array, expectedLastSeq: number): Promise<AppendResult> {
    const h = headers();
    h.set(TERM_HEADER, String(term));
    try {
      const ack = await this.js.publish(this.o.subject, data, { headers: h, expect: { lastSequence: expectedLastSeq }, timeout: this.o.timeoutMs });
      return { ok: true, seq: ack.seq };
    } catch (e) {
      if (isWrongLastSequence(e)) return { ok: false, reason: 'stale' };
      throw e;
    }
  }

  async lastSeq(): Promise<number> {
    const jsm = await this.nc.jetstreamManager({ timeout: this.o.timeoutMs });
    return (await jsm.streams.info(this.o.stream)).state.last_seq;
  }

  async read(afterSeq: number, max: number): Promise<LogEntry[]> {
    const jsm = await this.nc.jetstreamManager({ timeout: this.o.timeoutMs });
    const last = (await jsm.streams.info(this.o.stream)).state.last_seq;
    const out: LogEntry[] = [];
    for (let seq = afterSeq + 1; seq <= last && out.length < max; seq++) {
      try {
        const m = await jsm.streams.getMessage(this.o.stream, { seq });
        out.push({ seq: m.seq, term: Number(m.header.get(TERM_HEADER) || 0), data: m.data });
      } catch {
        // A sequence removed by compaction: skipped.
      }
    }
    return out;
  }

  async close(): Promise<void> {}
}
