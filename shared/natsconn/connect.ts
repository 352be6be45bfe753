/**
 * The first connection to NATS, retried until it works or the caller closes: after that nats.js
 * reconnects by itself (maxReconnectAttempts -1). Warns once while NATS is away, and once per subject
 * the server refuses (permissions). Daemons start it in the background and keep serving meanwhile.
 */
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import type { Logger } from '../log/index.js';

export interface ConnectUntilOptions {
  log: Logger;
  /** What waits for NATS meanwhile, for the one warning (e.g. "events wait in the outbox"). */
  meanwhile: string;
  /** True once the caller is closing: stop trying (and close a connection that arrives late). */
  closed(): boolean;
  retryMs?: number;
}

export async function connectUntil(connection: ConnectionOptions, o: ConnectUntilOptions): Promise<NatsConnection | undefined> {
  let warned = false;
  while (!o.closed()) {
    try {
      const nc = await connect({ ...connection, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
      if (o.closed()) {
        await nc.close();
        return undefined;
      }
      warnOnPermissionErrors(nc, o.log);
      return nc;
    } catch (e) {
      if (!warned) o.log.warn({ err: (e as Error).message, servers: connection.servers }, `NATS not reachable yet; ${o.meanwhile}`);
      warned = true;
      await new Promise<void>((r) => setTimeout(r, o.retryMs ?? 500).unref());
    }
  }
  return undefined;
}

/** Distinct refusals remembered (each is warned about once); past this many, the memory starts over. */
const MAX_REMEMBERED_REFUSALS = 256;

/**
 * Warns once per operation and subject when the server refuses a publish or subscription (its user
 * lacks the permission; nats.js reports it only as a status, the connection stays up). Ends with
 * the connection.
 */
export function warnOnPermissionErrors(nc: NatsConnection, log: Logger): void {
  const seen = new Set<string>();
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type !== 'error' || s.data !== 'PERMISSIONS_VIOLATION') continue;
      const { operation, subject } = s.permissionContext ?? { operation: 'unknown', subject: '' };
      const key = `${operation} ${subject}`;
      if (seen.has(key)) continue;
      if (seen.size >= MAX_REMEMBERED_REFUSALS) seen.clear();
      seen.add(key);
      log.warn({ operation, subject }, "NATS refused this: the connection's user lacks the permission (README \"NATS permissions\")");
    }
  })();
}
