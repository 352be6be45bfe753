import type { GantryEvent } from '../../shared/events/index.js';

/**
 * Where the scheduler's events go. State changes write their events to the store's outbox in the
 * same transaction (StateStore.commit({events})), then call committed(); the bus publishes the
 * outbox in order and removes what the backend acknowledged, so no event is lost across a NATS
 * outage or a scheduler crash, and publishing never blocks a cycle. Implementations: EventOutbox
 * (the store's outbox drained into an EventSink: JetStream or memory) and MemoryEventBus (tests).
 */
export interface EventBus {
  /** An event that is no state change of its own (e.g. a degraded domain): stored in the outbox, then published. */
  publish(event: GantryEvent): void;
  /** These events were just committed with their state change: tell in-process listeners and publish them. */
  committed(events: readonly GantryEvent[]): void;
  /** In-process listeners (WatchEvents, tests), called in commit order. */
  subscribe(listener: (e: GantryEvent) => void): () => void;
  /** Events stored but not yet acknowledged by the backend (the outbox size). */
  pending(): number;
  /** Resolves when everything stored so far is delivered, or the timeout passes (returns false). */
  flush(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The backend an outbox drains into. publish() resolves once the backend has the event durably. */
export interface EventSink {
  publish(event: GantryEvent): Promise<void>;
  /** Whether publishing can work now (connected). */
  readonly ready: boolean;
  /** Called when the sink becomes ready again (reconnected), so the outbox drains at once. */
  onReady(cb: () => void): void;
  close(): Promise<void>;
}
