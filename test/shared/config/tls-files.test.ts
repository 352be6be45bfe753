/** readTlsFiles / readConfigFile: the one reader of the files a tls block names, for the scheduler's server, the agent's channel and NATS. */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readConfigFile, readTlsFiles } from '../../../shared/config/index.js';
import { ConfigError } from '../../../shared/errors/index.js';
import { serverCredentials } from '../../../scheduler/api/server.js';
import { channelCredentials } from '../../../agent/reporter/index.js';
import { natsConnectionOptions, natsClientShape } from '../../../shared/natsconn/index.js';
import { z } from 'zod';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gantry-tls-files-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const ca = file('ca.pem', 'CA PEM\n');
const cert = file('cert.pem', 'CERT PEM\n');
const key = file('key.pem', 'KEY PEM\n');
const missing = path.join(dir, 'nope.pem');

/** The ConfigError fn throws (a failed check, not a crash, when it throws something else or nothing). */
function configErrorOf(fn: () => unknown): ConfigError | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
  }
  return undefined;
}

t.test('reads each file that is set, leaves the others null', async (t) => {
  const all = readTlsFiles({ caFile: ca, certFile: cert, keyFile: key }, 'grpc.tls');
  t.same([all.ca?.toString(), all.cert?.toString(), all.key?.toString()], ['CA PEM\n', 'CERT PEM\n', 'KEY PEM\n']);
  t.same(readTlsFiles({ caFile: ca, certFile: '', keyFile: '' }, 'grpc.tls'), { ca: Buffer.from('CA PEM\n'), cert: null, key: null });
  t.same(readTlsFiles({ caFile: '', certFile: '', keyFile: '' }, 'grpc.tls'), { ca: null, cert: null, key: null });
});

interface Case {
  name: string;
  paths: { caFile: string; certFile: string; keyFile: string };
  key: string;
  message: RegExp;
}

const cases: Case[] = [
  { name: 'missing CA', paths: { caFile: missing, certFile: cert, keyFile: key }, key: 'scheduler.tls.caFile', message: /cannot read .*nope\.pem: ENOENT/ },
  { name: 'missing certificate', paths: { caFile: ca, certFile: missing, keyFile: key }, key: 'scheduler.tls.certFile', message: /cannot read .*nope\.pem/ },
  { name: 'missing key', paths: { caFile: '', certFile: cert, keyFile: missing }, key: 'scheduler.tls.keyFile', message: /cannot read .*nope\.pem/ },
  { name: 'a folder, not a file', paths: { caFile: dir, certFile: '', keyFile: '' }, key: 'scheduler.tls.caFile', message: /EISDIR/ },
  { name: 'certificate without key', paths: { caFile: '', certFile: cert, keyFile: '' }, key: 'scheduler.tls.keyFile', message: /certFile and keyFile go together/ },
  { name: 'key without certificate', paths: { caFile: '', certFile: '', keyFile: key }, key: 'scheduler.tls.certFile', message: /certFile and keyFile go together/ },
];

for (const c of cases) {
  t.test(`${c.name}: a ConfigError naming ${c.key}`, async (t) => {
    const err = configErrorOf(() => readTlsFiles(c.paths, 'scheduler.tls'));
    t.equal(err?.key, c.key);
    t.match(err?.message, new RegExp(`^config ${c.key.replace(/\./g, '\\.')}: `));
    t.match(err?.message, c.message);
  });
}

t.test('readConfigFile names the key', async (t) => {
  t.equal(readConfigFile(key, 'nats.credsFile').toString(), 'KEY PEM\n');
  const err = configErrorOf(() => readConfigFile(missing, 'nats.credsFile'));
  t.equal(err?.key, 'nats.credsFile');
  t.match(err?.message, /^config nats\.credsFile: cannot read /);
});

t.test('the scheduler, the agent and NATS report a missing file under their own key', async (t) => {
  const tls = { caFile: missing, certFile: cert, keyFile: key, requireClientCert: false };
  t.equal(configErrorOf(() => serverCredentials(false, tls, 'grpc.tls'))?.key, 'grpc.tls.caFile');
  t.equal(configErrorOf(() => channelCredentials(false, { caFile: missing, certFile: cert, keyFile: key }, 'scheduler.tls'))?.key, 'scheduler.tls.caFile');
  const nats = z.strictObject(natsClientShape).parse({ tls: { caFile: missing } });
  t.equal(configErrorOf(() => natsConnectionOptions(nats, 'test'))?.key, 'nats.tls.caFile');
  const noKey = configErrorOf(() => serverCredentials(false, { ...tls, caFile: ca, keyFile: '' }, 'grpc.tls'));
  t.equal(noKey?.key, 'grpc.tls.keyFile', 'the server still requires a key before reading anything');
  t.match(noKey?.message, /is required unless grpc.insecure is true/);
});
