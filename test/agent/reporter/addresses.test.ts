/** Which scheduler address the reporter dials next (agent/reporter/addresses.ts). */
import { Metadata } from '@grpc/grpc-js';
import t from 'tap';
import { leaderFromMetadata, nextAddressIndex } from '../../../agent/reporter/addresses.js';

t.test('the named leader when it is in the list, else the next address, round', async (t) => {
  const list = ['a:1', 'b:2', 'c:3'];
  t.equal(nextAddressIndex(list, 0, 'c:3'), 2, 'the leader a standby named');
  t.equal(nextAddressIndex(list, 0, 'z:9'), 1, 'a leader not in the list: the next address');
  t.equal(nextAddressIndex(list, 1, ''), 2, 'no leader named: the next address');
  t.equal(nextAddressIndex(list, 2, ''), 0, 'round');
  t.equal(nextAddressIndex(['a:1'], 0, ''), 0, 'one address: always it');
});

t.test('the leader from the refusal\'s trailing metadata', async (t) => {
  const m = new Metadata();
  t.equal(leaderFromMetadata(m), '');
  t.equal(leaderFromMetadata(undefined), '');
  m.set('gantry-leader', '10.0.0.2:7070');
  t.equal(leaderFromMetadata(m), '10.0.0.2:7070');
});
