/**
 * Making certificates for a small cluster: a CA, the scheduler's server certificate, node
 * certificates (a URI SAN names the node) and user certificates (CN = user, O = groups, the
 * Kubernetes convention). ECDSA P-256, made in-process with @peculiar/x509 (WebCrypto), so
 * `gantry certs`, the demo and the tests need no openssl. Keys are PKCS#8 PEM.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
/** @peculiar/x509 takes the DOM's Crypto type; node's webcrypto is that object. */
type Crypto = Parameters<typeof x509.cryptoProvider.set>[0];
import { nodeUri } from '../pki/index.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface IssuedCert {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
  /** Serial number, hex upper case (as node:crypto's X509Certificate.serialNumber writes it). */
  serial: string;
}

export interface CertificateAuthority extends IssuedCert {
  readonly keys: CryptoKeyPair;
  readonly certificate: x509.X509Certificate;
}

export type CertSubject =
  /** The scheduler's serving certificate: DNS names and IP addresses it answers on. */
  | { kind: 'server'; name: string; hosts: readonly string[] }
  /** An agent's node certificate: URI SAN urn:gantry:node:<node>, CN = the node. */
  | { kind: 'node'; node: string }
  /** A user's client certificate: CN = user, one O per group. */
  | { kind: 'user'; user: string; groups: readonly string[] };

export interface Validity {
  /** Default: now. */
  notBefore?: Date;
  validDays?: number;
}

function randomSerial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x10; // positive, and no leading zero byte
  return Buffer.from(b).toString('hex').toUpperCase();
}

async function pemKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`;
}

/** An attribute value for a distinguished name, with the characters RFC 4514 escapes escaped. */
function dnValue(v: string): string {
  return v.replace(/([,+"\\<>;=])/g, '\\$1').replace(/^([ #])/, '\\$1').replace(/ $/, '\\ ');
}

function window(v: Validity): { notBefore: Date; notAfter: Date } {
  const notBefore = v.notBefore ?? new Date();
  return { notBefore, notAfter: new Date(notBefore.getTime() + (v.validDays ?? 365) * DAY_MS) };
}

export async function createCa(name = 'gantry-ca', validity: Validity = { validDays: 3650 }): Promise<CertificateAuthority> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const serial = randomSerial();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: `CN=${dnValue(name)}`,
    ...window(validity),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { keys, certificate, cert: certificate.toString('pem') + '\n', key: await pemKey(keys.privateKey), serial };
}

/** Loads a CA made earlier (its PEM certificate and PKCS#8 key) to issue more certificates. */
export async function loadCa(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const certificate = new x509.X509Certificate(certPem);
  const der = Buffer.from(keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
  const publicKey = await certificate.publicKey.export(ALG, ['verify'], webcrypto as unknown as Crypto);
  return { keys: { privateKey, publicKey }, certificate, cert: certPem, key: keyPem, serial: certificate.serialNumber.toUpperCase() };
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export async function issueCert(ca: CertificateAuthority, subject: CertSubject, validity: Validity = {}): Promise<IssuedCert> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const serial = randomSerial();
  let name: string;
  let usages: string[];
  let sans: x509.JsonGeneralName[] = [];
  switch (subject.kind) {
    case 'server':
      name = `CN=${dnValue(subject.name)}`;
      usages = [x509.ExtendedKeyUsage.serverAuth];
      sans = subject.hosts.map((h) => (IPV4.test(h) || h.includes(':') ? { type: 'ip', value: h } : { type: 'dns', value: h }));
      break;
    case 'node':
      name = `CN=${dnValue(subject.node)}`;
      usages = [x509.ExtendedKeyUsage.clientAuth];
      sans = [{ type: 'url', value: nodeUri(subject.node) }];
      break;
    case 'user':
      name = [`CN=${dnValue(subject.user)}`, ...subject.groups.map((g) => `O=${dnValue(g)}`)].join(', ');
      usages = [x509.ExtendedKeyUsage.clientAuth];
      break;
  }
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: name,
    issuer: ca.certificate.subject,
    ...window(validity),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      ...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans, false)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate, false),
    ],
  });
  return { cert: certificate.toString('pem') + '\n', key: await pemKey(keys.privateKey), serial };
}
