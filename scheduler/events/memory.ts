import type { GantryEvent } from '../../shared/events/index.js';
import type { EventBus } from './types.js';

/** Test twin without a store: records committed and published events, in order. */
export class MemoryEventBus implements EventBus {
  readonly events: GantryEvent[] = [];
  private readonly listeners = new Set<(e: GantryEvent) => void>();

  publish(event: GantryEvent): void {
    this.committed([event]);
  }
  committed(events: readonly GantryEvent[]): void {
    for (const e of events) {
      this.events.push(e);
      for (const l of this.listeners) l(e);
    }
  }
  subscribe(listener: (e: GantryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  pending(): number {
    return 0;
  }
  async flush(): Promise<boolean> {
    return true;
  }
  async close(): Promise<void> {
    this.listeners.clear();
  }
}
