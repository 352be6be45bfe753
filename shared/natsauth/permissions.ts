/**
 * What each Gantry daemon may publish and subscribe on NATS, and the nats-server (2.9 syntax)
 * `authorization` block that grants it to nkey users. Pure: subjects and text, no keys, no I/O.
 *
 * - scheduler: publishes events (JetStream stores whatever lands on `gantry.events.>`, so it is the
 *   only publisher there) and the few JetStream API calls its event sink makes (is JetStream there,
 *   stream GANTRY_EVENTS info, create, update); subscribes to all telemetry and to its reply inboxes
 *   (JetStream API replies, publish acks).
 * - node <name>: publishes `gantry.telemetry.*.<name>` (latency and service windows of its own node,
 *   nothing else) and subscribes to nothing.
 * - events (`gantry events`): reads GANTRY_EVENTS the way that command does (an ephemeral consumer
 *   for the count, then an ordered push consumer with flow control); publishes on no stream subject.
 */
import { EVENTS_STREAM, EVENTS_SUBJECT_ALL, nodeTelemetryPermission, TELEMETRY_SUBJECT_ALL } from '../events/index.js';

/** Where nats.js's request replies and push consumers' deliveries arrive (its default inbox prefix). */
export const INBOX_SUBJECT_ALL = '_INBOX.>';

export interface NatsPermissions {
  publish: { allow?: string[]; deny?: string[] };
  subscribe: { allow?: string[]; deny?: string[] };
}

const S = EVENTS_STREAM;

/** The scheduler's daemon: events out (JetStream), telemetry in. */
export function schedulerPermissions(): NatsPermissions {
  return {
    publish: { allow: [EVENTS_SUBJECT_ALL, '$JS.API.INFO', `$JS.API.STREAM.INFO.${S}`, `$JS.API.STREAM.CREATE.${S}`, `$JS.API.STREAM.UPDATE.${S}`] },
    subscribe: { allow: [TELEMETRY_SUBJECT_ALL, INBOX_SUBJECT_ALL] },
  };
}

/** One agent: its own node's telemetry out, nothing in. */
export function nodePermissions(node: string): NatsPermissions {
  return {
    publish: { allow: [nodeTelemetryPermission(node)] },
    // Without a subscribe block nats-server allows every subscription: deny them all.
    subscribe: { deny: ['>'] },
  };
}

/** `gantry events`: read GANTRY_EVENTS through consumers; publish on no stream subject. */
export function eventsReaderPermissions(): NatsPermissions {
  return {
    publish: {
      allow: [
        '$JS.API.INFO',
        // jetstream().subscribe() finds the stream of the filter subject, then reads its info.
        '$JS.API.STREAM.NAMES',
        `$JS.API.STREAM.INFO.${S}`,
        // Ephemeral and ordered consumers (CREATE.<stream>, or CREATE.<stream>.<name>.<filter> on newer servers).
        `$JS.API.CONSUMER.CREATE.${S}`,
        `$JS.API.CONSUMER.CREATE.${S}.>`,
        `$JS.API.CONSUMER.INFO.${S}.*`,
        `$JS.API.CONSUMER.DELETE.${S}.*`,
        // Flow-control replies of the ordered push consumer.
        `$JS.FC.${S}.>`,
      ],
    },
    subscribe: { allow: [INBOX_SUBJECT_ALL] },
  };
}

export interface NatsUserEntry {
  /** Who it is, for the comment above the entry (scheduler, events, node <name>). */
  who: string;
  /** The nkey's public key (U...). */
  nkey: string;
  permissions: NatsPermissions;
}

/** A string for nats-server's config: always double-quoted ('$' would otherwise start a variable). */
const q = (s: string): string => JSON.stringify(s);

function list(xs: string[]): string {
  return `[${xs.map(q).join(', ')}]`;
}

function rules(r: { allow?: string[]; deny?: string[] }): string {
  const parts: string[] = [];
  if (r.allow) parts.push(`allow: ${list(r.allow)}`);
  if (r.deny) parts.push(`deny: ${list(r.deny)}`);
  return `{ ${parts.join(', ')} }`;
}

/**
 * The `authorization { users = [...] }` block for nats-server 2.9 and later, to `include` from the
 * server's config. Only nkey public keys are in it (no secrets).
 */
export function authorizationConf(users: readonly NatsUserEntry[], header: readonly string[] = []): string {
  const out: string[] = header.map((h) => `# ${h.replace(/[\r\n]+/g, ' ')}`);
  out.push('authorization {', '  users = [');
  for (const u of users) {
    out.push(`    # ${u.who.replace(/[\r\n]+/g, ' ')}`);
    out.push(`    {`);
    out.push(`      nkey: ${q(u.nkey)}`);
    out.push(`      permissions: {`);
    out.push(`        publish: ${rules(u.permissions.publish)}`);
    out.push(`        subscribe: ${rules(u.permissions.subscribe)}`);
    out.push(`      }`);
    out.push(`    }`);
  }
  out.push('  ]', '}', '');
  return out.join('\n');
}
