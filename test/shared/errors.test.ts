import t from 'tap';
import { InvalidArgumentError, ConfigError, isGantryError } from '../../shared/errors/index.js';

t.test('errors carry stable codes and name the field', async (t) => {
  const e = new InvalidArgumentError('spec.ranks', 'must be a positive integer');
  t.equal(e.code, 'INVALID_ARGUMENT');
  t.match(e.message, /^spec\.ranks: /);
  t.ok(isGantryError(e));
  const c = new ConfigError('scheduler.grpcPort', 'must be 1-65535', { cause: new Error('x') });
  t.equal(c.code, 'CONFIG_INVALID');
  t.match(c.message, /scheduler\.grpcPort/);
  t.ok(c.cause instanceof Error);
  t.notOk(isGantryError(new Error('plain')));
});
