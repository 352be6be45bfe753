import type { GantryEvent } from '../../shared/events/index.js';
import type { EventBus } from './types.js';

export class MemoryEventBus implements EventBus {
  readonly events: GantryEvent[] = [];
  private readonly listeners = new Set<(e: GantryEvent) => void>();

  publish(event: GantryEvent): void {
    this.events.push(event);
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's fault is its own (see EventBus.subscribe).
      }
    }
  }
  subscribe(listener: (e: GantryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
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
