import { open, type Database, type RootDatabase } from 'lmdb';
import type { JobRecord, NodeRecord } from '../../shared/domain/index.js';
import { StoreError } from '../../shared/errors/index.js';
import { STORE_SCHEMA_VERSION, type StateStore } from './types.js';

interface StoredNode {
  v: number;
  node: NodeRecord;
}

interface StoredJob {
  v: number;
  job: JobRecord;
}

/** LMDB-backed state store: one environment under dataDir, one named database per record kind. */
export class LmdbStore implements StateStore {
  private constructor(
    private readonly root: RootDatabase,
    private readonly nodes: Database<StoredNode, string>,
    private readonly jobs: Database<StoredJob, string>,
  ) {}

  static open(dataDir: string): LmdbStore {
    try {
      const root = open({ path: dataDir, compression: false });
      const meta = root.openDB<number, string>({ name: 'meta' });
      const version = meta.get('schemaVersion');
      if (version !== undefined && version > STORE_SCHEMA_VERSION) {
        root.close();
        throw new StoreError(`store in ${dataDir} has schema ${version}, newer than this build's ${STORE_SCHEMA_VERSION}`);
      }
      if (version === undefined) meta.putSync('schemaVersion', STORE_SCHEMA_VERSION);
      const nodes = root.openDB<StoredNode, string>({ name: 'nodes' });
      const jobs = root.openDB<StoredJob, string>({ name: 'jobs' });
      return new LmdbStore(root, nodes, jobs);
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError(`cannot open the store in ${dataDir}: ${(e as Error).message}`, { cause: e });
    }
  }

  getNode(name: string): NodeRecord | undefined {
    return this.nodes.get(name)?.node;
  }

  listNodes(): NodeRecord[] {
    const out: NodeRecord[] = [];
    for (const { value } of this.nodes.getRange()) out.push(value.node);
    return out;
  }

  putNodes(nodes: readonly NodeRecord[]): Promise<void> {
    return this.commit({ nodes });
  }

  async deleteNode(name: string): Promise<boolean> {
    // lmdb's remove() resolves true whether or not the key existed; the contract says whether it did.
    return this.root.transaction(() => {
      if (this.nodes.get(name) === undefined) return false;
      void this.nodes.remove(name);
      return true;
    });
  }

  getJob(id: string): JobRecord | undefined {
    return this.jobs.get(id)?.job;
  }

  listJobs(): JobRecord[] {
    const out: JobRecord[] = [];
    for (const { value } of this.jobs.getRange()) out.push(value.job);
    return out;
  }

  async commit(change: { jobs?: readonly JobRecord[]; nodes?: readonly NodeRecord[] }): Promise<void> {
    await this.root.transaction(() => {
      for (const j of change.jobs ?? []) void this.jobs.put(j.id, { v: STORE_SCHEMA_VERSION, job: j });
      for (const n of change.nodes ?? []) void this.nodes.put(n.name, { v: STORE_SCHEMA_VERSION, node: n });
    });
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
