import type { GlobalPosition, RecordedEvent } from '../eventstore/eventStore';
import { copyValue, preparedName, type SqlExecutor } from '../sql/sqlDatabase';

/**
 * Set-at-a-time writing for projections that apply a batch of events at once: the rows a batch
 * touches are loaded with one query per table, evolved in memory event by event, and written back
 * with one statement per table (COPY for the rows that are new, an upsert for the rest).
 */

/** A table as the projection writes it: every column it writes, with its SQL type, and the key. */
export interface TableSpec<Row> {
  readonly table: string;
  readonly key: readonly (keyof Row & string)[];
  readonly columns: readonly Column<Row>[];
}

export interface Column<Row> {
  readonly name: keyof Row & string;
  /** The SQL type to read the value as (`text`, `integer`, `numeric`, `timestamptz`, `jsonb`, ...). */
  readonly type: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const checked = <Row>(spec: TableSpec<Row>): TableSpec<Row> => {
  for (const name of [spec.table, ...spec.columns.map((c) => c.name)]) {
    if (!IDENTIFIER.test(name)) throw new Error(`Unsafe SQL identifier: ${name}`);
  }
  for (const key of spec.key) if (!spec.columns.some((c) => c.name === key)) throw new Error(`${spec.table}: key ${key} is not a column`);
  return spec;
};

export const tableSpec = <Row>(spec: TableSpec<Row>): TableSpec<Row> => checked(spec);

const recordsetOf = <Row>(spec: TableSpec<Row>): string => spec.columns.map((c) => `${c.name} ${c.type}`).join(', ');
const columnList = <Row>(spec: TableSpec<Row>): string => spec.columns.map((c) => c.name).join(', ');

/** The rows as JSON for `json_to_recordset` (one parameter, however many rows). */
const jsonRows = <Row>(rows: readonly Row[]): string => JSON.stringify(rows, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));

/**
 * COPY's text for rows of a table, one line per row. The encoder is generated once per table: it
 * reads each column as a named property of a row of known shape (a generic `row[name]` per column
 * was a quarter of a replay's encoding time). Safe to generate: `tableSpec` only admits plain
 * identifiers as column names.
 */
const encoders = new WeakMap<TableSpec<unknown>, (row: unknown) => string>();
const encoderOf = <Row>(spec: TableSpec<Row>): ((row: Row) => string) => {
  let encode = encoders.get(spec as TableSpec<unknown>);
  if (!encode) {
    const line = checked(spec).columns.map((c) => `value(row.${c.name})`).join(" + '\\t' + ");
    encode = new Function('value', `return (row) => ${line} + '\\n';`)(copyValue) as (row: unknown) => string;
    encoders.set(spec as TableSpec<unknown>, encode);
  }
  return encode;
};

const copyTextOf = <Row>(spec: TableSpec<Row>, rows: readonly Row[]): string => {
  const encode = encoderOf(spec);
  const lines: string[] = new Array(rows.length);
  for (let r = 0; r < rows.length; r++) lines[r] = encode(rows[r]!);
  return lines.join('');
};

/** The COPY of rows that cannot exist yet, encoded now. */
export const copyWrite = <Row>(spec: TableSpec<Row>, rows: readonly Row[]): BatchWrite => {
  if (rows.length === 0) return async () => undefined;
  const text = copyTextOf(spec, rows);
  return (tx) => tx.copyFrom(spec.table, spec.columns.map((c) => c.name), text);
};

/** Writes rows that cannot exist yet with COPY. */
export const copyRows = <Row>(tx: SqlExecutor, spec: TableSpec<Row>, rows: readonly Row[]): Promise<void> => copyWrite(spec, rows)(tx);

/** Inserts rows, leaving alone any whose key is already there. */
export const insertRowsIgnoringExisting = async <Row>(tx: SqlExecutor, spec: TableSpec<Row>, rows: readonly Row[]): Promise<void> => {
  if (rows.length === 0) return;
  const sql = `INSERT INTO ${spec.table} (${columnList(spec)})
     SELECT ${columnList(spec)} FROM json_to_recordset($1::json) AS x(${recordsetOf(spec)})
     ON CONFLICT (${spec.key.join(', ')}) DO NOTHING`;
  await tx.query(sql, [jsonRows(rows)], { name: preparedName('rows_insert', sql) });
};

const upsertJson = async <Row>(tx: SqlExecutor, spec: TableSpec<Row>, json: string): Promise<void> => {
  const updated = spec.columns.filter((c) => !spec.key.includes(c.name));
  const sql = `INSERT INTO ${spec.table} (${columnList(spec)})
     SELECT ${columnList(spec)} FROM json_to_recordset($1::json) AS x(${recordsetOf(spec)})
     ON CONFLICT (${spec.key.join(', ')}) DO ${
       updated.length === 0 ? 'NOTHING' : `UPDATE SET ${updated.map((c) => `${c.name} = EXCLUDED.${c.name}`).join(', ')}`
     }`;
  await tx.query(sql, [json], { name: preparedName('rows_upsert', sql) });
};

/** The rows whose keys are given, by their joined key (`keyOf`). Keys are text columns. */
const loadRows = async <Row>(
  tx: SqlExecutor,
  spec: TableSpec<Row>,
  keys: readonly (readonly string[])[],
  keyOf: (row: Row) => string,
): Promise<Map<string, Row>> => {
  const found = new Map<string, Row>();
  if (keys.length === 0) return found;
  const select = spec.columns.map((c) => (c.type === 'timestamptz' ? `${ISO(c.name)} AS ${c.name}` : c.type.startsWith('numeric') || c.type === 'bigint' ? `${c.name}::text AS ${c.name}` : c.name));
  const wanted = spec.key.map((_, i) => keys.map((key) => key[i]!));
  const sql =
    spec.key.length === 1
      ? `SELECT ${select.join(', ')} FROM ${spec.table} WHERE ${spec.key[0]} = ANY($1::text[])`
      : `SELECT ${select.join(', ')} FROM ${spec.table}
          WHERE (${spec.key.join(', ')}) IN (SELECT * FROM unnest(${spec.key.map((_, i) => `$${i + 1}::text[]`).join(', ')}))`;
  const { rows } = await tx.query<Row>(sql, wanted, { name: preparedName('rows_load', sql), rowsAsJson: spec.columns.every((c) => AS_JSON.test(c.type)) });
  for (const row of rows) found.set(keyOf(row), row);
  return found;
};

/**
 * Column types whose values, as \`loadRows\` selects them, read back the same carried as JSON
 * (QueryOptions.rowsAsJson; numbers and times are selected as text): on the embedded store a batch's
 * rows then cost less than half as much to read (one field a row to decode instead of every column).
 */
const AS_JSON = /^(text|integer|boolean|jsonb?|numeric(\(.*\))?|bigint|timestamptz)$/;

// Timestamps read back as ISO-8601 in UTC with milliseconds: the shape events carry and COPY reads.
const ISO = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Columns every stream-keyed row carries: the position of the last event applied to it, as numeric text. */
export interface PositionedRow {
  last_position_major: string;
  last_position_minor: string;
}

export const POSITION_COLUMNS = [
  { name: 'last_position_major', type: 'numeric' },
  { name: 'last_position_minor', type: 'numeric' },
] as const satisfies readonly Column<PositionedRow>[];

/** Compares two non-negative integers written in decimal without leading zeros. */
const compareDecimal = (a: string, b: string): number => (a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0);

/** The row has not yet seen this event (the runner applies events in log order: an older one is a replay). */
export const notYetAppliedTo = (row: PositionedRow, event: RecordedEvent): boolean => {
  const major = compareDecimal(event.position.major.toString(), row.last_position_major);
  return major > 0 || (major === 0 && compareDecimal(event.position.minor.toString(), row.last_position_minor) > 0);
};

/** Records on the row that it has seen the event. */
export const markApplied = (row: PositionedRow, event: RecordedEvent): void => {
  row.last_position_major = event.position.major.toString();
  row.last_position_minor = event.position.minor.toString();
};

export const positionOf = (event: RecordedEvent): PositionedRow => ({
  last_position_major: event.position.major.toString(),
  last_position_minor: event.position.minor.toString(),
});

/** Statements that write what a batch changed, to run inside the transaction that applies it. */
export type BatchWrite = (tx: SqlExecutor) => Promise<void>;

export const writeAll =
  (...writes: readonly BatchWrite[]): BatchWrite =>
  async (tx) => {
    for (const write of writes) await write(tx);
  };

/**
 * The rows of one table that a batch touches, kept by key: loaded once, changed in memory, and
 * written once (new rows with COPY, changed ones with one upsert).
 *
 * A replay into an empty table keeps one set for all its batches (`RowSet.empty`): every row of the
 * table is one the set made, so a batch reads nothing back.
 */
export class RowSet<Row extends object> {
  private readonly rows = new Map<string, Row>();
  private readonly stored = new Set<string>();
  private readonly changed = new Set<string>();

  private constructor(
    private readonly spec: TableSpec<Row>,
    private readonly keyOf: (row: Row) => string,
  ) {}

  /** Loads the rows with these keys (each key as its columns' values, in `spec.key` order). */
  static async load<Row extends object>(
    tx: SqlExecutor,
    spec: TableSpec<Row>,
    keyOf: (row: Row) => string,
    keys: Iterable<readonly string[]>,
  ): Promise<RowSet<Row>> {
    const set = new RowSet(spec, keyOf);
    const unique = new Map<string, readonly string[]>();
    for (const key of keys) unique.set(key.join('\u0000'), key);
    for (const [key, row] of await loadRows(tx, spec, [...unique.values()], keyOf)) {
      set.rows.set(key, row);
      set.stored.add(key);
    }
    return set;
  }

  /** A set for a table that starts empty and that only this set writes. */
  static empty<Row extends object>(spec: TableSpec<Row>, keyOf: (row: Row) => string): RowSet<Row> {
    return new RowSet(spec, keyOf);
  }

  get(key: string): Row | undefined {
    return this.rows.get(key);
  }

  /** Adds a row unless one with its key is there (as `INSERT ... ON CONFLICT DO NOTHING`). */
  insert(row: Row): void {
    const key = this.keyOf(row);
    if (this.rows.has(key)) return;
    this.rows.set(key, row);
    this.changed.add(key);
  }

  /** Records that the row with this key was changed in place. */
  touch(key: string): void {
    if (this.rows.has(key)) this.changed.add(key);
  }

  /**
   * The writes of what changed since the last call, encoded now (later changes to the rows do not
   * alter them), after which the rows count as stored.
   */
  takeWrites(): BatchWrite {
    const fresh: Row[] = [];
    const rewritten: Row[] = [];
    for (const key of this.changed) (this.stored.has(key) ? rewritten : fresh).push(this.rows.get(key)!);
    for (const key of this.changed) this.stored.add(key);
    this.changed.clear();
    // Keys not found when the batch began cannot appear meanwhile: only the runner holding the
    // projection's checkpoint lock (or the replay that owns the table) writes its tables.
    const copy = fresh.length > 0 ? copyTextOf(this.spec, fresh) : null;
    const upsert = rewritten.length > 0 ? jsonRows(rewritten) : null;
    return async (tx) => {
      if (copy !== null) await tx.copyFrom(this.spec.table, this.spec.columns.map((c) => c.name), copy);
      if (upsert !== null) await upsertJson(tx, this.spec, upsert);
    };
  }

  flush(tx: SqlExecutor): Promise<void> {
    return this.takeWrites()(tx);
  }
}

/** Whether every event is after the given position (rows keyed by later positions cannot exist yet). */
export const allAfter = (events: readonly RecordedEvent[], position: GlobalPosition | null): boolean => {
  if (position === null || events.length === 0) return true;
  const first = events[0]!.position;
  return first.major > position.major || (first.major === position.major && first.minor > position.minor);
};
