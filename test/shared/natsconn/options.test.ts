/** natsConnectionOptions against real nats-servers: user/pass, nkey, TLS; and config errors naming the key. */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect, nkeys } from 'nats';
import { z } from 'zod';
import { natsClientShape, natsConnectionOptions } from '../../../shared/natsconn/index.js';
import { ConfigError } from '../../../shared/errors/index.js';
import { makeTestCerts, startNats, tempDir } from '../../harness/cluster.js';

const schema = z.strictObject(natsClientShape);
const cfg = (v: Record<string, unknown>) => schema.parse(v);

async function canConnect(opts: ReturnType<typeof natsConnectionOptions>): Promise<boolean> {
  try {
    const nc = await connect({ ...opts, reconnect: false, timeout: 3000 });
    await nc.flush();
    await nc.close();
    return true;
  } catch {
    return false;
  }
}

t.test('user and password', async (t) => {
  const nats = await startNats(t, ['--user', 'gantry', '--pass', 's3cret']);
  t.ok(await canConnect(natsConnectionOptions(cfg({ servers: nats.url, user: 'gantry', pass: 's3cret' }), 'test')), 'right password connects');
  t.notOk(await canConnect(natsConnectionOptions(cfg({ servers: nats.url, user: 'gantry', pass: 'wrong' }), 'test')), 'wrong password is refused');
  t.notOk(await canConnect(natsConnectionOptions(cfg({ servers: nats.url }), 'test')), 'no credentials are refused');
});

t.test('nkey seed file', async (t) => {
  const dir = tempDir(t, 'gantry-nkey-');
  const user = nkeys.createUser();
  const other = nkeys.createUser();
  const conf = path.join(dir, 'server.conf');
  writeFileSync(conf, `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n`);
  const seed = path.join(dir, 'user.nk');
  writeFileSync(seed, new TextDecoder().decode(user.getSeed()) + '\n');
  const otherSeed = path.join(dir, 'other.nk');
  writeFileSync(otherSeed, new TextDecoder().decode(other.getSeed()));
  const nats = await startNats(t, ['-c', conf]);
  t.ok(await canConnect(natsConnectionOptions(cfg({ servers: nats.url, nkeySeedFile: seed }), 'test')), 'the authorized nkey connects');
  t.notOk(await canConnect(natsConnectionOptions(cfg({ servers: nats.url, nkeySeedFile: otherSeed }), 'test')), 'another nkey is refused');
});

t.test('TLS verified against a CA', async (t) => {
  const c = await makeTestCerts(t);
  const nats = await startNats(t, ['--tls', '--tlscert', c.cert, '--tlskey', c.key]);
  t.ok(await canConnect(natsConnectionOptions(cfg({ servers: nats.url, tls: { enabled: true, caFile: c.ca } }), 'test')), 'trusting the CA connects');
  t.notOk(await canConnect(natsConnectionOptions(cfg({ servers: nats.url, tls: { enabled: true } }), 'test')), 'without the CA the certificate is refused');
});

t.test('config errors name the key', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ user: 'a', token: 'b' }, 'nats.token'],
    [{ nkeySeedFile: '/nonexistent/seed.nk' }, 'nats.nkeySeedFile'],
    [{ credsFile: '/nonexistent/user.creds' }, 'nats.credsFile'],
    [{ tls: { certFile: '/x.crt' } }, 'nats.tls.keyFile'],
    [{ tls: { enabled: true, caFile: '/nonexistent/ca.crt' } }, 'nats.tls.caFile'],
  ];
  for (const [v, key] of cases) {
    try {
      natsConnectionOptions(cfg(v), 'test');
      t.fail(`${JSON.stringify(v)} should be refused`);
    } catch (e) {
      t.ok(e instanceof ConfigError, `${key}: a ConfigError`);
      t.equal((e as ConfigError).key, key, `names ${key}`);
    }
  }
});
