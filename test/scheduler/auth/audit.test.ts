/**
 * Audit records are bounded (issue 18, the fuzz run's memory): a refused call's target is what the
 * caller sent, and a 1 MiB node name became a 1 MiB event in the outbox, on NATS, in the log and
 * (without NATS) in the in-memory sink, once per call. Through a real EventOutbox on a MemoryStore.
 */
import t from 'tap';
import { Counter, Registry } from 'prom-client';
import { Auditor, clipText, MAX_AUDIT_MESSAGE_BYTES, MAX_AUDIT_TARGET_BYTES } from '../../../scheduler/auth/audit.js';
import { EventOutbox, MemoryEventSink } from '../../../scheduler/events/index.js';
import { MemoryStore } from '../../../scheduler/store/index.js';
import { systemClock } from '../../../shared/clock/index.js';
import type { AuditEvent } from '../../../shared/events/index.js';
import { createLogger } from '../../../shared/log/index.js';

const log = createLogger({ name: 'test', level: 'silent', format: 'json', isTty: false });

t.test('clipText cuts at a byte bound, never inside a character, and says how long it was', async (t) => {
  t.equal(clipText('node-1', 253), 'node-1', 'short text is kept');
  t.equal(clipText('x'.repeat(300), 10), `${'x'.repeat(10)}… (300 bytes)`);
  t.equal(clipText('é'.repeat(10), 5), 'éé… (20 bytes)', 'a two-byte character is not split');
  t.equal(clipText('😀😀', 5), '😀… (8 bytes)', 'nor a surrogate pair');
});

t.test('an audit record with a 1 MiB target and a long message is stored clipped', async (t) => {
  const sink = new MemoryEventSink();
  const events = new EventOutbox(new MemoryStore(), sink, log);
  const seen: AuditEvent[] = [];
  events.subscribe((e) => e.kind === 'audit' && seen.push(e));
  const denied = new Counter({ name: 'audit_test_denied_total', help: 'test', labelNames: ['reason', 'action'], registers: [new Registry()] });
  const auditor = new Auditor({ events, log, clock: systemClock, denied });
  auditor.record({ type: 'failed', actor: { name: 'eve', kind: 'user', via: 'token' }, action: 'CordonNode', target: 'n'.repeat(1024 * 1024), permission: 'nodes.manage', message: 'm'.repeat(10_000), peer: 'ipv4:127.0.0.1:1' });
  auditor.record({ type: 'allowed', actor: { name: 'eve', kind: 'user', via: 'token' }, action: 'CordonNode', target: 'node-1', permission: 'nodes.manage', message: 'CordonNode node-1 by eve', peer: 'ipv4:127.0.0.1:1' });
  t.ok(await events.flush(5000), "the outbox drained");
  t.equal(seen.length, 2, 'both recorded');
  t.equal(seen[0]!.target, `${'n'.repeat(MAX_AUDIT_TARGET_BYTES)}… (1048576 bytes)`, 'the target clipped to 253 bytes, saying how long it was');
  t.equal(seen[0]!.message, `${'m'.repeat(MAX_AUDIT_MESSAGE_BYTES)}… (10000 bytes)`, 'the message clipped to 1,500 bytes');
  t.equal(seen[1]!.target, 'node-1', 'an ordinary target is kept');
  t.ok(JSON.stringify(sink.events).length < 10_000, 'what the sink holds is small');
});
