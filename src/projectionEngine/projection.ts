import type { DomainEvent, GlobalPosition, RecordedEvent } from '../eventstore/eventStore';
import { migrationSet, type Migration, type MigrationSet } from '../sql/migrations';
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
/** In `handles`: every event of the log, whatever its type (an index of the whole log). */
export const ALL_EVENTS = '*';

/** A projection's migrations, recorded as the component `projection:<name>`: its baseline, then the rest. */
export const projectionMigrations = (projection: Pick<Projection, 'name' | 'schema' | 'migrations'>): MigrationSet =>
  migrationSet(`projection:${projection.name}`, [{ name: '0001_baseline', sql: projection.schema }, ...(projection.migrations ?? [])]);

/** Whether a projection takes events of this type. */
export const handlesType = (handled: ReadonlySet<string>, type: string): boolean => handled.has(type) || handled.has(ALL_EVENTS);

export interface Projection<E extends DomainEvent = DomainEvent> {
  readonly name: string;
  readonly handles: readonly E['type'][];
  /**
   * The DDL that created the projection's tables before migrations were recorded: its migration
   * `0001_baseline` (src/sql/migrations.ts). Never edit it: a change goes in `migrations`.
   */
  readonly schema: string;
  /**
   * The schema's later migrations, in order (`0002_...` onwards): to change a read model's tables,
   * add one at the end. A rebuild makes its tables by running the baseline and these in turn.
   */
  readonly migrations?: readonly Migration[];
  /** The tables a rebuild empties. */
  readonly tables: readonly string[];
  /**
   * Tables its DDL makes and `applyBatch` writes that a rebuild never empties nor refills (the
   * notification outbox: refilling it would queue every e-mail of the log again). A replay beside the
   * live tables gives them throwaway copies; a replay in place is not taken while such a projection
   * applies in Node.js.
   */
  readonly sideTables?: readonly string[];
  readonly applyBatch: (tx: SqlExecutor, events: readonly RecordedEvent<E>[]) => Promise<void>;
  /**
   * Secondary indexes `applyBatch` reads through (beyond primary keys and unique constraints): a
   * replay keeps them while it loads the tables, and builds the others once they are full.
   */
  readonly readsWhileApplying?: readonly string[];
  /**
   * Tables whose primary key and unique constraints a replay in Node.js may build after loading them,
   * as it does secondary indexes: the `replayApplier` makes each of their rows once and finds none by
   * those keys (the history: every entry is new, and a revert finds its entry by change id).
   */
  readonly replayKeysAfter?: readonly string[];
  /**
   * For a replay, which fills new, empty tables that nothing else writes: a fresh applier per
   * replay, which keeps the rows it makes in memory across batches (so a batch reads nothing back)
   * and hands over each batch's writes, encoded at once; the replay computes the next batch while
   * the database takes them. Tables the projection does not list in `tables` are thrown away after a
   * replay, so an applier need not write them. Without one, a replay calls `applyBatch`.
   */
  readonly replayApplier?: () => ReplayApplier<E>;
  /**
   * For a replay from a log kept in the same database (the SQL event store): queries that fill
   * the projection's tables (empty, in the replay's schema, which is first on the search path)
   * straight from `es_events`, set at a time, with every event up to and including `upTo`. The
   * rows must be exactly the ones `applyBatch` makes from the same events: the read-model tests
   * replay both ways and compare. Each query's rows go into its table with INSERT ... SELECT
   * (`loadQuery`) while the replay applies the other projections in Node.js; no event is parsed there.
   */
  readonly replayInDatabase?: (upTo: GlobalPosition) => InDatabaseReplay;
}

/**
 * What `Projection.replayInDatabase` loads: queries over es_events (no parameters: values written
 * in), each loaded into one of the projection's tables with these columns, in this order.
 */
export interface InDatabaseReplay {
  readonly loads: readonly InDatabaseLoad[];
  /**
   * Event types the loads read of which a log has few (capacities set, programs created), or a small
   * part that several loads read (a match's events): the replay copies every event of these types
   * once into a table of its own, `FEW_EVENTS`, which the loads that say so read instead of
   * es_events, so that each of them is not a pass over the whole log (on a log larger than the
   * server's buffers, each pass reads every page again) for a part of it.
   */
  readonly fewTypes?: readonly string[];
}

/** The replay's copy of the events of the `fewTypes` (es_events' columns), up to `upTo`. */
export const FEW_EVENTS = 'replay_few_events';

export interface InDatabaseLoad {
  readonly table: string;
  readonly columns: readonly string[];
  readonly select: string;
  /** It reads `FEW_EVENTS` (the replay fills that first). */
  readonly readsFewEvents?: boolean;
  /**
   * How heavy it is beside the others (default 1; about the tenths of a second it takes on a million
   * events): the replay starts the heaviest first, and counts its progress by these.
   */
  readonly weight?: number;
}

export interface ReplayApplier<E extends DomainEvent = DomainEvent> {
  /** Evolves the rows in memory (a batch may come in several slices, in log order). */
  readonly apply: (events: readonly RecordedEvent<E>[]) => void;
  /** The writes of everything applied since the last call, encoded now. */
  readonly takeWrites: () => BatchWrite;
  /**
   * Its rows are few enough to keep whole (users, personas, matches): the replay takes its writes
   * once, after the last batch, so that every row is new and goes in with one COPY, instead of
   * upserting the rows each batch changed (a user's row rewritten once for every batch that
   * touches it, most of a replay's database time before).
   */
  readonly writesOnceAtEnd?: boolean;
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
