/** The per-caller token bucket and the request strings' bounds (pure; time comes in as an argument). */
import t from 'tap';
import { RateLimiter, peerAddress } from '../../../scheduler/api/rate-limit.js';
import { checkRequestStrings } from '../../../scheduler/api/request-limits.js';
import { rateKey } from '../../../scheduler/api/authz.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { ANONYMOUS, type Identity } from '../../../scheduler/auth/index.js';

t.test('a bucket allows its burst, then refuses with the wait for one token, then refills', async (t) => {
  const rl = new RateLimiter({ requestsPerSecond: 10, burst: 3 });
  for (let i = 0; i < 3; i++) t.same(rl.take('alice', 1000), { allowed: true }, `burst call ${i + 1}`);
  t.same(rl.take('alice', 1000), { allowed: false, retryAfterMs: 100 }, 'the 4th waits 100 ms (10 per second)');
  t.same(rl.take('bob', 1000), { allowed: true }, 'another caller has its own bucket');
  t.same(rl.take('alice', 1050), { allowed: false, retryAfterMs: 50 }, 'half a token later: 50 ms more');
  t.same(rl.take('alice', 1100), { allowed: true }, 'one token after 100 ms');
  t.same(rl.take('alice', 1100), { allowed: false, retryAfterMs: 100 });
  t.same(rl.take('alice', 60_000), { allowed: true }, 'idle: refilled');
  for (let i = 0; i < 2; i++) t.same(rl.take('alice', 60_000), { allowed: true });
  t.equal(rl.take('alice', 60_000).allowed, false, 'never more than the burst, however long idle');
  t.same(rl.take('alice', 59_000), { allowed: false, retryAfterMs: 100 }, 'a clock going back adds nothing');
});

t.test('0 requests per second: no limit', async (t) => {
  const rl = new RateLimiter({ requestsPerSecond: 0, burst: 1 });
  t.equal(rl.enabled, false);
  for (let i = 0; i < 100; i++) t.equal(rl.take('x', 0).allowed, true);
  t.equal(rl.size, 0, 'keeps no buckets');
});

t.test('buckets are bounded: idle ones go first', async (t) => {
  const rl = new RateLimiter({ requestsPerSecond: 1, burst: 1, maxKeys: 100 });
  for (let i = 0; i < 1000; i++) rl.take(`addr-${i}`, i * 10);
  t.ok(rl.size <= 100, `at most maxKeys buckets (${rl.size})`);
  t.equal(rl.take('addr-999', 9990).allowed, false, 'the latest caller keeps its (empty) bucket');
});

t.test('keys: the verified identity, or the address of the anonymous caller', async (t) => {
  const alice: Identity = { kind: 'user', name: 'alice', groups: [], via: 'certificate' };
  t.equal(rateKey(alice, 'ipv4:10.0.0.5:4711'), 'user:alice', 'one bucket for alice from every address');
  t.equal(rateKey(ANONYMOUS, 'ipv4:10.0.0.5:4711'), 'address:10.0.0.5');
  t.equal(rateKey(ANONYMOUS, '10.0.0.6:80'), 'address:10.0.0.6');
  t.equal(peerAddress('ipv6:[::1]:4711'), '::1');
  t.equal(peerAddress('[fe80::1]:1'), 'fe80::1');
  t.equal(peerAddress('unix:/run/x.sock'), 'unix:/run/x.sock');
});

t.test('request strings: size and control characters, naming the proto field', async (t) => {
  const refused = (req: Record<string, unknown>, field: string, message: RegExp): void => {
    try {
      checkRequestStrings(req);
      t.fail(`accepted ${field}`);
    } catch (e) {
      t.type(e, InvalidArgumentError);
      t.equal((e as InvalidArgumentError).field, field);
      t.match((e as Error).message, message);
    }
  };
  refused({ spec: 'x', owner: 'o'.repeat(1024 * 1024) }, 'owner', /longer than 253 bytes \(1048576 characters\)/);
  refused({ owner: 'é'.repeat(200) }, 'owner', /longer than 253 bytes/);
  refused({ owner: 'eve\nroot' }, 'owner', /control characters \(found U\+000A at 3\)/);
  refused({ jobId: 'j\u0000' }, 'job_id', /U\+0000/);
  refused({ name: 'n', reason: '\u001b[31m' }, 'reason', /U\+001B/);
  refused({ reason: 'r'.repeat(1025) }, 'reason', /longer than 1024 bytes/);
  t.doesNotThrow(() => checkRequestStrings({ spec: 'x'.repeat(2000) + '\n', owner: 'alice', reason: 'r'.repeat(1024), rank: 3 }), 'the spec (own limits), numbers and values in bounds pass');
});
