import { open, type Database, type RootDatabase } from 'lmdb';
import { TERMINAL_JOB_STATES, type JobRecord, type NodeRecord } from '../../shared/domain/index.js';
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

/**
 * LMDB-backed state store: one environment under dataDir, one named database per record kind, and
 * `jobs-unfinished`, the ids of jobs not in a terminal state (kept in the same transactions as the
 * jobs), so a restart reads those records only. A store written before that index existed gets it
 * built once, at open (meta `unfinishedIndex`).
 */
export class LmdbStore implements StateStore {
  private constructor(
    private readonly root: RootDatabase,
    private readonly nodes: Database<StoredNode, string>,
    private readonly jobs: Database<StoredJob, string>,
    private readonly unfinished: Database<number, string>,
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
      const unfinished = root.openDB<number, string>({ name: 'jobs-unfinished' });
      if (meta.get('unfinishedIndex') === undefined) {
        root.transactionSync(() => {
          for (const { key, value } of jobs.getRange()) if (!TERMINAL_JOB_STATES.has(value.job.state)) unfinished.putSync(key, 1);
          meta.putSync('unfinishedIndex', 1);
        });
      }
      return new LmdbStore(root, nodes, jobs, unfinished);
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

  listUnfinishedJobs(): JobRecord[] {
    const out: JobRecord[] = [];
    for (const id of this.unfinished.getKeys()) {
      const j = this.jobs.get(id)?.job;
      if (j) out.push(j);
    }
    return out;
  }

  listJobIds(): string[] {
    return [...this.jobs.getKeys()];
  }

  async commit(change: { jobs?: readonly JobRecord[]; nodes?: readonly NodeRecord[] }): Promise<void> {
    await this.root.transaction(() => {
      for (const j of change.jobs ?? []) {
        void this.jobs.put(j.id, { v: STORE_SCHEMA_VERSION, job: j });
        if (TERMINAL_JOB_STATES.has(j.state)) void this.unfinished.remove(j.id);
        else void this.unfinished.put(j.id, 1);
      }
      for (const n of change.nodes ?? []) void this.nodes.put(n.name, { v: STORE_SCHEMA_VERSION, node: n });
    });
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
