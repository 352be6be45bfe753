/**
 * What `gantry certs` makes, and what it tells the operator to set, as pure functions: the lists
 * its flags take, the files it will write, and the config snippets it prints. The command
 * (certs.ts) does the I/O.
 */
import path from 'node:path';
import { InvalidArgumentError } from '../shared/errors/index.js';
import { NODE_URI_PREFIX } from '../shared/pki/index.js';

/** A node or user name that is safe in a file name and a certificate: letters, digits, . _ - @, not starting with a dot. */
const NAME = /^[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,252}$/;
/** A group: anything but the list separators (, + :) and control characters. */
const GROUP = /^[^,+:\p{Cc}]{1,253}$/u;
const HOST = /^[A-Za-z0-9.:*-]{1,253}$/;

export interface UserSpec {
  user: string;
  groups: string[];
}

export interface CertsPlan {
  /** The output directory (absolute). */
  out: string;
  /** A CA made now, the one already in `out` (ca.pem + ca-key.pem), or one given by --ca-cert/--ca-key. */
  ca: { kind: 'new' } | { kind: 'out' } | { kind: 'given'; cert: string; key: string };
  schedulerHosts: string[];
  nodes: string[];
  users: UserSpec[];
  days: number;
}

export interface PlannedFile {
  name: string;
  /** A private key: written with mode 0600. */
  secret: boolean;
}

function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

function unique(xs: string[], flag: string): string[] {
  const seen = new Set<string>();
  for (const x of xs) {
    if (seen.has(x)) throw new InvalidArgumentError(flag, `${JSON.stringify(x)} is listed twice`);
    seen.add(x);
  }
  return xs;
}

/** `--nodes n1,n2`: node names. */
export function parseNodes(text: string): string[] {
  const names = splitList(text);
  for (const n of names) if (!NAME.test(n)) throw new InvalidArgumentError('--nodes', `${JSON.stringify(n)} is not a node name (letters, digits, . _ - @)`);
  return unique(names, '--nodes');
}

/** `--users alice:ml+research,bob`: users, each with its groups (separated by +). */
export function parseUsers(text: string): UserSpec[] {
  const users = splitList(text).map((entry) => {
    const [user, groups, more] = entry.split(':');
    if (more !== undefined) throw new InvalidArgumentError('--users', `${JSON.stringify(entry)}: one ':' between the user and its groups`);
    if (!user || !NAME.test(user)) throw new InvalidArgumentError('--users', `${JSON.stringify(entry)}: ${JSON.stringify(user ?? '')} is not a user name (letters, digits, . _ - @)`);
    const gs = groups === undefined ? [] : groups.split('+').map((g) => g.trim());
    for (const g of gs) if (!GROUP.test(g)) throw new InvalidArgumentError('--users', `${JSON.stringify(entry)}: ${JSON.stringify(g)} is not a group name`);
    return { user, groups: gs };
  });
  unique(users.map((u) => u.user), '--users');
  return users;
}

/** `--scheduler-hosts host1,10.0.0.1`: the DNS names and IP addresses of the scheduler's certificate. */
export function parseHosts(text: string): string[] {
  const hosts = splitList(text);
  if (hosts.length === 0) throw new InvalidArgumentError('--scheduler-hosts', 'must list at least one DNS name or IP address');
  for (const h of hosts) if (!HOST.test(h)) throw new InvalidArgumentError('--scheduler-hosts', `${JSON.stringify(h)} is not a DNS name or IP address`);
  return unique(hosts, '--scheduler-hosts');
}

export function parseDays(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 36_500) throw new InvalidArgumentError('--days', `must be a whole number of days from 1 to 36500, got ${JSON.stringify(text)}`);
  return Number(text);
}

export const nodeFiles = (n: string): [string, string] => [`node-${n}.pem`, `node-${n}-key.pem`];
export const userFiles = (u: string): [string, string] => [`user-${u}.pem`, `user-${u}-key.pem`];
export const SCHEDULER_FILES: [string, string] = ['scheduler.pem', 'scheduler-key.pem'];
export const CA_FILES: [string, string] = ['ca.pem', 'ca-key.pem'];

/** The files the plan writes: the CA's (its key only when made here), the scheduler's, each node's and user's. */
export function plannedFiles(p: CertsPlan): PlannedFile[] {
  const pair = ([cert, key]: [string, string]): PlannedFile[] => [{ name: cert, secret: false }, { name: key, secret: true }];
  return [
    ...(p.ca.kind === 'new' ? pair(CA_FILES) : p.ca.kind === 'given' ? [{ name: CA_FILES[0], secret: false }] : []),
    ...(p.schedulerHosts.length ? pair(SCHEDULER_FILES) : []),
    ...p.nodes.flatMap((n) => pair(nodeFiles(n))),
    ...p.users.flatMap((u) => pair(userFiles(u.user))),
  ];
}

/** What was written and the settings to use it: the scheduler's grpc.tls, each agent's scheduler.tls, the CLI's flags and context. */
export function certsInstructions(p: CertsPlan): string {
  const f = (name: string): string => path.join(p.out, name);
  const address = `${p.schedulerHosts[0] ?? 'SCHEDULER-HOST'}:7070`;
  const ca = f(CA_FILES[0]);
  const out: string[] = [];
  const caSource = p.ca.kind === 'new' ? 'a new CA' : p.ca.kind === 'out' ? `the CA already in ${p.out}` : `the CA of ${p.ca.cert}`;
  out.push(`wrote, in ${p.out}, with ${caSource} (valid ${p.days} days; private keys are mode 0600):`);
  if (p.ca.kind === 'new') out.push(`  ${CA_FILES.join(', ')}: the CA; every daemon and user needs ca.pem. Keep ca-key.pem offline: it signs every certificate`);
  if (p.ca.kind === 'given') out.push(`  ${CA_FILES[0]}: a copy of the CA's certificate (its key stays where it is)`);
  if (p.schedulerHosts.length) out.push(`  ${SCHEDULER_FILES.join(', ')}: the scheduler's server certificate for ${p.schedulerHosts.join(', ')}`);
  for (const n of p.nodes) out.push(`  ${nodeFiles(n).join(', ')}: node ${n} (URI SAN ${NODE_URI_PREFIX}${n})`);
  for (const u of p.users) out.push(`  ${userFiles(u.user).join(', ')}: user ${u.user}${u.groups.length ? `, groups ${u.groups.join(', ')}` : ''}`);
  if (p.schedulerHosts.length) {
    out.push(
      '',
      'scheduler (scheduler.yaml; a node or user certificate is verified against caFile):',
      '  grpc:',
      '    tls:',
      `      certFile: ${f(SCHEDULER_FILES[0])}`,
      `      keyFile: ${f(SCHEDULER_FILES[1])}`,
      `      caFile: ${ca}`,
      '      # requireClientCert: true   # only if no user signs in with a bearer token',
      ...(p.users.length ? ['  auth:', '    roles:', `      admin: {users: [${p.users[0]!.user}]}   # who may do what: see README "Security"`] : []),
    );
  }
  for (const n of p.nodes) {
    out.push(
      '',
      `node ${n} (its agent.yaml; copy ca.pem and its two files to the node and use their paths there; the key stays 0600):`,
      '  scheduler:',
      `    address: ${address}`,
      '    tls:',
      `      caFile: ${ca}`,
      `      certFile: ${f(nodeFiles(n)[0])}`,
      `      keyFile: ${f(nodeFiles(n)[1])}`,
      '      # serverName: NAME   # when the address is not among the scheduler certificate\'s hosts',
    );
  }
  for (const u of p.users) {
    const [cert, key] = userFiles(u.user).map(f) as [string, string];
    out.push(
      '',
      `user ${u.user}: flags, environment or a context of ~/.config/gantry/config.yaml (then 'gantry whoami' says who you are):`,
      `  gantry nodes --scheduler ${address} --ca ${ca} --cert ${cert} --key ${key}`,
      `  export GANTRY_SCHEDULER_ADDRESS=${address} GANTRY_CA=${ca} GANTRY_CERT=${cert} GANTRY_KEY=${key}`,
      `  current-context: gantry`,
      `  contexts:`,
      `    gantry: {schedulers: [${address}], ca: ${ca}, cert: ${cert}, key: ${key}}`,
    );
  }
  return out.join('\n') + '\n';
}
