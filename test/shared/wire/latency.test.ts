/** Latency endpoint and peer-list conversion: what a peer sent is checked, errors name the field. */
import t from 'tap';
import { latencyEndpointFromPb, latencyPeersFromPb, latencyPeersToPb } from '../../../shared/wire/index.js';

t.test('endpoint: absent or port 0 is "probing off"; a port needs an address', async (t) => {
  t.equal(latencyEndpointFromPb(null, 'register.latency'), null);
  t.equal(latencyEndpointFromPb({ address: '10.0.0.1', port: 0 }, 'register.latency'), null);
  t.same(latencyEndpointFromPb({ address: '10.0.0.1', port: 9472 }, 'register.latency'), { address: '10.0.0.1', port: 9472 });
  for (const [pb, re] of [
    [{ address: '', port: 9472 }, /register\.latency\.address/],
    [{ address: 'x', port: 70000 }, /register\.latency\.port/],
  ] as const) {
    try {
      latencyEndpointFromPb(pb, 'register.latency');
      t.fail('accepted');
    } catch (e) {
      t.match((e as Error).message, re);
    }
  }
});

t.test('peers: round trip; a bad entry is refused naming it', async (t) => {
  const peers = [{ node: 'b', address: '127.0.0.1', port: 1234 }];
  t.same(latencyPeersFromPb(latencyPeersToPb(peers) as never, 'latencyPeers'), peers);
  t.same(latencyPeersFromPb(undefined, 'latencyPeers'), []);
  try {
    latencyPeersFromPb({ peers: [...peers, { node: 'c', address: '127.0.0.1', port: 0 }] }, 'latencyPeers');
    t.fail('accepted');
  } catch (e) {
    t.match((e as Error).message, /latencyPeers\.peers\[1\]\.port/);
  }
});
