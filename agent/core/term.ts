/**
 * Fencing by term on the agent's side (docs/high-availability.md): an HA leader's term is the
 * lease's revision, which only grows, and it rides on Registered, StartTask and StopTask. The agent
 * remembers the highest term it has seen and refuses a message with a lower one: it comes from a
 * deposed leader. Term 0 is a scheduler without HA and is always accepted (and changes nothing),
 * so a cluster can go from one scheduler to HA and back; an agent that saw term T and later meets a
 * non-HA scheduler follows it.
 */

export type TermJudgement = { accept: true; highest: number } | { accept: false; highest: number };

/** (highest seen, incoming) → accept (with the new highest) or refuse (a lower nonzero term). */
export function judgeTerm(highest: number, incoming: number): TermJudgement {
  if (incoming === 0) return { accept: true, highest };
  if (incoming < highest) return { accept: false, highest };
  return { accept: true, highest: incoming };
}
