/** The PKI `gantry certs` and the tests use: real certificates, checked by a real TLS handshake. */
import t from 'tap';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { certificateIdentity, subjectAltNames } from '../../../shared/pki/index.js';
import { createCa, issueCert, loadCa } from '../../../shared/certgen/index.js';

/** A TLS server that requires a client certificate from `ca`: the client's certificate as the server saw it, or the error. */
async function handshake(ca: string, server: { cert: string; key: string }, client: { cert: string; key: string }): Promise<tls.PeerCertificate | Error> {
  const srv = tls.createServer({ ca, cert: server.cert, key: server.key, requestCert: true, rejectUnauthorized: true }, (s) => s.end());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  try {
    return await new Promise<tls.PeerCertificate | Error>((resolve) => {
      srv.once('secureConnection', (s) => resolve(s.getPeerCertificate()));
      srv.once('tlsClientError', (e) => resolve(e));
      const c = tls.connect({ port, host: '127.0.0.1', ca, cert: client.cert, key: client.key, servername: 'localhost' });
      c.on('error', () => undefined);
      c.on('close', () => setTimeout(() => resolve(new Error('closed before the server decided')), 1000).unref());
    });
  } finally {
    srv.close();
  }
}

t.test('node and user certificates verify against their CA and name who they are', async (t) => {
  const ca = await createCa('test-ca');
  const server = await issueCert(ca, { kind: 'server', name: 'gantry-scheduler', hosts: ['localhost', '127.0.0.1'] });
  const node = await issueCert(ca, { kind: 'node', node: 'gpu-07.rack2' });
  const user = await issueCert(ca, { kind: 'user', user: 'alice', groups: ['ml', 'research, west'] });

  const nodePeer = await handshake(ca.cert, server, node);
  t.notOk(nodePeer instanceof Error, 'the node certificate passes a TLS handshake that verifies clients');
  t.same(certificateIdentity((nodePeer as tls.PeerCertificate).raw), { kind: 'node', name: 'gpu-07.rack2', groups: [], serial: node.serial, notAfterMs: (certificateIdentity(node.cert) as { notAfterMs: number }).notAfterMs });
  const userId = certificateIdentity(user.cert);
  t.match(userId, { kind: 'user', name: 'alice', groups: ['ml', 'research, west'], serial: user.serial });

  const other = await createCa('another-ca');
  const stranger = await issueCert(other, { kind: 'node', node: 'gpu-07.rack2' });
  t.ok((await handshake(ca.cert, server, stranger)) instanceof Error, 'a certificate from another CA is refused');

  const id = certificateIdentity(server.cert);
  t.match(id, { error: /not for client authentication/ }, "the scheduler's server certificate names no caller");

  const again = await loadCa(ca.cert, ca.key);
  const later = await issueCert(again, { kind: 'user', user: 'bob', groups: [] });
  t.notOk((await handshake(ca.cert, server, later)) instanceof Error, 'a loaded CA issues certificates that verify');
});

t.test('SAN text, quoted values included', async (t) => {
  t.same(subjectAltNames('DNS:a.example, URI:urn:gantry:node:n1, IP Address:127.0.0.1'), [
    { type: 'DNS', value: 'a.example' },
    { type: 'URI', value: 'urn:gantry:node:n1' },
    { type: 'IP Address', value: '127.0.0.1' },
  ]);
  t.same(subjectAltNames('URI:"urn:x,y", DNS:b'), [{ type: 'URI', value: 'urn:x,y' }, { type: 'DNS', value: 'b' }]);
  t.same(subjectAltNames(undefined), []);
});
