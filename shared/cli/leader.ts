/**
 * Following the leader among several scheduler addresses (issue 21). A standby refuses every call
 * UNAVAILABLE with the Gantry code NOT_LEADER, naming the leader in trailing metadata
 * `gantry-leader` (host:port) and in its message (`... the leader is host:port`). The CLI then goes
 * to that leader, adding it to its list when it is not there, else to the next address; within
 * one call each address is tried at most once. Pure: the choice is made from the list, the
 * addresses tried and the refusal.
 */
import * as grpc from '@grpc/grpc-js';

const LEADER_IN_TEXT = /the leader is (\S+?)\.?$/;
const HOST_PORT = /^[A-Za-z0-9.\-_:[\]]{1,253}:\d{1,5}$/;

/** The Gantry code a scheduler put on an error (metadata `gantry-code`); '' when it gave none. */
function gantryCode(e: unknown): string {
  const md = (e as grpc.ServiceError)?.metadata;
  return md instanceof grpc.Metadata ? String(md.get('gantry-code')[0] ?? '') : '';
}

/** Whether a scheduler refused the call as a standby (or a leader that lost its lease): NOT_LEADER. */
export function isNotLeader(e: unknown): boolean {
  return (e as grpc.ServiceError)?.code === grpc.status.UNAVAILABLE && gantryCode(e) === 'NOT_LEADER';
}

/**
 * The leader a NOT_LEADER refusal names (host:port): its `gantry-leader` metadata, else its
 * message's `the leader is host:port`; undefined when it names none (no leader is known yet) or
 * the name is not a host:port.
 */
export function namedLeader(e: unknown): string | undefined {
  if (!isNotLeader(e)) return undefined;
  const err = e as grpc.ServiceError;
  const fromMetadata = String(err.metadata.get('gantry-leader')[0] ?? '');
  const fromText = LEADER_IN_TEXT.exec(err.details ?? '')?.[1] ?? '';
  const leader = fromMetadata || fromText;
  return HOST_PORT.test(leader) ? leader : undefined;
}

/** The most addresses a call adds to the list by following leaders it was not given (a standby naming addresses on and on cannot make it go round forever). */
export const MAX_FOLLOWED_ADDRESSES = 2;

export interface NextAddress {
  /** The address list, with the named leader added at its end when it was not in it. */
  addresses: readonly string[];
  /** The index in it to try next. */
  index: number;
  /** Why: following a named leader, or the next address in the list. */
  why: 'leader' | 'next';
}

/**
 * Where a call goes after the address at `from` failed: to the leader the refusal named (`leader`),
 * unless it was tried already in this call; else to the next address after `from` (in ring order)
 * not tried yet. `added`: addresses this call has added so far (at most MAX_FOLLOWED_ADDRESSES).
 * Undefined when every address was tried: the call fails.
 */
export function nextAddress(addresses: readonly string[], tried: ReadonlySet<string>, from: number, leader: string | undefined, added: number): NextAddress | undefined {
  if (leader !== undefined && !tried.has(leader)) {
    const at = addresses.indexOf(leader);
    if (at >= 0) return { addresses, index: at, why: 'leader' };
    if (added < MAX_FOLLOWED_ADDRESSES) return { addresses: [...addresses, leader], index: addresses.length, why: 'leader' };
  }
  for (let n = 1; n <= addresses.length; n++) {
    const i = (from + n) % addresses.length;
    if (!tried.has(addresses[i]!)) return { addresses, index: i, why: 'next' };
  }
  return undefined;
}
