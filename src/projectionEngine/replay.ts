import { randomBytes } from 'node:crypto';
import { START, comparePositions, type EventStore, type GlobalPosition, type RecordedEvent } from '../eventstore/eventStore';
import { SqlEventStore } from '../eventstore/sqlEventStore';
import { insertSelectStatement, loadQuery, sqlText, type SqlDatabase, type SqlExecutor, type SqlTransaction } from '../sql/sqlDatabase';
import { ALL_EVENTS, FEW_EVENTS, handlesType, projectionMigrations, type InDatabaseLoad, type Projection, type ReplayApplier } from './projection';
import { writeAll, type BatchWrite } from './rows';

/** es_events' columns in its order, as the merged view gives them (with personal data, or erased). */
const LOG_COLUMNS = `e.global_position, e.transaction_id, e.stream_id, e.revision, e.event_id, e.event_type, e.schema_version,
  e.data, e.metadata, e.recorded_at, e.previous_hash, e.hash`;

/**
 * Rebuilds read models from zero *beside* the ones in service, then swaps them in: the server keeps
 * answering from the old tables while the new ones fill, and never sees a half-built read model.
 *
 * 1. A schema of its own (`replay_<random>`) gets the projections' tables (their DDL run with that
 *    schema first on the search path). Their secondary indexes are dropped there and built once the
 *    tables are full (a sort is much cheaper than keeping an index up to date row by row); primary
 *    keys, unique constraints (but those of `Projection.replayKeysAfter`) and the indexes a projection
 *    reads while applying (`Projection.readsWhileApplying`) stay.
 * 2. The replay ends at the head of the log as it is when it starts (`upTo`). When the log is in the
 *    same database (the SQL event store), the projections that can (`replayInDatabase`: the user
 *    history, users, matches, the notification contacts and programs) fill their tables in SQL
 *    straight from es_events: each table's query is loaded into it with INSERT ... SELECT
 *    (`loadQuery`), a few at once, the heaviest first, and a table's keys (dropped for the load) and
 *    indexes are built as soon as its last load is in, while other loads still run. The events of
 *    types a log has few of, or a small part several loads read (`InDatabaseReplay.fewTypes`: the
 *    match events are a tenth of a log), and the types the Node.js part handles, are
 *    first copied, in one pass, into a table of the replay's own (`FEW_EVENTS`), which the loads that
 *    need them and the Node.js part read instead of the whole log.
 * 3. The rest read their events once (from that copy when there is one), in batches, and each batch is applied to every projection in one
 *    transaction with `SET LOCAL search_path`. It is a pipeline: while the database writes batch n,
 *    batch n + 1 is computed (projections with a `replayApplier` keep their rows in memory, so that
 *    needs no read) and batch n + 2 is read. Appliers whose rows are few (`writesOnceAtEnd`) are
 *    written once, after the last batch. The transactions commit without waiting for the disk: a
 *    crash loses nothing but the replay schema.
 * 4. Then one transaction locks the projections' checkpoints (the runner in service waits), drops
 *    the old tables, moves the new ones into the live schema and sets the checkpoints to `upTo`. The
 *    runner then carries on from there: events appended during the replay are applied by it, once,
 *    to the new tables.
 *
 * Tables a projection does not list in `tables` (the notification outbox) are created in the
 * replay schema and dropped with it: they are never replaced, so a replay sends no e-mail again.
 */

export interface ReplayProgress {
  readonly projection: string;
  /**
   * Events applied so far: those the Node.js part applied, and the SQL part's share of the rest as
   * its loads and index builds finish (an estimate by their weights). The last report, after the
   * swap, counts every event the replay covered.
   */
  readonly applied: number;
  readonly position: GlobalPosition;
  /** The events to apply (the total to show progress against); 0 when the store cannot say (KurrentDB). */
  readonly total: number;
  readonly eventsPerSecond: number;
  /** Seconds left at the current rate, or null before there is one. */
  readonly etaSeconds: number | null;
}

export interface ReplayOptions {
  readonly db: SqlDatabase;
  readonly store: EventStore;
  readonly projections: readonly Projection[];
  readonly batchSize?: number;
  readonly onProgress?: (progress: ReplayProgress) => void;
  /** Called after the swap with the checkpoint it set (a runner in this process resets its positions). */
  readonly onSwapped?: (position: GlobalPosition) => void;
  /**
   * Let projections with `replayInDatabase` fill their tables in SQL when the log is in the same
   * database (default true); false applies every event in Node.js, as a replay from KurrentDB does.
   */
  readonly inDatabase?: boolean;
  /**
   * Rebuild in place, in one transaction (`replayInPlace`), rather than beside the live tables: by
   * default when the log has at most `IN_PLACE_MAX_EVENTS` events and the replay can take that path;
   * true takes it whenever it can, false never.
   */
  readonly inPlace?: boolean;
  /**
   * Where the time goes: called as each step ends with how long it took. The steps in turn are
   * `tables` (the replay schema, its tables, keys and indexes dropped), `Node.js part`, `Node.js
   * indexes`, `SQL part` (what is left of it then), `swap` and `cleanup`; beside them, each SQL
   * load and index build as `load <table>` and `index <table>`.
   */
  readonly onStep?: (step: string, milliseconds: number) => void;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/**
 * Logs up to this many events (by the head's global position, an upper bound) are rebuilt in place.
 * There a replay beside the live tables spends most of its time on work that does not grow with the
 * log (some 90 statements of DDL, dropping keys and indexes and building them again, the swap's
 * DROP and its files); in place it has none of that, but its loads run one after another on one
 * connection, which on a larger log costs more than the fixed work saves (BENCHMARKS.md,
 * event-log-scale).
 */
export const IN_PLACE_MAX_EVENTS = 50_000;
/** Events computed between two turns of the event loop. */
const COMPUTE_SLICE = 100;
/** Loads (or index builds) in SQL at once. */
const LOADS_AT_ONCE = 3;
/**
 * The connections a replay uses at most: one per load, one for the copy of the few events (and the
 * count of events for progress, beside it), and the Node.js part's two (a read ahead, a write). A
 * pool with fewer makes the loads wait for one another.
 */
export const REPLAY_CONNECTIONS = LOADS_AT_ONCE + 3;
const quoted = (name: string): string => {
  if (!IDENTIFIER.test(name)) throw new Error(`Unsafe SQL identifier: ${name}`);
  return `"${name}"`;
};

interface DeferredIndex {
  readonly table: string;
  readonly definition: string;
}

/**
 * Drops the secondary indexes of the replay schema that loading does not need, and returns the
 * definitions of those to build after it (the ones of tables that will be swapped in).
 */
const deferIndexes = async (db: SqlTransaction, shadow: string, keep: ReadonlySet<string>, swapped: ReadonlySet<string>): Promise<DeferredIndex[]> => {
  const { rows } = await db.query<{ name: string; table: string; definition: string }>(
    `SELECT c.relname AS name, t.relname AS "table", pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND NOT i.indisprimary AND NOT i.indisunique
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
      ORDER BY c.relname`,
    [shadow],
  );
  const deferred = rows.filter((row) => !keep.has(row.name));
  if (deferred.length > 0) await db.exec(`DROP INDEX ${deferred.map((row) => `${quoted(shadow)}.${quoted(row.name)}`).join(', ')}`);
  return deferred.filter((row) => swapped.has(row.table)).map(({ table, definition }) => ({ table, definition }));
};

/**
 * Drops the primary keys and unique constraints of tables a projection fills in SQL, or whose keys
 * its Node.js applier does not need (`replayKeysAfter`): each row is made once, so nothing needs them
 * while loading. Returns the statements that add them back.
 */
const deferKeys = async (db: SqlTransaction, shadow: string, tables: ReadonlySet<string>): Promise<DeferredIndex[]> => {
  if (tables.size === 0) return [];
  const { rows } = await db.query<{ name: string; table: string; definition: string }>(
    `SELECT k.conname AS name, t.relname AS "table", pg_get_constraintdef(k.oid) AS definition
       FROM pg_constraint k
       JOIN pg_class t ON t.oid = k.conrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = $1 AND k.contype IN ('p', 'u') AND t.relname = ANY($2::text[])
      ORDER BY k.contype, k.conname`,
    [shadow, [...tables]],
  );
  // One script: each statement costs a round trip and, on a busy machine, a wait for a core.
  if (rows.length > 0) await db.exec(rows.map((row) => `ALTER TABLE ${quoted(shadow)}.${quoted(row.table)} DROP CONSTRAINT ${quoted(row.name)}`).join(';\n'));
  return rows.map(({ name, table, definition }) => ({
    table,
    definition: `ALTER TABLE ${quoted(shadow)}.${quoted(table)} ADD CONSTRAINT ${quoted(name)} ${definition}`,
  }));
};

/**
 * Runs the loads `width` at a time, heaviest first; as soon as a table's last load is in, its keys
 * and indexes go ahead of the loads left, so that building them overlaps the loads still running
 * (a replay's end is then not a long tail of index builds on one core).
 */
const loadThenIndex = async (
  loads: readonly InDatabaseLoad[],
  indexes: readonly DeferredIndex[],
  width: number,
  load: (load: InDatabaseLoad) => Promise<void>,
  build: (index: DeferredIndex) => Promise<unknown>,
): Promise<void> => {
  const loadsLeft = new Map<string, number>();
  for (const { table } of loads) loadsLeft.set(table, (loadsLeft.get(table) ?? 0) + 1);
  const task = (index: DeferredIndex) => async () => void (await build(index));
  const indexesOf = (table: string) => indexes.filter((index) => index.table === table).map(task);
  const queue: (() => Promise<void>)[] = [
    // Tables no load fills are indexed at once.
    ...indexes.filter((index) => !loadsLeft.has(index.table)).map(task),
    ...[...loads]
      .sort((a, b) => (b.weight ?? 1) - (a.weight ?? 1))
      .map((item) => async () => {
        await load(item);
        const left = loadsLeft.get(item.table)! - 1;
        loadsLeft.set(item.table, left);
        if (left === 0) queue.unshift(...indexesOf(item.table));
      }),
  ];
  let running = 0;
  let failed: unknown = null;
  await new Promise<void>((resolve, reject) => {
    const next = (): void => {
      if (failed !== null) return;
      while (running < width && queue.length > 0) {
        const run = queue.shift()!;
        running++;
        run().then(
          () => {
            running--;
            next();
          },
          (error: unknown) => {
            failed = error;
            reject(error);
          },
        );
      }
      if (running === 0 && queue.length === 0) resolve();
    };
    next();
  });
};

interface InPlaceReplay {
  readonly options: ReplayOptions;
  readonly live: string;
  readonly sqlStore: SqlEventStore;
  readonly inSql: readonly Projection[];
  readonly inNode: readonly Projection[];
  readonly upTo: GlobalPosition;
  /** The transaction's settings (SET LOCAL). */
  readonly settings: readonly string[];
  readonly step: (name: string) => void;
}

/**
 * Rebuilds read models in the live tables, in one transaction: it locks the projections'
 * checkpoints (the runner in service waits), deletes their rows, fills them again with the SQL
 * loads as one script (one round trip: no DDL, no keys dropped or indexes rebuilt, no swap), applies
 * the Node.js part's events (few: the log is small, so they are read at once, before the
 * transaction), and sets the checkpoints to `upTo`. DELETE, not TRUNCATE: readers, at READ
 * COMMITTED or REPEATABLE READ alike, go on seeing the old rows, without waiting, until the
 * transaction commits, and then the new ones, whole (TRUNCATE would make them wait on its lock, and
 * show an empty table to a snapshot taken before it). The dead rows are autovacuum's.
 * Its commit does not wait for the disk: a crash before the WAL is written leaves the old read
 * models and their checkpoints, as they were.
 */
const replayInPlace = async (context: InPlaceReplay): Promise<{ readonly applied: number; readonly position: GlobalPosition }> => {
  const { options, live, sqlStore, inSql, inNode, upTo, settings, step } = context;
  const { db, projections } = options;
  const batchSize = options.batchSize ?? 5000;
  const started = performance.now();
  const nodeTypes = [...new Set(inNode.flatMap((projection) => projection.handles))];
  const replays = inSql.map((projection) => projection.replayInDatabase!(upTo));
  const loads = replays.flatMap((replay) => replay.loads);
  const fewTypes = loads.some((load) => load.readsFewEvents) ? [...new Set(replays.flatMap((replay) => replay.fewTypes ?? []))] : [];
  // Read before the transaction: on the embedded store, its one connection is the transaction's until it ends.
  const readNodeEvents = async (): Promise<RecordedEvent[]> => {
    const events: RecordedEvent[] = [];
    if (nodeTypes.length === 0) return events;
    for (let after: GlobalPosition = START; ; ) {
      const batch = await sqlStore.readAllOfTypes(nodeTypes, upTo, { after, maxCount: batchSize });
      events.push(...batch);
      if (batch.length < batchSize) return events;
      after = batch.at(-1)!.position;
    }
  };
  const reading = Promise.all([readNodeEvents(), sqlStore.countUpTo(upTo, nodeTypes)]);
  reading.catch(() => undefined);
  // On PostgreSQL they come over other connections while the transaction runs its script.
  if (db.kind !== 'postgres') await reading;
  const names = projections.map((p) => p.name).sort();
  const checkpoints = `${quoted(live)}.projection_checkpoints`;
  const named = `projection IN (${names.map(sqlText).join(', ')})`;
  const upToRow = `(${sqlText(upTo.major.toString())}::xid8, ${upTo.minor.toString()}::bigint)`;
  const script = [
    ...settings,
    `INSERT INTO ${checkpoints} (projection, position_major, position_minor) VALUES ${names.map((name) => `(${sqlText(name)}, 0, 0)`).join(', ')} ON CONFLICT DO NOTHING`,
    // The runner in service waits here; when it goes on, it starts after `upTo`.
    `SELECT 1 FROM ${checkpoints} WHERE ${named} ORDER BY projection FOR UPDATE`,
    ...projections.flatMap((p) => p.tables).map((table) => `DELETE FROM ${quoted(live)}.${quoted(table)}`),
    // The loads that read the events of rare types read this copy (a temporary table is found first by name).
    ...(fewTypes.length > 0
      ? [
          `CREATE TEMPORARY TABLE ${quoted(FEW_EVENTS)} ON COMMIT DROP AS SELECT ${LOG_COLUMNS} FROM es_events_merged e
            WHERE e.event_type IN (${fewTypes.map(sqlText).join(', ')}) AND (e.transaction_id, e.global_position) <= ${upToRow}`,
        ]
      : []),
    ...loads.map((load) => insertSelectStatement(load.table, load.columns, load.select)),
    `UPDATE ${checkpoints} SET position_major = ${upTo.major.toString()}, position_minor = ${upTo.minor.toString()}, updated_at = now() WHERE ${named}`,
  ];
  await db.transaction(async (tx) => {
    await tx.exec(script.join(';\n'));
    step('SQL part');
    const [events] = await reading;
    const writes: BatchWrite[] = [];
    for (const projection of inNode) {
      const handled = new Set<string>(projection.handles);
      const mine = events.filter((event) => handlesType(handled, event.type));
      if (mine.length === 0) continue;
      const applier = projection.replayApplier?.();
      if (applier) {
        applier.apply(mine);
        writes.push(applier.takeWrites());
      } else writes.push((executor) => projection.applyBatch(executor, mine));
    }
    await writeAll(...writes)(tx);
    step('Node.js part');
  });
  step('commit');
  const [, counts] = await reading;
  options.onSwapped?.(upTo);
  const seconds = (performance.now() - started) / 1000;
  const label = projections.map((p) => p.name).join(', ');
  options.onProgress?.({ projection: label, applied: counts.all, position: upTo, total: counts.all, eventsPerSecond: counts.all / seconds, etaSeconds: 0 });
  return { applied: counts.all, position: upTo };
};

export const replayProjections = async (options: ReplayOptions): Promise<{ readonly applied: number; readonly position: GlobalPosition }> => {
  const { db, store, projections } = options;
  const batchSize = options.batchSize ?? 5000;
  const label = projections.map((p) => p.name).join(', ');
  const allTables = projections.flatMap((p) => p.tables);
  // The live schema, and whether it has every table (a replay in place needs them; one beside makes them).
  const { schema: live, complete } = (
    await db.query<{ schema: string; complete: boolean }>(
      `SELECT current_schema() AS schema,
              NOT EXISTS (SELECT 1 FROM unnest($1::text[]) t WHERE to_regclass(format('%I.%I', current_schema(), t)) IS NULL) AS complete`,
      [allTables],
    )
  ).rows[0]!;
  const shadow = `replay_${randomBytes(6).toString('hex')}`;
  // A projection of the whole log (ALL_EVENTS: the event log's index) reads every event in Node.js,
  // so such a replay does not take the in-database path, which reads events of named types.
  const wholeLog = projections.some((projection) => (projection.handles as readonly string[]).includes(ALL_EVENTS));
  const sqlStore = options.inDatabase !== false && !wholeLog && store instanceof SqlEventStore && store.keepsLogIn(db) ? store : null;
  const inSql = sqlStore ? projections.filter((projection) => projection.replayInDatabase) : [];
  const inNode = projections.filter((projection) => !inSql.includes(projection));
  const handled = inNode.map((projection) => new Set<string>(projection.handles));
  // Lets socket I/O (the COPY of the batch being written, the read ahead) progress between slices of
  // computing. Not on the embedded store: it runs in this thread, answers through promises alone, and
  // a setImmediate there can wait behind other work on it for as long as that keeps going.
  const yieldToConnections = db.kind === 'postgres' ? () => new Promise<void>((resolve) => setImmediate(resolve)) : async () => undefined;
  // For the replay's own transactions and loads on PostgreSQL: no waiting for the disk (a crash loses
  // only the replay schema); no JIT (compiling costs more than it saves on these one-off queries); no
  // parallel workers (the loads already keep both cores busy). The loads' aggregates group by keys
  // read from jsonb, on which the planner has no statistics: it expects so many groups that it sorts
  // them (personas: 2.8 s) where hashing them in memory is faster (2.2 s), so sorting is discouraged
  // and hashing given the memory (a replay runs three loads at once: up to about 1.5 GB).
  const settings = [
    `SET LOCAL search_path TO ${quoted(shadow)}, ${quoted(live)}`,
    ...(db.kind === 'postgres'
      ? [
          `SET LOCAL synchronous_commit TO off`,
          `SET LOCAL jit TO off`,
          `SET LOCAL max_parallel_workers_per_gather TO 0`,
          `SET LOCAL work_mem TO '256MB'`,
          `SET LOCAL enable_sort TO off`,
        ]
      : []),
  ];
  const inTransaction = async (work: (tx: SqlExecutor) => Promise<void>) =>
    db.transaction(async (tx) => {
      await tx.query(settings.join('; '));
      await work(tx);
    });
  // Index builds sort whole tables: memory for the sort to stay in memory; and, like the loads, their
  // commits do not wait for the disk (the swap's commit does, for all of them).
  const buildIndex = (index: DeferredIndex) =>
    db.kind === 'postgres'
      ? db.transaction((tx) => tx.exec(`SET LOCAL maintenance_work_mem TO '256MB'; SET LOCAL synchronous_commit TO off; ${index.definition}`))
      : db.query(index.definition);

  let stepStart = performance.now();
  const step = (name: string): void => {
    const now = performance.now();
    options.onStep?.(name, now - stepStart);
    stepStart = now;
  };
  // Where the replay ends: the newest event readers can see now (every event up to it is final).
  // The SQL and the Node.js parts stop at the same event; the runner applies the rest after the swap.
  const upTo = await store.readHead();
  if (
    sqlStore &&
    complete &&
    options.inPlace !== false &&
    (options.inPlace === true || upTo.minor <= BigInt(IN_PLACE_MAX_EVENTS)) &&
    // Such a projection would write to the live outbox (a replay beside writes to a throwaway copy).
    inNode.every((projection) => (projection.sideTables ?? []).length === 0)
  ) {
    return replayInPlace({ options, live, sqlStore, inSql, inNode, upTo, settings: settings.slice(1), step });
  }
  let swapped = false;
  try {
    // One script, one implicit transaction: the schema and the SETs are undone with it if the DDL fails.
    // The replay schema first: the DDL creates there, and the projections write there; anything one
    // only reads from elsewhere (another read model) still resolves to the live schema.
    const path = `${quoted(shadow)}, ${quoted(live)}`;
    // The tables as the live ones are: every migration of each projection, in order (not recorded:
    // the live schema's record already says they are applied, and the swap keeps it true).
    const ddl = projections.flatMap((p) => projectionMigrations(p).migrations.map((migration) => migration.sql));
    const sqlTables = new Set(inSql.flatMap((p) => p.tables));
    // The schema, its tables, and the keys and indexes dropped for the load, in one transaction: one
    // commit, which does not wait for the disk (a crash loses only the replay schema), where there
    // were three that did (on this kind of machine 20-100 ms each).
    const deferred = await db.transaction(async (tx) => {
      await tx.exec(
        `${db.kind === 'postgres' ? 'SET LOCAL synchronous_commit TO off; ' : ''}CREATE SCHEMA ${quoted(shadow)}; SET LOCAL search_path TO ${path}; ` +
          `${ddl.join('\n;\n')}; SET LOCAL search_path TO ${quoted(live)};`,
      );
      return [
        ...(await deferKeys(tx, shadow, new Set([...sqlTables, ...inNode.flatMap((p) => (p.replayApplier ? (p.replayKeysAfter ?? []) : []))]))),
        ...(await deferIndexes(tx, shadow, new Set(inNode.flatMap((p) => p.readsWhileApplying ?? [])), new Set(projections.flatMap((p) => p.tables)))),
      ];
    });
    step('tables');
    const started = performance.now();
    const nodeTypes = [...new Set(inNode.flatMap((projection) => projection.handles))];
    const replays = inSql.map((projection) => projection.replayInDatabase!(upTo));
    // The events of types a log has few of (or a small part several loads read), which SQL loads read and the Node.js part applies, copied
    // in one pass (beside the first loads) into a table of the replay's own: each reader of them then
    // reads that table, not the whole log. With no load to read it, the Node.js part reads the log
    // itself (a copy would be one pass more, not one fewer).
    const copyRead = replays.some((replay) => replay.loads.some((load) => load.readsFewEvents));
    const fewTypes = sqlStore && copyRead ? [...new Set([...replays.flatMap((replay) => replay.fewTypes ?? []), ...nodeTypes])] : [];
    const fewEvents = `${quoted(shadow)}.${quoted(FEW_EVENTS)}`;
    const few: Promise<void> =
      fewTypes.length === 0
        ? Promise.resolve()
        : inTransaction(async (tx) => {
            await tx.query(`CREATE UNLOGGED TABLE ${fewEvents} (LIKE es_events)`);
            await tx.query(
              `INSERT INTO ${fewEvents} SELECT ${LOG_COLUMNS} FROM es_events_merged e
                WHERE e.event_type = ANY($1::text[]) AND (e.transaction_id, e.global_position) <= ($2::text::xid8, $3::bigint)`,
              [fewTypes, upTo.major.toString(), upTo.minor.toString()],
            );
            await tx.query(`CREATE INDEX ON ${fewEvents} (transaction_id, global_position)`);
          });
    few.catch(() => undefined);
    const read = async (after: GlobalPosition) => {
      if (!sqlStore) return store.readAll({ after, maxCount: batchSize });
      if (fewTypes.length === 0) return sqlStore.readAllOfTypes(nodeTypes, upTo, { after, maxCount: batchSize });
      await few;
      return sqlStore.readAllOfTypes(nodeTypes, upTo, { after, maxCount: batchSize }, fewEvents);
    };
    // Progress counts events: the Node.js part's as it applies them, the SQL part's share of the rest
    // as each of its loads and index builds is done (by weight). The count is a pass over the log of
    // its own: it runs beside the first loads, and progress is reported once it is in.
    const counting = sqlStore ? sqlStore.countUpTo(upTo, nodeTypes) : Promise.resolve(null);
    counting.catch(() => undefined);
    let counts: { readonly all: number; readonly ofTypes: number } | null = null;
    let counted = !sqlStore;
    // From another store (KurrentDB) the total is not known: 0, and no ETA.
    let total = 0;
    let inNodeTotal = 0;
    let applied = 0;
    let sqlDone = 0;
    let sqlWork = 0;
    let position: GlobalPosition = START;
    const report = () => {
      if (!counted) return;
      const done = applied + (sqlWork > 0 ? Math.floor(((total - inNodeTotal) * sqlDone) / sqlWork) : 0);
      // The last report, after the swap, says 100 %.
      const shown = total > 0 ? Math.min(done, total - 1) : done;
      const seconds = (performance.now() - started) / 1000;
      const eventsPerSecond = seconds > 0 ? shown / seconds : 0;
      if (shown <= 0) return;
      options.onProgress?.({
        projection: label,
        applied: shown,
        position,
        total,
        eventsPerSecond,
        etaSeconds: eventsPerSecond > 0 && total > 0 ? Math.max(0, (total - shown) / eventsPerSecond) : null,
      });
    };

    // The projections replayed in SQL, beside the Node.js part.
    const loads = replays.flatMap((replay) => replay.loads);
    const sqlIndexes = deferred.filter((index) => sqlTables.has(index.table));
    sqlWork = loads.reduce((sum, load) => sum + (load.weight ?? 1), 0) + sqlIndexes.length;
    const inDatabase = loadThenIndex(
      loads,
      sqlIndexes,
      LOADS_AT_ONCE,
      async (load) => {
        if (load.readsFewEvents) await few;
        const loadStart = performance.now();
        await loadQuery(db, load.table, load.columns, load.select, [settings.join('; ')]);
        options.onStep?.(`load ${load.table}`, performance.now() - loadStart);
        sqlDone += load.weight ?? 1;
        report();
      },
      async (index) => {
        const buildStart = performance.now();
        await buildIndex(index);
        options.onStep?.(`index ${index.table}`, performance.now() - buildStart);
        sqlDone += 1;
        report();
      },
    );
    inDatabase.catch(() => undefined);
    counts = await counting;
    counted = true;
    total = counts ? counts.all : 0;
    inNodeTotal = counts ? counts.ofTypes : 0;

    const appliers = inNode.map((projection) => projection.replayApplier?.() ?? null);
    const atEnd = appliers.filter((applier): applier is ReplayApplier => applier?.writesOnceAtEnd === true);
    let next: Promise<readonly RecordedEvent[]> = inNode.length > 0 ? read(position) : Promise.resolve([]);
    // The batch being written: at most one, while the next one is read and computed.
    let writing: Promise<void> = Promise.resolve();
    for (;;) {
      const all = await next;
      // Without a SQL store to stop the read at `upTo`, events appended since are left to the runner.
      const end = all.findIndex((event) => comparePositions(event.position, upTo) > 0);
      const events = end < 0 ? all : all.slice(0, end);
      if (events.length === 0) break;
      position = events.at(-1)!.position;
      const more = end < 0 && events.length === batchSize;
      // Read ahead: the next batch comes over another connection while this one is applied.
      if (more) {
        next = read(position);
        next.catch(() => undefined);
      }
      // Computing is synchronous: a slice at a time, so that the batch being written (and the one
      // being read) get their turns on the connections meanwhile.
      for (let from = 0; from < events.length; from += COMPUTE_SLICE) {
        const slice = events.slice(from, from + COMPUTE_SLICE);
        for (const [i, applier] of appliers.entries()) {
          const mine = applier ? slice.filter((event) => handlesType(handled[i]!, event.type)) : [];
          if (mine.length > 0) applier!.apply(mine);
        }
        await yieldToConnections();
      }
      const writes: BatchWrite[] = [];
      for (const [i, projection] of inNode.entries()) {
        const applier = appliers[i];
        if (applier) {
          if (applier.writesOnceAtEnd) continue;
          writes.push(applier.takeWrites());
          await yieldToConnections();
          continue;
        }
        const mine = events.filter((event) => handlesType(handled[i]!, event.type));
        if (mine.length > 0) writes.push((tx) => projection.applyBatch(tx, mine));
      }
      await writing;
      writing = inTransaction(writeAll(...writes));
      writing.catch(() => undefined);
      applied += events.length;
      report();
      if (!more) break;
    }
    await writing;
    if (atEnd.length > 0) await inTransaction(writeAll(...atEnd.map((applier) => applier.takeWrites())));
    step('Node.js part');
    // Two at a time: the machine's other core builds the next index (or the SQL part goes on there).
    await loadThenIndex([], deferred.filter((index) => !sqlTables.has(index.table)), 2, async () => undefined, buildIndex);
    step('Node.js indexes');
    await inDatabase;
    // Whoever read the copy has seen it fail already; this is for a copy no one ended up reading.
    await few;
    step('SQL part');
    await db.transaction(async (tx) => {
      const names = projections.map((p) => p.name).sort();
      await tx.query(
        `INSERT INTO ${quoted(live)}.projection_checkpoints (projection, position_major, position_minor)
         SELECT unnest($1::text[]), 0, 0 ON CONFLICT DO NOTHING`,
        [names],
      );
      // The runner in service waits here; when it goes on, it starts after `upTo`.
      await tx.query(`SELECT 1 FROM ${quoted(live)}.projection_checkpoints WHERE projection = ANY($1::text[]) ORDER BY projection FOR UPDATE`, [names]);
      const tables = projections.flatMap((p) => p.tables);
      // One script: a statement per table would be a round trip each while the runner in service waits.
      if (tables.length > 0) {
        await tx.exec(
          [
            `DROP TABLE IF EXISTS ${tables.map((table) => `${quoted(live)}.${quoted(table)}`).join(', ')} CASCADE`,
            ...tables.map((table) => `ALTER TABLE ${quoted(shadow)}.${quoted(table)} SET SCHEMA ${quoted(live)}`),
          ].join(';\n'),
        );
      }
      // What is left of the replay schema goes with this commit, which waits for the disk anyway
      // (it drops the old tables' files): one such wait, not two.
      await tx.exec(`DROP SCHEMA ${quoted(shadow)} CASCADE`);
      await tx.query(
        `UPDATE ${quoted(live)}.projection_checkpoints SET position_major = $2, position_minor = $3, updated_at = now() WHERE projection = ANY($1::text[])`,
        [names, upTo.major.toString(), upTo.minor.toString()],
      );
    });
    swapped = true;
    step('swap');
    options.onSwapped?.(upTo);
    // Every event up to `upTo` is in the new read models now (from KurrentDB: every one read).
    const covered = counts ? counts.all : applied;
    const seconds = (performance.now() - started) / 1000;
    options.onProgress?.({ projection: label, applied: covered, position: upTo, total: covered, eventsPerSecond: covered / seconds, etaSeconds: 0 });
    return { applied: covered, position: upTo };
  } finally {
    if (!swapped) {
      await db.exec(`DROP SCHEMA IF EXISTS ${quoted(shadow)} CASCADE`);
      step('cleanup');
    }
  }
};
