/**
 * Snapshots of the replicated state: everything a store holds at one state-stream sequence, so
 * the stream can be compacted below it and a scheduler that joins with an empty store starts from
 * the snapshot plus the stream's tail. One snapshot is kept (the latest). Two implementations: a
 * JetStream object store (chunked, so a snapshot may be larger than a stream message) and the
 * in-memory twin.
 */
import type { NatsConnection, ObjectStore } from 'nats';
import type { JobRecord, NodeRecord, UsageEntry } from '../../shared/domain/index.js';
import { ParseError } from '../../shared/errors/index.js';
import type { GantryEvent } from '../../shared/events/index.js';

export interface Snapshot {
  /** The last state-stream entry the snapshot includes. */
  seq: number;
  nodes: NodeRecord[];
  jobs: JobRecord[];
  /** The outbox: events not yet known to be published. */
  events: GantryEvent[];
  /** Usage entries (issue 23); absent in snapshots from before them. */
  usage?: UsageEntry[];
}

export interface SnapshotStore {
  save(s: Snapshot): Promise<void>;
  load(): Promise<Snapshot | undefined>;
}

export class MemorySnapshotStore implements SnapshotStore {
  private bytes: string | undefined;

  async save(s: Snapshot): Promise<void> {
    this.bytes = JSON.stringify(s);
  }

  async load(): Promise<Snapshot | undefined> {
    return this.bytes === undefined ? undefined : (JSON.parse(this.bytes) as Snapshot);
  }
}

const NAME = 'latest';

export class ObjectSnapshotStore implements SnapshotStore {
  private constructor(private readonly os: ObjectStore) {}

  static async open(nc: NatsConnection, o: { bucket: string; replicas: number; timeoutMs: number }): Promise<ObjectSnapshotStore> {
    return new ObjectSnapshotStore(await nc.jetstream({ timeout: o.timeoutMs }).views.os(o.bucket, { replicas: o.replicas }));
  }

  async save(s: Snapshot): Promise<void> {
    await this.os.putBlob({ name: NAME }, new TextEncoder().encode(JSON.stringify(s)));
  }

  async load(): Promise<Snapshot | undefined> {
    const bytes = await this.os.getBlob(NAME);
    if (!bytes) return undefined;
    const v = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Snapshot>;
    if (typeof v.seq !== 'number' || !Array.isArray(v.nodes) || !Array.isArray(v.jobs) || !Array.isArray(v.events)) {
      throw new ParseError('the state snapshot', 'lacks seq, nodes, jobs or events');
    }
    return v as Snapshot;
  }
}
