/**
 * What a leader appends to the state stream: one entry per store write, JSON. Pure.
 *
 * - `term`: the first entry of every term (it fences the deposed leader: term-log.ts);
 * - `commit`: jobs, nodes and events written in one transaction (StateStore.commit), with the id
 *   of the last event the leader had published by then (`ackedThrough`): followers trim their
 *   outbox to it, so a new leader republishes only what may not have gone out (NATS drops
 *   republished duplicates by event id within the stream's duplicate window);
 *   and usage entries written or deleted with them (issue 23: `usage`, `usageDeletes`);
 * - `batch`: commits made while the append before was in flight, in order (group commit), each
 *   applied as its own transaction;
 * - `delete-node`.
 */
import type { JobRecord, NodeRecord, UsageEntry } from '../../shared/domain/index.js';
import { ParseError } from '../../shared/errors/index.js';
import type { GantryEvent } from '../../shared/events/index.js';

export interface CommitChange {
  op: 'commit';
  jobs?: JobRecord[];
  nodes?: NodeRecord[];
  events?: GantryEvent[];
  ackedThrough?: string;
  usage?: UsageEntry[];
  usageDeletes?: string[];
}

export type StoreChange = { op: 'term'; term: number; holder: string } | CommitChange | { op: 'batch'; commits: CommitChange[] } | { op: 'delete-node'; name: string };

/** A store commit as a stream entry (its arrays copied; empty usage lists left out). */
export function commitEntry(change: { jobs?: readonly JobRecord[]; nodes?: readonly NodeRecord[]; events?: readonly GantryEvent[]; usage?: readonly UsageEntry[]; usageDeletes?: readonly string[] }): CommitChange {
  const entry: CommitChange = { op: 'commit', jobs: [...(change.jobs ?? [])], nodes: [...(change.nodes ?? [])], events: [...(change.events ?? [])] };
  if (change.usage?.length) entry.usage = [...change.usage];
  if (change.usageDeletes?.length) entry.usageDeletes = [...change.usageDeletes];
  return entry;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeChange(c: StoreChange): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

/** Throws ParseError naming what is wrong with an entry that is not a change. */
export function decodeChange(data: Uint8Array, seq: number): StoreChange {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch (e) {
    throw new ParseError(`state stream entry ${seq}`, 'is not JSON', { cause: e });
  }
  const o = v as Record<string, unknown>;
  switch (o?.op) {
    case 'term':
      if (typeof o.term === 'number' && typeof o.holder === 'string') return o as StoreChange;
      break;
    case 'commit':
      if (isCommit(o)) return o as unknown as StoreChange;
      break;
    case 'batch':
      if (Array.isArray(o.commits) && o.commits.every((c) => (c as Record<string, unknown>)?.op === 'commit' && isCommit(c as Record<string, unknown>))) return o as unknown as StoreChange;
      break;
    case 'delete-node':
      if (typeof o.name === 'string') return o as StoreChange;
      break;
  }
  throw new ParseError(`state stream entry ${seq}`, `is not a state change (op ${JSON.stringify(String(o?.op)).slice(0, 40)})`);
}

function isCommit(o: Record<string, unknown>): boolean {
  const arrays = (...keys: string[]): boolean => keys.every((k) => o[k] === undefined || Array.isArray(o[k]));
  return arrays('jobs', 'nodes', 'events', 'usage', 'usageDeletes') && (o.ackedThrough === undefined || typeof o.ackedThrough === 'string');
}
