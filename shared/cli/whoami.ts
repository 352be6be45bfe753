/** `gantry whoami`: who the scheduler takes the caller to be (the WhoAmI call), in text or JSON. */
import type { Command } from './command.js';
import { runClientCommand } from './client.js';
import { printable } from './printable.js';

/** What WhoAmI answers, plus the scheduler that answered. */
export interface WhoAmIView {
  name: string;
  kind: string;
  authenticatedBy: string;
  groups: readonly string[];
  roles: readonly string[];
  permissions: readonly string[];
  runAs: readonly string[];
  /** When the credential expires, epoch ms; 0 = unknown (or never). */
  expiresUnixMs: number;
  scheduler: string;
}

function inWords(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const v = s < 90 ? `${s}s` : s < 5400 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`;
  return ms >= 0 ? `in ${v}` : `${v} ago`;
}

const list = (xs: readonly string[]): string => (xs.length ? xs.join(', ') : '-');

/** The text form: one field a line; runAs '' is the agent's own account. */
export function whoamiText(w: WhoAmIView, nowMs: number): string {
  const expires = w.expiresUnixMs > 0 ? `${new Date(w.expiresUnixMs).toISOString()} (${inWords(w.expiresUnixMs - nowMs)})` : '-';
  const rows: Array<[string, string]> = [
    ['name', w.name || '-'],
    ['kind', w.kind || '-'],
    ['authenticated', w.authenticatedBy || '-'],
    ['groups', list(w.groups)],
    ['roles', list(w.roles)],
    ['permissions', list(w.permissions)],
    ['run as', list(w.runAs.map((a) => a || "(the agent's account)"))],
    ['expires', expires],
    ['scheduler', w.scheduler],
  ];
  return rows.map(([k, v]) => `${k.padEnd(14)}${printable(v)}`).join('\n') + '\n';
}

/** The JSON form: stable keys for scripts; expires is ISO 8601 or null. */
export function whoamiJson(w: WhoAmIView): Record<string, unknown> {
  return {
    name: w.name,
    kind: w.kind,
    authenticatedBy: w.authenticatedBy,
    groups: [...w.groups],
    roles: [...w.roles],
    permissions: [...w.permissions],
    runAs: [...w.runAs],
    expires: w.expiresUnixMs > 0 ? new Date(w.expiresUnixMs).toISOString() : null,
    scheduler: w.scheduler,
  };
}

export const whoamiCommand: Command = {
  name: 'whoami',
  summary: 'who the scheduler takes you to be: name, groups, roles, permissions, runAs accounts',
  run: (argv, io) =>
    runClientCommand('whoami', argv, io, { options: { json: { type: 'boolean' } }, positionals: 0, usage: '[--json]' }, async ({ scheduler, values }) => {
      const r = await scheduler.call('WhoAmI', {});
      const view: WhoAmIView = { ...r, expiresUnixMs: Number(r.expiresUnixMs), scheduler: scheduler.address };
      io.stdout(values.json ? JSON.stringify(whoamiJson(view), null, 2) + '\n' : whoamiText(view, Date.now()));
      return 0;
    }),
};
