/**
 * Which scheduler address the reporter dials next (scheduler.address lists the HA schedulers): the
 * leader a standby named in its refusal (trailing metadata `gantry-leader`) when it is one of the
 * agent's addresses, spelled the same (its `ha.advertise`); otherwise the next address in the list,
 * round. Pure.
 */

/** The index to dial after the one at `current` failed or ended; `leader`: the address a refusal named ('' none). */
export function nextAddressIndex(addresses: readonly string[], current: number, leader: string): number {
  const named = leader ? addresses.indexOf(leader) : -1;
  if (named >= 0) return named;
  return addresses.length === 0 ? 0 : (current + 1) % addresses.length;
}

/** The leader a refusal named in its trailing metadata ('' none). */
export function leaderFromMetadata(metadata: { get(key: string): Array<string | Buffer> } | undefined): string {
  const v = metadata?.get('gantry-leader')[0];
  return typeof v === 'string' ? v : v ? v.toString('utf8') : '';
}
