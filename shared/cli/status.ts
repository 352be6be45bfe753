/**
 * `gantry status`: the control plane. Asks every scheduler address it was given (--scheduler
 * A,B,C or GANTRY_SCHEDULER_ADDRESS) GetControlPlane, each on its own, and prints one row per
 * address: its role (leader, standby, single, or the error it gave), term, since when, the
 * state stream entries it has applied and its lag behind the head; above the table, the leader.
 *
 * Exit 0 when some scheduler says it leads (or is a single scheduler); 1 when none does (no
 * leader now, or none reachable), so scripts and probes can use it.
 */
import { describeGrpcError, runClientCommand } from './client.js';
import type { Command } from './command.js';
import { printable } from './printable.js';
import type { ControlPlaneMember } from '../domain/index.js';

/** What one scheduler answered (GetControlPlane), numbers as numbers. */
/** One scheduler's answer as read from the wire (its role as text: an older or newer scheduler may say another). */
export type MemberView = Omit<ControlPlaneMember, 'role'> & { role: string };

/** One address asked: its answer, or the error text. */
export type StatusRow = { asked: string; member: MemberView } | { asked: string; error: string };

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 90 ? `${s}s` : s < 5400 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`;
}

const leads = (m: MemberView): boolean => m.role === 'leader' || m.role === 'single';

/** The leader among the answers (the one with the highest term, should two claim it). */
export function leaderOf(rows: readonly StatusRow[]): MemberView | undefined {
  let best: MemberView | undefined;
  for (const r of rows) if ('member' in r && leads(r.member) && (!best || r.member.term > best.term)) best = r.member;
  return best;
}

/** A member's lag: the head as the leader (or else the member itself) knows it, minus what it applied. */
export function lagOf(m: MemberView, leader: MemberView | undefined): number {
  if (leads(m)) return 0;
  return Math.max(0, Math.max(m.headSeq, leader?.role === 'leader' ? leader.appliedSeq : 0) - m.appliedSeq);
}

/** The text form: a leader line, then one row per address asked (pure). */
export function statusText(rows: readonly StatusRow[], nowMs: number): string {
  const leader = leaderOf(rows);
  const known = rows.map((r) => ('member' in r && r.member.leaderAddress ? r.member.leaderAddress : '')).find(Boolean);
  const head = leader
    ? leader.role === 'single'
      ? `leader: ${leader.schedulerId} at ${leader.address} (a single scheduler, no ha.enabled), since ${new Date(leader.roleSinceUnixMs).toISOString()} (${ago(nowMs - leader.roleSinceUnixMs)} ago)`
      : `leader: ${leader.schedulerId} at ${leader.address}, term ${leader.term}, since ${new Date(leader.roleSinceUnixMs).toISOString()} (${ago(nowMs - leader.roleSinceUnixMs)} ago)`
    : `leader: none answers${known ? ` (the lease names ${known}, which was not asked or did not answer)` : ''}`;
  const table: string[][] = [['ADDRESS', 'ID', 'ROLE', 'TERM', 'SINCE', 'APPLIED', 'LAG']];
  for (const r of rows) {
    if ('error' in r) {
      table.push([r.asked, '-', `error: ${r.error}`, '-', '-', '-', '-']);
      continue;
    }
    const m = r.member;
    table.push([r.asked, m.schedulerId, m.role, m.term ? String(m.term) : '-', `${ago(nowMs - m.roleSinceUnixMs)} ago`, m.role === 'single' ? '-' : String(m.appliedSeq), m.role === 'single' ? '-' : String(lagOf(m, leader))]);
  }
  // Each cell on its own: a name cannot forge a line or move the cursor (printable.ts).
  const cells = table.map((row) => row.map(printable));
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  const lines = cells.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]! + 2))).join('').trimEnd());
  return [printable(head), ...lines].join('\n') + '\n';
}

/** The JSON form: stable keys for scripts. */
export function statusJson(rows: readonly StatusRow[]): Record<string, unknown> {
  const leader = leaderOf(rows);
  return {
    leader: leader ? { id: leader.schedulerId, address: leader.address, term: leader.term, since: new Date(leader.roleSinceUnixMs).toISOString() } : null,
    schedulers: rows.map((r) =>
      'error' in r
        ? { address: r.asked, error: r.error }
        : { address: r.asked, id: r.member.schedulerId, role: r.member.role, term: r.member.term, since: new Date(r.member.roleSinceUnixMs).toISOString(), appliedSeq: r.member.appliedSeq, lagEntries: lagOf(r.member, leader) },
    ),
  };
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'the control plane: each scheduler its role (leader, standby), term, since when, lag',
  run: (argv, io) =>
    runClientCommand('status', argv, io, { options: { json: { type: 'boolean' } }, positionals: 0, usage: '[--json]' }, async ({ scheduler, values }) => {
      const rows: StatusRow[] = await Promise.all(
        Array.from({ length: scheduler.addressCount }, async (_, i): Promise<StatusRow> => {
          const asked = scheduler.addressAt(i);
          try {
            const r = await scheduler.callAt(i, 'GetControlPlane', {}, 5000);
            return { asked, member: { ...r, term: Number(r.term), roleSinceUnixMs: Number(r.roleSinceUnixMs), appliedSeq: Number(r.appliedSeq), headSeq: Number(r.headSeq) } };
          } catch (e) {
            return { asked, error: describeGrpcError(e, asked) };
          }
        }),
      );
      io.stdout(values.json ? JSON.stringify(statusJson(rows), null, 2) + '\n' : statusText(rows, Date.now()));
      return leaderOf(rows) ? 0 : 1;
    }),
};
