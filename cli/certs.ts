/**
 * `gantry certs`: a small cluster's PKI in one directory: a CA (or an existing one), the
 * scheduler's server certificate, one certificate per node (URI SAN urn:gantry:node:<name>) and
 * per user (CN = user, O = groups), made in-process (shared/certgen). It refuses to overwrite a file
 * unless --force; private keys are written 0600. It prints what it wrote and the settings that
 * use it. Run again with the same --out to add nodes or users: the CA found there is reused.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateNatsAuthDir } from '../shared/natsauth/index.js';
import { InvalidArgumentError } from '../shared/errors/index.js';
import { createCa, issueCert, loadCa, type CertificateAuthority, type IssuedCert } from '../shared/certgen/index.js';
import { EXIT_FAILURE, EXIT_USAGE, parseFlags, type Command } from '../shared/cli/command.js';
import { CA_FILES, SCHEDULER_FILES, certsInstructions, nodeFiles, parseDays, parseHosts, parseNodes, parseUsers, plannedFiles, userFiles, type CertsPlan } from './certs-plan.js';

const USAGE = `usage: gantry certs --out DIR [--scheduler-hosts H1,H2] [--nodes N1,N2] [--users U1:G1+G2,U2]
                    [--ca-cert FILE --ca-key FILE] [--days N] [--force] [--nats]

Writes into DIR (created 0700 if missing):
  ca.pem, ca-key.pem            a new CA (10 years); with --ca-cert/--ca-key, that CA is used (ca.pem
                                gets a copy of its certificate); when DIR already holds both, they are used
  scheduler.pem, scheduler-key.pem   the scheduler's certificate for --scheduler-hosts (DNS names, IPs)
  node-NAME.pem, node-NAME-key.pem   per --nodes name (URI SAN urn:gantry:node:NAME)
  user-NAME.pem, user-NAME-key.pem   per --users entry: NAME:GROUP+GROUP (CN = NAME, O = each group)

  --days N     validity of the issued certificates (default 365)
  --force      overwrite files that exist (otherwise nothing is written and it exits 1)
  --nats       also NATS users for the --nodes (DIR/nats: nats-auth.conf and 0600 nkey seeds, as
               gantry nats-auth writes them; seeds already there are kept)
`;

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(flag, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function loadGivenCa(certFile: string, keyFile: string, certFlag: string, keyFlag: string): Promise<CertificateAuthority> {
  const cert = readPem(certFile, certFlag);
  const key = readPem(keyFile, keyFlag);
  try {
    return await loadCa(cert, key);
  } catch (e) {
    throw new InvalidArgumentError(keyFlag, `${certFile} and ${keyFile} are not a PEM certificate and its PKCS#8 EC P-256 key: ${(e as Error).message}`);
  }
}

/** Writes one file: 0600 for keys (also when overwriting one that was looser), 0644 otherwise. */
function writeOne(file: string, text: string, secret: boolean, force: boolean): void {
  const mode = secret ? 0o600 : 0o644;
  writeFileSync(file, text, { mode, flag: force ? 'w' : 'wx' });
  chmodSync(file, mode);
}

export const certsCommand: Command = {
  name: 'certs',
  summary: 'make a CA and certificates for the scheduler, nodes and users (mTLS)',
  async run(argv, io) {
    const values = parseFlags('certs', argv, {
          out: { type: 'string' },
          'scheduler-hosts': { type: 'string' },
          nodes: { type: 'string' },
          users: { type: 'string' },
          'ca-cert': { type: 'string' },
          'ca-key': { type: 'string' },
          days: { type: 'string', default: '365' },
          force: { type: 'boolean' },
          nats: { type: 'boolean' },
        }, USAGE, io);
    if (typeof values === 'number') return values;
    const s = (k: string): string | undefined => values[k] as string | undefined;
    let plan: CertsPlan;
    let ca: CertificateAuthority | undefined;
    try {
      if (!s('out')) throw new InvalidArgumentError('--out', 'is required: the directory to write into');
      if ((s('ca-cert') === undefined) !== (s('ca-key') === undefined)) throw new InvalidArgumentError(s('ca-cert') ? '--ca-key' : '--ca-cert', '--ca-cert and --ca-key go together');
      const out = path.resolve(io.cwd, s('out')!);
      const inOut = CA_FILES.map((f) => path.join(out, f));
      plan = {
        out,
        ca: s('ca-cert') ? { kind: 'given', cert: path.resolve(io.cwd, s('ca-cert')!), key: path.resolve(io.cwd, s('ca-key')!) } : inOut.every((f) => existsSync(f)) ? { kind: 'out' } : { kind: 'new' },
        schedulerHosts: s('scheduler-hosts') !== undefined ? parseHosts(s('scheduler-hosts')!) : [],
        nodes: s('nodes') !== undefined ? parseNodes(s('nodes')!) : [],
        users: s('users') !== undefined ? parseUsers(s('users')!) : [],
        days: parseDays(s('days')!),
      };
      if (plan.ca.kind === 'given') ca = await loadGivenCa(plan.ca.cert, plan.ca.key, '--ca-cert', '--ca-key');
      if (plan.ca.kind === 'out') ca = await loadGivenCa(inOut[0]!, inOut[1]!, '--out', '--out');
      if (plan.ca.kind === 'new' && inOut.some((f) => existsSync(f))) {
        const [has, lacks] = existsSync(inOut[0]!) ? CA_FILES : [CA_FILES[1], CA_FILES[0]];
        throw new InvalidArgumentError('--out', `${out} holds ${has} but not ${lacks}: put it back, or use --ca-cert/--ca-key`);
      }
    } catch (e) {
      if (!(e instanceof InvalidArgumentError)) throw e;
      io.stderr(`gantry certs: ${e.message}\n`);
      return EXIT_USAGE;
    }

    const files = plannedFiles(plan);
    if (files.length === 0) {
      io.stderr(`gantry certs: ${plan.out} already holds a CA and nothing else was asked for: name --scheduler-hosts, --nodes or --users\n`);
      return EXIT_USAGE;
    }
    const existing = files.filter((f) => existsSync(path.join(plan.out, f.name))).map((f) => f.name);
    if (existing.length && !values.force) {
      io.stderr(`gantry certs: ${plan.out} already holds ${existing.join(', ')}; nothing written (--force overwrites)\n`);
      return EXIT_FAILURE;
    }

    // Everything is made in memory first, so a failure writes nothing.
    const made = new Map<string, string>();
    const put = ([cert, key]: [string, string], c: IssuedCert): void => void made.set(cert, c.cert).set(key, c.key);
    if (!ca) {
      ca = await createCa('gantry-ca', { validDays: Math.max(3650, plan.days) });
      put(CA_FILES, ca);
    } else if (plan.ca.kind === 'given') {
      made.set(CA_FILES[0], ca.cert);
    }
    const validity = { validDays: plan.days };
    if (plan.schedulerHosts.length) put(SCHEDULER_FILES, await issueCert(ca, { kind: 'server', name: 'gantry-scheduler', hosts: plan.schedulerHosts }, validity));
    for (const n of plan.nodes) put(nodeFiles(n), await issueCert(ca, { kind: 'node', node: n }, validity));
    for (const u of plan.users) put(userFiles(u.user), await issueCert(ca, { kind: 'user', user: u.user, groups: u.groups }, validity));

    let natsText = '';
    try {
      mkdirSync(plan.out, { recursive: true, mode: 0o700 });
      for (const f of files) writeOne(path.join(plan.out, f.name), made.get(f.name)!, f.secret, values.force === true);
      // NATS users (one nkey per daemon), beside the certificates: the same as gantry nats-auth.
      if (values.nats) {
        const nats = generateNatsAuthDir(path.join(plan.out, 'nats'), { nodes: plan.nodes });
        natsText = `\nNATS users (README "NATS permissions"): include ${nats.files.conf} from nats-server's config; set nats.nkeySeedFile to ${nats.files.scheduler} on the scheduler and to each node's ${path.join(plan.out, 'nats', 'node-NAME.nk')} on its agent; gantry events --nats-nkey ${nats.files.events}\n`;
      }
    } catch (e) {
      io.stderr(`gantry certs: cannot write into ${plan.out}: ${(e as Error).message}\n`);
      return EXIT_FAILURE;
    }
    io.stdout(certsInstructions(plan) + natsText);
    return 0;
  },
};
