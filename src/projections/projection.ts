import type { DomainEvent, RecordedEvent } from '../eventstore/eventStore';
import type { SqlExecutor } from '../sql/sqlDatabase';
import type { BatchWrite } from './rows';

/**
 * A read model: the event types it handles and how a batch of them changes its tables. The runner
 * calls `applyBatch` inside its transaction, beside the checkpoint update, with the events of one
 * batch that the projection handles and has not seen yet, in log order: a batch is applied whole
 * or not at all. Write it idempotently anyway (upserts, keys from event ids or positions, rows that
 * remember the last position applied to them): replaying an event twice must change nothing.
 *
 * Applying a batch at once, not event by event, is what makes a rebuild fast: a projection reads
 * the rows the batch touches once, evolves them in memory, and writes each table with one
 * statement (COPY for rows that cannot exist yet), instead of one round trip per event and row.
 */
export interface Projection<E extends DomainEvent = DomainEvent> {
  readonly name: string;
  readonly handles: readonly E['type'][];
  /** Idempotent DDL for the projection's tables. */
  readonly schema: string;
  /** The tables a rebuild empties. */
  readonly tables: readonly string[];
  readonly applyBatch: (tx: SqlExecutor, events: readonly RecordedEvent<E>[]) => Promise<void>;
  /**
   * Secondary indexes `applyBatch` reads through (beyond primary keys and unique constraints): a
   * replay keeps them while it loads the tables, and builds the others once they are full.
   */
  readonly readsWhileApplying?: readonly string[];
  /**
   * For a replay, which fills new, empty tables that nothing else writes: a fresh applier per
   * replay, which keeps the rows it makes in memory across batches (so a batch reads nothing back)
   * and hands over each batch's writes, encoded at once; the replay computes the next batch while
   * the database takes them. Tables the projection does not list in `tables` are thrown away after a
   * replay, so an applier need not write them. Without one, a replay calls `applyBatch`.
   */
  readonly replayApplier?: () => ReplayApplier<E>;
}

export interface ReplayApplier<E extends DomainEvent = DomainEvent> {
  /** Evolves the rows in memory (a batch may come in several slices, in log order). */
  readonly apply: (events: readonly RecordedEvent<E>[]) => void;
  /** The writes of everything applied since the last call, encoded now. */
  readonly takeWrites: () => BatchWrite;
}

// Lets a typed projection sit in a list of projections of other event types.
export const projection = <E extends DomainEvent>(definition: Projection<E>): Projection =>
  definition as unknown as Projection;

/**
 * `applyBatch` for a projection whose events are rare (programs, meetings, initiatives): one
 * event at a time, each with its own statements.
 */
export const eventByEvent =
  <E extends DomainEvent>(apply: (tx: SqlExecutor, event: RecordedEvent<E>) => Promise<void>) =>
  async (tx: SqlExecutor, events: readonly RecordedEvent<E>[]): Promise<void> => {
    for (const event of events) await apply(tx, event);
  };
