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
import { headers, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { isNoMessage, isWrongLastSequence } from './jetstream-errors.js';

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
  /** The entries after `afterSeq`, in order (a follower's tail), at most `max`. */
  read(afterSeq: number, max: number): Promise<LogEntry[]>;
  /** The first sequence still in the log: 1 until it is compacted, lastSeq + 1 when empty after compaction. */
  firstSeq(): Promise<number>;
  /** Drops the entries up to and including `throughSeq` (they are in a snapshot). */
  compact(throughSeq: number): Promise<void>;
  close(): Promise<void>;
}

export class MemoryTermLog implements TermLog {
  private entries: LogEntry[] = [];
  private last = 0;

  async append(term: number, data: Uint8Array, expectedLastSeq: number): Promise<AppendResult> {
    if (expectedLastSeq !== this.last) return { ok: false, reason: 'stale' };
    this.entries.push({ seq: ++this.last, term, data });
    return { ok: true, seq: this.last };
  }

  async lastSeq(): Promise<number> {
    return this.last;
  }

  async read(afterSeq: number, max: number): Promise<LogEntry[]> {
    return this.entries.filter((e) => e.seq > afterSeq).slice(0, max);
  }

  async firstSeq(): Promise<number> {
    return this.entries[0]?.seq ?? this.last + 1;
  }

  async compact(throughSeq: number): Promise<void> {
    this.entries = this.entries.filter((e) => e.seq > throughSeq);
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
    return (await this.info()).last_seq;
  }

  /**
   * One "get message by sequence" request per entry (the stream leader answers, so no stale read),
   * all of a batch in flight at once. Not an ordered consumer: its fetch, when the server the
   * client was connected to died, hung for good (measured on nats-server 2.9 with nats.js 2.29:
   * two time-outs, one good batch, then a fetch that never returned), and a standby that stops
   * reading can never lead.
   */
  async read(afterSeq: number, max: number): Promise<LogEntry[]> {
    const info = await this.info();
    const from = Math.max(afterSeq + 1, info.first_seq);
    const want = Math.min(max, info.last_seq - from + 1);
    if (want <= 0) return [];
    const jsm = await this.manager();
    const got = await Promise.all(
      Array.from({ length: want }, (_, i) =>
        jsm.streams.getMessage(this.o.stream, { seq: from + i }).catch((e: unknown) => {
          // Gone between the info and the get: compacted meanwhile; the caller reads from the snapshot.
          if (isNoMessage(e)) return undefined;
          throw e;
        }),
      ),
    );
    const out: LogEntry[] = [];
    for (const m of got) {
      if (!m) break;
      out.push({ seq: m.seq, term: Number(m.header?.get(TERM_HEADER) || 0), data: m.data });
    }
    return out;
  }

  async firstSeq(): Promise<number> {
    const info = await this.info();
    return info.messages === 0 ? info.last_seq + 1 : info.first_seq;
  }

  async compact(throughSeq: number): Promise<void> {
    const jsm = await this.manager();
    // purge with `seq` removes the messages below it.
    await jsm.streams.purge(this.o.stream, { seq: throughSeq + 1 });
  }

  private async info(): Promise<{ first_seq: number; last_seq: number; messages: number }> {
    return (await (await this.manager()).streams.info(this.o.stream)).state;
  }

  /** One manager for the log's life (making one asks the server for the account's info). */
  private jsm: JetStreamManager | undefined;
  private async manager(): Promise<JetStreamManager> {
    return (this.jsm ??= await this.nc.jetstreamManager({ timeout: this.o.timeoutMs }));
  }

  async close(): Promise<void> {}
}
