import type { DomainEvent, RecordedEvent } from '../eventstore/eventStore';
import type { SqlExecutor } from '../sql/sqlDatabase';

/**
 * A read model: the event types it handles and how each one changes its tables. `apply` runs
 * inside the runner's transaction, beside the checkpoint update, so a batch is applied whole or
 * not at all. Write `apply` idempotently anyway (upserts, keys from event ids): replaying an event
 * twice must change nothing.
 */
export interface Projection<E extends DomainEvent = DomainEvent> {
  readonly name: string;
  readonly handles: readonly E['type'][];
  /** Idempotent DDL for the projection's tables. */
  readonly schema: string;
  /** The tables a rebuild empties. */
  readonly tables: readonly string[];
  readonly apply: (tx: SqlExecutor, event: RecordedEvent<E>) => Promise<void>;
}

// Lets a typed projection sit in a list of projections of other event types.
export const projection = <E extends DomainEvent>(definition: Projection<E>): Projection =>
  definition as unknown as Projection;
