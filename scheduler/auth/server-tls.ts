/**
 * The scheduler's TLS material (grpc.tls.{caFile,certFile,keyFile}) as grpc-js certificate
 * providers, so a renewed server certificate, key or CA is served without a restart: `reload()`
 * (SIGHUP) reads the files again, checks them the way the TLS layer will use them, and pushes them
 * to the server; new handshakes use them, open connections keep theirs. Bad files on reload are
 * refused (ConfigError) and the material in use stays: the server never ends up with nothing to
 * serve.
 *
 * grpc-js notes (1.14): createCertificateProviderServerCredentials takes the identity provider
 * first and the CA provider second, whatever its parameter names say; with a CA provider the
 * server asks every client for a certificate (and refuses the handshake of one without a valid one
 * only with requireClientCert); without one (caFile '') it asks for none and users authenticate
 * with tokens. The server only learns the material through a listener added when it starts
 * listening, after it has read the (then empty) options: the first update must reach a listener
 * after that (or it is lost and every connection is dropped) but before the first connection is
 * accepted (or that one is dropped): a microtask.
 */
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { readTlsFiles, type ServerTlsOptions } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';

type CertificateProvider = grpc.experimental.CertificateProvider;
type CaCertificateUpdate = grpc.experimental.CaCertificateUpdate;
type IdentityCertificateUpdate = grpc.experimental.IdentityCertificateUpdate;

/** One kind of update (CA or identity) and the listeners grpc-js registered for it. */
class Feed<U> {
  private readonly listeners = new Set<(u: U | null) => void>();
  constructor(private current: U) {}

  add(l: (u: U | null) => void): void {
    this.listeners.add(l);
    // After grpc-js has registered its watcher (it adds ours first), before any connection is accepted.
    queueMicrotask(() => {
      if (this.listeners.has(l)) l(this.current);
    });
  }

  remove(l: (u: U | null) => void): void {
    this.listeners.delete(l);
  }

  push(u: U): void {
    this.current = u;
    for (const l of this.listeners) l(u);
  }
}

/** What the server presents, for logs: the certificate's serial, subject and end of validity. */
export interface ServedCertificate {
  serial: string;
  subject: string;
  validTo: string;
}

interface Material {
  ca: Buffer | null;
  cert: Buffer;
  key: Buffer;
  served: ServedCertificate;
}

export class ServerTlsMaterial {
  private readonly identityFeed: Feed<IdentityCertificateUpdate>;
  private readonly caFeed: Feed<CaCertificateUpdate> | null;
  private material: Material;

  /** Reads and checks the files; ConfigError naming the key when one is missing, unreadable or bad. */
  constructor(
    private readonly tls: ServerTlsOptions,
    private readonly keyPrefix: string,
  ) {
    if (!tls.certFile) throw new ConfigError(`${keyPrefix}.certFile`, 'is required unless grpc.insecure is true');
    if (!tls.keyFile) throw new ConfigError(`${keyPrefix}.keyFile`, 'is required unless grpc.insecure is true');
    if (tls.requireClientCert && !tls.caFile) throw new ConfigError(`${keyPrefix}.caFile`, 'is required to verify client certificates');
    this.material = this.read();
    this.identityFeed = new Feed({ certificate: this.material.cert, privateKey: this.material.key });
    this.caFeed = this.material.ca ? new Feed({ caCertificate: this.material.ca }) : null;
  }

  get served(): ServedCertificate {
    return this.material.served;
  }

  /** Whether client certificates are asked for (a CA is configured). */
  get verifiesClients(): boolean {
    return this.caFeed !== null;
  }

  private read(): Material {
    const k = this.keyPrefix;
    const files = readTlsFiles(this.tls, k);
    if (files.ca) {
      try {
        createSecureContext({ ca: files.ca });
        new X509Certificate(files.ca);
      } catch (e) {
        throw new ConfigError(`${k}.caFile`, `${this.tls.caFile} holds no usable PEM CA certificate: ${(e as Error).message}`, { cause: e });
      }
    }
    let served: ServedCertificate;
    try {
      const c = new X509Certificate(files.cert!);
      served = { serial: c.serialNumber.toUpperCase(), subject: c.subject.replace(/\n/g, ', '), validTo: new Date(c.validTo).toISOString() };
    } catch (e) {
      throw new ConfigError(`${k}.certFile`, `${this.tls.certFile} holds no PEM certificate: ${(e as Error).message}`, { cause: e });
    }
    try {
      createSecureContext({ cert: files.cert!, key: files.key! });
    } catch (e) {
      throw new ConfigError(`${k}.keyFile`, `${this.tls.keyFile} is not the private key of ${this.tls.certFile}, or not a PEM key: ${(e as Error).message}`, { cause: e });
    }
    return { ca: files.ca, cert: files.cert!, key: files.key!, served };
  }

  /**
   * Reads the same files again and serves them to new handshakes. Throws ConfigError (and keeps
   * serving the old material) when one is bad. The paths are the config's at start.
   */
  reload(): ServedCertificate {
    const m = this.read();
    this.material = m;
    this.identityFeed.push({ certificate: m.cert, privateKey: m.key });
    if (this.caFeed && m.ca) this.caFeed.push({ caCertificate: m.ca });
    return m.served;
  }

  private provider(): CertificateProvider {
    const id = this.identityFeed;
    const ca = this.caFeed;
    return {
      addIdentityCertificateListener: (l) => id.add(l),
      removeIdentityCertificateListener: (l) => id.remove(l),
      addCaCertificateListener: (l) => ca?.add(l),
      removeCaCertificateListener: (l) => ca?.remove(l),
    };
  }

  /** Server credentials fed by this material (one object per server: grpc-js keys listeners by it). */
  credentials(): grpc.ServerCredentials {
    const p = this.provider();
    return grpc.experimental.createCertificateProviderServerCredentials(p, this.caFeed ? p : null, this.tls.requireClientCert);
  }
}
