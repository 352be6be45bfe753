/**
 * The first connection to NATS, retried until it works or the caller closes: after that nats.js
 * reconnects by itself (maxReconnectAttempts -1). Warns once while NATS is away. Daemons start it
 * in the background and keep serving meanwhile.
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
      return nc;
    } catch (e) {
      if (!warned) o.log.warn({ err: (e as Error).message, servers: connection.servers }, `NATS not reachable yet; ${o.meanwhile}`);
      warned = true;
      await new Promise<void>((r) => setTimeout(r, o.retryMs ?? 500).unref());
    }
  }
  return undefined;
}
