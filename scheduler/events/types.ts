import type { GantryEvent } from '../../shared/events/index.js';

/**
 * Where the scheduler's events go. publish() never blocks the caller: implementations queue and
 * deliver in order. Twins: NatsEventBus (JetStream) and MemoryEventBus (tests, simulation).
 */
export interface EventBus {
  publish(event: GantryEvent): void;
  /**
   * In-process listeners, called synchronously with each event as it is published (before it
   * reaches the backend). Returns the unsubscribe function. A throwing listener is not the
   * publisher's concern: implementations catch and ignore it.
   */
  subscribe(listener: (event: GantryEvent) => void): () => void;
  /** Events accepted but not yet acknowledged by the backend. */
  pending(): number;
  /** Resolves when everything queued so far is delivered, or the timeout passes (returns false). */
  flush(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}
