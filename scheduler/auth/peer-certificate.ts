/**
 * Who is calling, from the TLS peer certificate alone: the minimal authenticator the agent
 * service needs. A certificate the TLS layer verified against grpc.tls.caFile names a node
 * (URI SAN urn:gantry:node:<name>) or a user (CN, O = groups); with none, the caller is anonymous
 * on a plaintext server (grpc.insecure) and unauthenticated otherwise. It knows no bearer tokens
 * and no revoked serials: the full authenticator (authn.ts) has this shape and replaces it.
 */
import type { Metadata } from '@grpc/grpc-js';
import { UnauthenticatedError } from '../../shared/errors/index.js';
import { certificateIdentity } from '../../shared/pki/index.js';
import { ANONYMOUS, type Identity } from './policy.js';

/** What an authenticator reads of a call (grpc-js server calls have these). */
export interface CallCredentials {
  /** grpc-js fills sslPeerCertificate only for a certificate that passed verification. */
  getAuthContext(): { sslPeerCertificate?: { raw?: Buffer } } | null;
  metadata: Metadata;
  getPeer(): string;
}

export interface CallAuthenticator {
  /** The verified identity of the caller; rejects with UnauthenticatedError when it has none it may use. */
  identify(call: CallCredentials): Promise<Identity>;
}

/** `insecure`: the server is plaintext (grpc.insecure), where a call with no credential is anonymous. */
export function peerCertificateAuthenticator(opts: { insecure: boolean }): CallAuthenticator {
  return {
    identify(call) {
      const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
      if (raw) {
        const id = certificateIdentity(raw);
        if ('error' in id) return Promise.reject(new UnauthenticatedError(id.error));
        return Promise.resolve({ kind: id.kind, name: id.name, groups: id.groups, via: 'certificate', serial: id.serial, expiresMs: id.notAfterMs });
      }
      if (call.metadata.get('authorization').length > 0) {
        return Promise.reject(new UnauthenticatedError('bearer tokens are not accepted by this scheduler; present a client certificate'));
      }
      if (opts.insecure) return Promise.resolve(ANONYMOUS);
      return Promise.reject(new UnauthenticatedError('no client certificate: present one issued by the CA in grpc.tls.caFile'));
    },
  };
}
