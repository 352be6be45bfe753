/**
 * Bearer tokens (`authorization: Bearer <JWT>`), verified with jose: the signature against the
 * issuer's keys (PEM files, a local JWKS file or the issuer's JWKS URL: exactly one of them), then
 * iss, aud (when configured), exp (required) and nbf with the configured clock tolerance. The user
 * is the usernameClaim, its groups the groupsClaim. A shell: it reads key files and may fetch the
 * JWKS; the clock is injected.
 */
import { createPublicKey } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, importSPKI, jwtVerify, type CryptoKey, type JWTPayload, type KeyObject, type ProtectedHeaderParameters } from 'jose';
import type { Clock } from '../../shared/clock/index.js';
import { readConfigFile } from '../../shared/config/index.js';
import { ConfigError, UnauthenticatedError, UnavailableError } from '../../shared/errors/index.js';
import type { AuthConfig } from './config.js';
import type { Identity } from './policy.js';

export type TokenOptions = AuthConfig['tokens'];

/** Asymmetric JWS algorithms only: a shared secret (HS*) or `none` would let anyone holding the verifying material sign. */
const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);

/** The names a certificate or token may give a caller: 1-253 characters, no control characters, no blanks at the ends. */
export function validIdentityName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 253 && name.trim() === name && !/[\u0000-\u001f\u007f]/.test(name);
}

type VerifyKey = CryptoKey | KeyObject;
type JwksFn = (header: ProtectedHeaderParameters, token: { payload: string; signature: string }) => Promise<VerifyKey>;

/** Where the keys come from; loaded (files read) by TokenVerifier.load, swapped whole on reload. */
type KeySource =
  | { kind: 'pem'; keys: Array<{ file: string; pem: string; byAlg: Map<string, Promise<CryptoKey | null>> }> }
  | { kind: 'jwks'; remote: boolean; jwks: JwksFn };

function isJose(e: unknown, code: string): boolean {
  return e instanceof errors.JOSEError && e.code === code;
}

export class TokenVerifier {
  private source: KeySource;

  private constructor(
    private readonly opts: TokenOptions,
    private readonly clock: Clock,
  ) {
    this.source = this.load();
  }

  /**
   * The verifier for the `auth.tokens` block, or null when tokens are off (issuer ''). Throws
   * ConfigError naming the key: no key source or more than one, a key source without an issuer,
   * an unreadable or unparsable key file, a symmetric or unknown algorithm.
   */
  static create(opts: TokenOptions, clock: Clock): TokenVerifier | null {
    const sources = TokenVerifier.sourceKeys(opts);
    if (!opts.issuer) {
      if (sources.length > 0) throw new ConfigError(`auth.tokens.${sources[0]}`, 'is set but auth.tokens.issuer is empty, so tokens are off; set the issuer or clear this key');
      return null;
    }
    if (sources.length === 0) throw new ConfigError('auth.tokens.issuer', 'needs exactly one key source: auth.tokens.jwksUrl, auth.tokens.jwksFile or auth.tokens.publicKeyFiles');
    if (sources.length > 1) throw new ConfigError(`auth.tokens.${sources[1]}`, `choose one key source; auth.tokens.${sources[0]} is set too`);
    if (opts.algorithms.length === 0) throw new ConfigError('auth.tokens.algorithms', 'must list at least one algorithm');
    for (const a of opts.algorithms) {
      if (!ASYMMETRIC.has(a)) throw new ConfigError('auth.tokens.algorithms', `${JSON.stringify(a)} is not an accepted algorithm; use ${[...ASYMMETRIC].join(', ')}`);
    }
    return new TokenVerifier(opts, clock);
  }

  private static sourceKeys(opts: TokenOptions): string[] {
    const set: Array<[string, boolean]> = [['jwksUrl', opts.jwksUrl !== ''], ['jwksFile', opts.jwksFile !== ''], ['publicKeyFiles', opts.publicKeyFiles.length > 0]];
    return set.filter(([, on]) => on).map(([k]) => k);
  }

  /** What `reload` re-reads, in words (for the SIGHUP log line). */
  get keySource(): string {
    if (this.opts.jwksUrl) return `jwksUrl ${this.opts.jwksUrl}`;
    if (this.opts.jwksFile) return `jwksFile ${this.opts.jwksFile}`;
    return `publicKeyFiles ${this.opts.publicKeyFiles.join(', ')}`;
  }

  /** Re-reads the key files (and forgets the JWKS URL's cached keys). Throws ConfigError and keeps the old keys when a file is bad. */
  reload(): void {
    this.source = this.load();
  }

  private load(): KeySource {
    const o = this.opts;
    if (o.jwksUrl) {
      let url: URL;
      try {
        url = new URL(o.jwksUrl);
      } catch {
        throw new ConfigError('auth.tokens.jwksUrl', `${JSON.stringify(o.jwksUrl)} is not a URL`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('auth.tokens.jwksUrl', 'must be an https:// (or http://) URL');
      return { kind: 'jwks', remote: true, jwks: createRemoteJWKSet(url) as JwksFn };
    }
    if (o.jwksFile) {
      const text = readConfigFile(o.jwksFile, 'auth.tokens.jwksFile').toString('utf8');
      try {
        return { kind: 'jwks', remote: false, jwks: createLocalJWKSet(JSON.parse(text)) as JwksFn };
      } catch (e) {
        throw new ConfigError('auth.tokens.jwksFile', `${o.jwksFile} is not a JSON Web Key Set: ${(e as Error).message}`, { cause: e });
      }
    }
    return {
      kind: 'pem',
      keys: o.publicKeyFiles.map((file, i) => {
        const key = `auth.tokens.publicKeyFiles[${i}]`;
        const pem = readConfigFile(file, key).toString('utf8');
        if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new ConfigError(key, `${file} holds a private key; give the issuer's public key (PEM SPKI, BEGIN PUBLIC KEY)`);
        try {
          if (!pem.includes('-----BEGIN PUBLIC KEY-----')) throw new Error('no BEGIN PUBLIC KEY block');
          createPublicKey(pem);
        } catch (e) {
          throw new ConfigError(key, `${file} is not a PEM public key (SPKI): ${(e as Error).message}`, { cause: e });
        }
        return { file, pem, byAlg: new Map() };
      }),
    };
  }

  /** The keys that may have signed a token with this header, in the configured order. */
  private async *candidates(header: ProtectedHeaderParameters): AsyncGenerator<VerifyKey> {
    const src = this.source;
    const alg = header.alg!;
    if (src.kind === 'pem') {
      for (const k of src.keys) {
        let imported = k.byAlg.get(alg);
        if (!imported) {
          // A key of another type than the algorithm's cannot be imported for it: not a candidate.
          imported = importSPKI(k.pem, alg).catch(() => null);
          k.byAlg.set(alg, imported);
        }
        const key = await imported;
        if (key) yield key;
      }
      return;
    }
    let key: VerifyKey;
    try {
      key = await src.jwks(header, { payload: '', signature: '' });
    } catch (e) {
      if (isJose(e, 'ERR_JWKS_MULTIPLE_MATCHING_KEYS')) {
        for await (const k of e as unknown as AsyncIterable<VerifyKey>) yield k;
        return;
      }
      if (isJose(e, 'ERR_JWKS_NO_MATCHING_KEY') || isJose(e, 'ERR_JOSE_NOT_SUPPORTED')) return;
      if (src.remote) throw new UnavailableError(`cannot fetch the token issuer's keys from ${this.opts.jwksUrl}: ${(e as Error).message}`, { cause: e });
      throw e;
    }
    yield key;
  }

  /** The user a bearer token names; UnauthenticatedError saying why it is refused. */
  async verify(token: string): Promise<Identity> {
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new UnauthenticatedError('the bearer token is not a JWT (header.payload.signature)');
    }
    const alg = header.alg;
    if (typeof alg !== 'string' || !this.opts.algorithms.includes(alg)) {
      throw new UnauthenticatedError(`the bearer token is signed with ${JSON.stringify(alg)}; auth.tokens.algorithms accepts ${this.opts.algorithms.join(', ')}`);
    }
    const options = {
      issuer: this.opts.issuer,
      ...(this.opts.audience ? { audience: this.opts.audience } : {}),
      algorithms: this.opts.algorithms,
      clockTolerance: this.opts.clockToleranceSec,
      currentDate: new Date(this.clock.nowMs()),
      requiredClaims: ['exp'],
    };
    let tried = 0;
    for await (const key of this.candidates(header)) {
      tried++;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key, options));
      } catch (e) {
        // Another key may have signed it; a claim failure comes only after the signature verified.
        if (isJose(e, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') || e instanceof TypeError) continue;
        throw this.refusal(e);
      }
      return this.identity(payload);
    }
    const kid = typeof header.kid === 'string' ? `, kid ${JSON.stringify(header.kid)}` : '';
    if (tried === 0) throw new UnauthenticatedError(`no key of the token issuer fits the bearer token (${alg}${kid}; ${this.keySource})`);
    throw new UnauthenticatedError(`the bearer token's signature does not verify with the token issuer's keys (${alg}${kid}; ${this.keySource})`);
  }

  private identity(payload: JWTPayload): Identity {
    const name = payload[this.opts.usernameClaim];
    if (!validIdentityName(name)) {
      throw new UnauthenticatedError(`the bearer token's ${this.opts.usernameClaim} claim (auth.tokens.usernameClaim) is not a user name: 1-253 characters, no control characters`);
    }
    const raw = payload[this.opts.groupsClaim];
    if (raw !== undefined && !(Array.isArray(raw) && raw.every(validIdentityName))) {
      throw new UnauthenticatedError(`the bearer token's ${this.opts.groupsClaim} claim (auth.tokens.groupsClaim) is not a list of group names`);
    }
    const groups = (raw as string[] | undefined) ?? [];
    return { kind: 'user', name, groups: [...new Set(groups)], via: 'token', expiresMs: payload.exp! * 1000 };
  }

  private refusal(e: unknown): Error {
    if (e instanceof errors.JWTExpired) {
      const exp = typeof e.payload.exp === 'number' ? ` at ${new Date(e.payload.exp * 1000).toISOString()}` : '';
      return new UnauthenticatedError(`the bearer token expired${exp}`);
    }
    if (e instanceof errors.JWTClaimValidationFailed) {
      const got = (k: string): string => JSON.stringify(e.payload[k] ?? null);
      switch (e.claim) {
        case 'iss':
          return new UnauthenticatedError(`the bearer token's issuer is ${got('iss')}, not ${JSON.stringify(this.opts.issuer)} (auth.tokens.issuer)`);
        case 'aud':
          return new UnauthenticatedError(`the bearer token's audience is ${got('aud')}, not ${JSON.stringify(this.opts.audience)} (auth.tokens.audience)`);
        case 'nbf':
          return new UnauthenticatedError(`the bearer token is not valid before ${typeof e.payload.nbf === 'number' ? new Date(e.payload.nbf * 1000).toISOString() : got('nbf')}`);
        case 'exp':
          return new UnauthenticatedError('the bearer token has no valid exp claim; tokens must expire');
        default:
          return new UnauthenticatedError(`the bearer token's ${e.claim} claim is refused: ${e.message}`);
      }
    }
    if (e instanceof UnavailableError) return e;
    if (e instanceof errors.JOSEError) return new UnauthenticatedError(`the bearer token is refused: ${e.message}`);
    return new UnauthenticatedError(`the bearer token is refused: ${e instanceof Error ? e.message : String(e)}`);
  }
}
