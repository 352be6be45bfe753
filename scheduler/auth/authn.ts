/**
 * Who is calling: the shell that turns a gRPC call's transport and metadata into a verified
 * Identity (policy.ts decides what it may do).
 *
 * 1. A client certificate the TLS layer verified against grpc.tls.caFile: a node (URI SAN
 *    urn:gantry:node:<name>) or a user (CN, O = groups); refused when its serial is in
 *    auth.revokedSerialsFile, when it has expired since the connection was made, or when it names
 *    nobody (a server-only certificate).
 * 2. Else a bearer token (`authorization: Bearer <JWT>`, tokens.ts). A present but bad token is
 *    refused, never ignored.
 * 3. Else the anonymous caller, only on a plaintext server (grpc.insecure) with auth.anonymousRole
 *    set; otherwise UNAUTHENTICATED.
 * Identity never comes from a request field. `reload()` (SIGHUP) re-reads the revoked list and the
 * token keys, and tells onRevoked listeners (the agent streams) the serials now revoked.
 */
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import type { Clock } from '../../shared/clock/index.js';
import { ConfigError, UnauthenticatedError } from '../../shared/errors/index.js';
import type { Logger } from '../../shared/log/index.js';
import { certificateIdentity } from '../../shared/pki/index.js';
import type { AuthConfig } from './config.js';
import { ANONYMOUS, type AuthMethod, type Identity } from './policy.js';
import { normalizeSerial, parseRevokedSerials } from '../../shared/pki/index.js';
import { TokenVerifier, validIdentityName } from './tokens.js';

/** grpc-js's AuthContext (not exported by name): the verified peer certificate, when there is one. */
export type AuthContext = ReturnType<ServerUnaryCall<unknown, unknown>['getAuthContext']>;

/** What identify() reads of a call: grpc-js's server calls (unary, streaming, duplex) all have it. */
export interface AuthCall {
  getAuthContext(): AuthContext | null;
  metadata: Metadata;
  getPeer(): string;
}

export interface CallAuthenticator {
  /** The verified caller. Throws UnauthenticatedError (naming why: no credential, bad signature, expired, wrong issuer/audience, revoked certificate ...). */
  identify(call: AuthCall): Promise<Identity>;
}

/** Longest bearer token accepted (the whole metadata entry); a JWT from an OIDC issuer is a few KiB. */
export const MAX_TOKEN_BYTES = 16 * 1024;

/** The credential a call carries, verified or not (for audit records of refused calls). */
export function presentedCredential(call: AuthCall): AuthMethod {
  if (call.getAuthContext()?.sslPeerCertificate?.raw) return 'certificate';
  return call.metadata.get('authorization').length > 0 ? 'token' : 'none';
}

export interface ReloadReport {
  /** The revoked serials now in force; error: the file could not be read (the old list stays). */
  revoked: { count: number; error?: string; skipped: string[] };
  /** Token keys: '' when tokens are off; error: the keys could not be read (the old keys stay). */
  tokens: { source: string; error?: string };
}

export class Authenticator implements CallAuthenticator {
  private revoked: ReadonlySet<string> = new Set();
  private readonly revokedListeners = new Set<(serials: ReadonlySet<string>) => void>();
  private readonly tokens: TokenVerifier | null;
  private readonly anonymous: boolean;

  /**
   * Checks the auth block against the server's transport and reads the revoked list and token
   * keys; ConfigError naming the key on any problem (the daemon does not start).
   */
  constructor(
    private readonly opts: { insecure: boolean; auth: AuthConfig },
    private readonly deps: { clock: Clock; log: Logger },
  ) {
    if (opts.auth.anonymousRole && !opts.insecure) {
      throw new ConfigError('auth.anonymousRole', 'is allowed only with grpc.insecure: true (a plaintext development server); with TLS every caller presents a certificate or a token');
    }
    this.anonymous = opts.insecure && opts.auth.anonymousRole !== '';
    this.tokens = TokenVerifier.create(opts.auth.tokens, deps.clock);
    if (opts.auth.revokedSerialsFile) {
      const { serials, errors } = this.readRevoked();
      if (errors.length) throw new ConfigError('auth.revokedSerialsFile', `${opts.auth.revokedSerialsFile} ${errors.join('; ')}`);
      this.revoked = serials;
    }
  }

  /** Whether tokens are accepted (auth.tokens.issuer is set). */
  get acceptsTokens(): boolean {
    return this.tokens !== null;
  }

  /** The revoked serials in force (normal form: serials.ts normalizeSerial). */
  get revokedSerials(): ReadonlySet<string> {
    return this.revoked;
  }

  /** Whether a certificate serial (any common spelling) is revoked. */
  isRevoked(serial: string): boolean {
    const s = normalizeSerial(serial);
    return s !== undefined && this.revoked.has(s);
  }

  /** Called after every reload with the whole revoked set (normal form); returns the unsubscribe. */
  onRevoked(listener: (serials: ReadonlySet<string>) => void): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  async identify(call: AuthCall): Promise<Identity> {
    const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
    if (raw) return this.fromCertificate(raw);
    const auth = call.metadata.get('authorization');
    if (auth.length > 0) return this.fromToken(auth);
    if (this.anonymous) return ANONYMOUS;
    const how = this.opts.insecure
      ? 'this plaintext server (grpc.insecure) accepts bearer tokens only, and auth.anonymousRole is not set'
      : `present a client certificate signed by the scheduler's CA${this.tokens ? ' or a bearer token (authorization: Bearer <JWT>)' : ''}`;
    throw new UnauthenticatedError(`no credential: ${how}`);
  }

  /**
   * Who opened an agent stream: a node proves itself with its certificate. On a plaintext server
   * (grpc.insecure), where nothing can be proven, an agent with no credential is anonymous whatever
   * auth.anonymousRole says (it names itself, as before identities); on TLS it must present one.
   */
  async identifyAgent(call: AuthCall): Promise<Identity> {
    if (this.opts.insecure && presentedCredential(call) === 'none') return ANONYMOUS;
    return this.identify(call);
  }

  /** The identity in a client certificate the TLS layer verified (also for the agent service's node check). */
  fromCertificate(raw: Buffer): Identity {
    let id;
    try {
      id = certificateIdentity(raw);
    } catch (e) {
      throw new UnauthenticatedError(`the client certificate cannot be read: ${(e as Error).message}`);
    }
    if ('error' in id) throw new UnauthenticatedError(`the client certificate names no caller: ${id.error}`);
    if (!validIdentityName(id.name) || !id.groups.every(validIdentityName)) throw new UnauthenticatedError(`certificate ${id.serial} names no valid ${id.kind}: names are 1-253 characters, no control characters`);
    if (this.isRevoked(id.serial)) throw new UnauthenticatedError(`certificate ${id.serial} of ${id.kind} ${JSON.stringify(id.name)} is revoked (auth.revokedSerialsFile)`);
    if (id.notAfterMs <= this.deps.clock.nowMs()) throw new UnauthenticatedError(`certificate ${id.serial} of ${id.kind} ${JSON.stringify(id.name)} expired at ${new Date(id.notAfterMs).toISOString()}`);
    return { kind: id.kind, name: id.name, groups: [...id.groups], via: 'certificate', serial: id.serial, expiresMs: id.notAfterMs };
  }

  private async fromToken(values: Array<string | Buffer>): Promise<Identity> {
    if (values.length > 1) throw new UnauthenticatedError('the call carries several authorization entries; send one bearer token');
    const value = values[0]!.toString();
    if (value.length > MAX_TOKEN_BYTES) throw new UnauthenticatedError(`the authorization entry is longer than ${MAX_TOKEN_BYTES} bytes`);
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
    if (!m) throw new UnauthenticatedError('the authorization entry is not "Bearer <JWT>"');
    if (!this.tokens) throw new UnauthenticatedError('bearer tokens are not accepted: auth.tokens.issuer is not set on the scheduler');
    return this.tokens.verify(m[1]!);
  }

  private readRevoked(): { serials: Set<string>; errors: string[] } {
    const file = this.opts.auth.revokedSerialsFile;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError('auth.revokedSerialsFile', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
    }
    return parseRevokedSerials(text);
  }

  /**
   * Re-reads the revoked list and the token keys (SIGHUP). Never throws: what cannot be read is
   * reported, logged and left as it was; bad lines of the revoked list are skipped (the good ones
   * still count). onRevoked listeners then get the revoked set.
   */
  reload(): ReloadReport {
    const report: ReloadReport = { revoked: { count: this.revoked.size, skipped: [] }, tokens: { source: this.tokens?.keySource ?? '' } };
    if (this.opts.auth.revokedSerialsFile) {
      try {
        const { serials, errors } = this.readRevoked();
        this.revoked = serials;
        report.revoked = { count: serials.size, skipped: errors };
        for (const err of errors) this.deps.log.error({ file: this.opts.auth.revokedSerialsFile }, `auth.revokedSerialsFile: ${err}; the line is skipped`);
      } catch (e) {
        report.revoked.error = (e as Error).message;
        this.deps.log.error({ err: (e as Error).message }, 'the revoked serials could not be re-read; the previous list stays in force');
      }
    }
    if (this.tokens) {
      try {
        this.tokens.reload();
      } catch (e) {
        report.tokens.error = (e as Error).message;
        this.deps.log.error({ err: (e as Error).message }, 'the token keys could not be re-read; the previous keys stay in use');
      }
    }
    for (const l of this.revokedListeners) {
      try {
        l(this.revoked);
      } catch (e) {
        this.deps.log.error({ err: e }, 'an onRevoked listener failed');
      }
    }
    return report;
  }
}
