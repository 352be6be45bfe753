/** The one table from error codes to gRPC statuses, and what travels with a status. */
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { MAX_STATUS_DETAILS_BYTES, toGrpcError } from '../../../scheduler/api/status-table.js';
import { NotFoundError, NotLeaderError, PermissionDeniedError, ResourceExhaustedError } from '../../../shared/errors/index.js';

t.test('a refusal quoting a huge value: the details are cut, and say how much was left out', async (t) => {
  const e = toGrpcError(new NotFoundError('node', 'x'.repeat(1024 * 1024)));
  t.equal(e.code, status.NOT_FOUND);
  t.ok(Buffer.byteLength(e.details!) <= MAX_STATUS_DETAILS_BYTES, `at most ${MAX_STATUS_DETAILS_BYTES} bytes`);
  t.match(e.details, /^node "xxx.*… \(\d+ more bytes\)$/);
  const multibyte = toGrpcError(new Error('é'.repeat(2000)));
  t.notMatch(multibyte.details, /\uFFFD/, 'never a broken character at the cut');
  t.equal(toGrpcError(new NotFoundError('node', 'gpu-1')).details, 'node "gpu-1" not found', 'short text is sent whole');
});

t.test('what travels in metadata', async (t) => {
  const denied = toGrpcError(new PermissionDeniedError('nodes.manage', 'no'));
  t.equal(denied.code, status.PERMISSION_DENIED);
  t.same(denied.metadata!.get('gantry-permission'), ['nodes.manage']);
  t.same(denied.metadata!.get('gantry-code'), ['PERMISSION_DENIED']);
  const limited = toGrpcError(new ResourceExhaustedError('slow down', 250));
  t.equal(limited.code, status.RESOURCE_EXHAUSTED);
  t.same(limited.metadata!.get('retry-after-ms'), ['250']);
  const standby = toGrpcError(new NotLeaderError('not the leader; the leader is 10.0.0.2:7070', '10.0.0.2:7070'));
  t.equal(standby.code, status.UNAVAILABLE);
  t.same(standby.metadata!.get('gantry-leader'), ['10.0.0.2:7070'], "a standby's refusal names the leader for clients with several addresses");
  t.same(toGrpcError(new NotLeaderError('not the leader; none known')).metadata!.get('gantry-leader'), [], 'none when no leader is known');
  t.same(toGrpcError('a string').metadata!.get('gantry-code'), ['INTERNAL'], 'anything else is INTERNAL');
});
