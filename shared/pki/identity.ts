/**
 * Who a verified client certificate names. A node certificate carries a URI SAN
 * `urn:gantry:node:<name>` and is a node identity, nothing else; any other client certificate is
 * a user: CN = the user, each O = a group (the Kubernetes convention). Read with node:crypto's
 * X509Certificate; the TLS layer has already checked the chain against the configured CA.
 */
import { X509Certificate } from 'node:crypto';

export const NODE_URI_PREFIX = 'urn:gantry:node:';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export function nodeUri(node: string): string {
  return NODE_URI_PREFIX + node;
}

export type CertificateIdentity =
  | { kind: 'node'; name: string; groups: readonly string[]; serial: string; notAfterMs: number }
  | { kind: 'user'; name: string; groups: readonly string[]; serial: string; notAfterMs: number };

/** Splits Node's SAN text ("DNS:a, URI:urn:...", values JSON-quoted when they hold a comma). */
export function subjectAltNames(text: string | undefined): { type: string; value: string }[] {
  const out: { type: string; value: string }[] = [];
  const re = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/g;
  for (const m of (text ?? '').matchAll(re)) {
    if (!m[0]) break;
    const raw = m[2]!;
    out.push({ type: m[1]!.trim(), value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  return out;
}

/** The values of one attribute (CN, O...) in Node's multi-line subject text ("CN=a\nO=b\nO=c"). */
export function subjectAttribute(subject: string, attr: string): string[] {
  return subject
    .split('\n')
    .filter((l) => l.startsWith(`${attr}=`))
    .map((l) => unescapeDn(l.slice(attr.length + 1)));
}

/** RFC 4514 escapes undone: `\,` -> `,`, `\2C` -> `,`. */
function unescapeDn(v: string): string {
  return v.replace(/\\([0-9A-Fa-f]{2}|.)/g, (_, e: string) => (e.length === 2 ? String.fromCharCode(parseInt(e, 16)) : e));
}

/**
 * The identity in a DER or PEM certificate, or a reason it names none: a certificate restricted
 * to other uses than client authentication (say the scheduler's server certificate), several
 * node URIs, or no CN.
 */
export function certificateIdentity(der: Buffer | string): CertificateIdentity | { error: string } {
  const c = new X509Certificate(der);
  const serial = c.serialNumber.toUpperCase();
  const notAfterMs = Date.parse(c.validTo);
  const eku = c.keyUsage;
  if (Array.isArray(eku) && eku.length > 0 && !eku.includes(CLIENT_AUTH)) {
    return { error: `certificate ${serial} is not for client authentication (its extended key usage is ${eku.join(', ')})` };
  }
  const nodes = subjectAltNames(c.subjectAltName)
    .filter((s) => s.type === 'URI' && s.value.startsWith(NODE_URI_PREFIX))
    .map((s) => s.value.slice(NODE_URI_PREFIX.length));
  if (nodes.length > 1) return { error: `certificate ${serial} names ${nodes.length} nodes; a node certificate names one` };
  if (nodes.length === 1) return { kind: 'node', name: nodes[0]!, groups: [], serial, notAfterMs };
  const cn = subjectAttribute(c.subject, 'CN');
  if (cn.length !== 1 || !cn[0]) return { error: `certificate ${serial} has no single CN to name its user` };
  return { kind: 'user', name: cn[0], groups: subjectAttribute(c.subject, 'O'), serial, notAfterMs };
}
