import { MATCH_EVENT_TYPES, USER_EVENT_TYPES, type MatchEvent, type UserEvent } from '../../src/domain';
import { projection } from '../../src/projectionEngine/projection';
import type { RecordedEvent } from '../../src/eventstore/eventStore';
import {
  POSITION_COLUMNS,
  RowSet,
  copyRows,
  copyWrite,
  writeAll,
  type BatchWrite,
  insertRowsIgnoringExisting,
  markApplied,
  notYetAppliedTo,
  tableSpec,
  type PositionedRow,
} from '../../src/projectionEngine/rows';
import { historyEntriesOf, needsMatchContext, type HistoryEntry, type MatchContext } from './userHistory.entries';
import { userHistoryInDatabase } from './userHistory.replay';
import type { SqlExecutor } from '../../src/sql/sqlDatabase';
import { LAST_POSITION_COLUMNS, asDomainEvent, positionParams } from '../shared/projectionSupport';

/**
 * One row per (event, user) for every event that touched the user or one of their personas: the
 * user's own stream, and the match-stream events of every match they are in. Rows are keyed by
 * the user and the event's position (which names the event as well as its id does), so a replayed
 * event inserts nothing, and the key's index is also the one a user's history is paged with,
 * newest first (read backwards); a revert marks the entry it undoes by setting (never toggling) its
 * `reverted_by_change_id`.
 *
 * rm_user_history_matches keeps, per match, what the match events that do not say it themselves
 * need (`MatchContext`): the participants its creation or request named and the status its latest
 * entry left it in.
 */
export const USER_HISTORY_SCHEMA = /* sql */ `
-- Positions as bigint and ids compared byte by byte ("C"): building this table's indexes after a
-- replay sorted numeric(20) positions and locale-collated ids, most of the replay's index time
-- (a million rows: 7 s, 2 s so). Tables made before keep numeric positions: the queries work on both.
-- The key leads with the user: a user's page reads it backwards. Tables made before were keyed by
-- position first and have a second index for the pages (rm_user_history_newest_first), which the
-- queries use there; this one is a sort of the whole table fewer to build after a replay.
CREATE TABLE IF NOT EXISTS rm_user_history (
  user_id text COLLATE "C" NOT NULL,
  position_major bigint NOT NULL,
  position_minor bigint NOT NULL,
  event_type text NOT NULL,
  field text NOT NULL,
  persona_id text,
  match_id text COLLATE "C",
  change_id text COLLATE "C",
  from_value text,
  to_value text,
  reverted_by_change_id text,
  reverted_at timestamptz,
  PRIMARY KEY (user_id, position_major, position_minor)
);
DO $$
BEGIN
  -- Tables made before were keyed by (event_id, user_id): the same rows, a key written in random order.
  IF EXISTS (SELECT 1 FROM pg_constraint
              WHERE conrelid = 'rm_user_history'::regclass AND contype = 'p' AND pg_get_constraintdef(oid) LIKE '%event_id%') THEN
    ALTER TABLE rm_user_history DROP CONSTRAINT rm_user_history_pkey;
    ALTER TABLE rm_user_history ADD PRIMARY KEY (user_id, position_major, position_minor);
  END IF;
END $$;
-- Tables made before also kept what the event says (its id, time, actor, reason, command,
-- correlation) and the sentence made of it: the history reads those from the event now.
ALTER TABLE rm_user_history
  DROP COLUMN IF EXISTS event_id, DROP COLUMN IF EXISTS occurred_at, DROP COLUMN IF EXISTS summary,
  DROP COLUMN IF EXISTS actor_id, DROP COLUMN IF EXISTS actor_role, DROP COLUMN IF EXISTS reason,
  DROP COLUMN IF EXISTS command, DROP COLUMN IF EXISTS correlation_id;
-- A revert finds the entry it undoes by change id.
CREATE INDEX IF NOT EXISTS rm_user_history_by_change ON rm_user_history (user_id, change_id) WHERE change_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS rm_user_history_matches (
  match_id text PRIMARY KEY,
  participants jsonb NOT NULL,
  status text,${LAST_POSITION_COLUMNS}
);
DO $$
BEGIN
  -- Made after the history itself: filled once from the entries already there.
  IF NOT EXISTS (SELECT 1 FROM rm_user_history_matches) AND EXISTS (SELECT 1 FROM rm_user_history WHERE match_id IS NOT NULL) THEN
    INSERT INTO rm_user_history_matches (match_id, participants, status, last_position_major, last_position_minor)
    SELECT m.match_id,
           COALESCE((SELECT jsonb_agg(jsonb_build_object('userId', h.user_id, 'personaId', h.persona_id) ORDER BY h.user_id)
                       FROM rm_user_history h
                      WHERE h.match_id = m.match_id AND h.field = 'MATCH' AND h.event_type IN ('MatchCreated', 'MatchRequested')), '[]'::jsonb),
           (SELECT h.to_value FROM rm_user_history h
             WHERE h.match_id = m.match_id AND h.field = 'MATCH' AND h.to_value IS NOT NULL
             ORDER BY h.position_major DESC, h.position_minor DESC LIMIT 1),
           m.major, m.minor
      FROM (SELECT match_id, max(position_major) AS major, max(position_minor) AS minor
              FROM rm_user_history WHERE match_id IS NOT NULL AND field = 'MATCH' GROUP BY match_id) m;
  END IF;
END $$;
-- Tables made before had an index by match, which nothing but that fill above read: every entry
-- written kept it up to date, and a replay sorted the table once more to build it.
DROP INDEX IF EXISTS rm_user_history_by_match;
`;

type HistoryEvent = UserEvent | MatchEvent;

/**
 * A row of rm_user_history: which user an event's entry is for and what the entry says changed.
 * What the event itself says (who, when, why, the sentence) the history reads from the event.
 */
export interface HistoryRow {
  user_id: string;
  position_major: string;
  position_minor: string;
  event_type: string;
  field: string;
  persona_id: string | null;
  match_id: string | null;
  change_id: string | null;
  from_value: string | null;
  to_value: string | null;
  reverted_by_change_id: string | null;
  reverted_at: string | null;
}

const column = (type: string, ...names: (keyof HistoryRow & string)[]) => names.map((name) => ({ name, type }));

const HISTORY = tableSpec<HistoryRow>({
  table: 'rm_user_history',
  key: ['user_id', 'position_major', 'position_minor'],
  columns: [
    ...column('text', 'user_id'),
    ...column('bigint', 'position_major', 'position_minor'),
    ...column('text', 'event_type', 'field', 'persona_id', 'match_id', 'change_id', 'from_value', 'to_value', 'reverted_by_change_id'),
    ...column('timestamptz', 'reverted_at'),
  ],
});

interface MatchContextRow extends PositionedRow {
  match_id: string;
  participants: MatchContext['participants'];
  status: string | null;
}

const MATCH_CONTEXTS = tableSpec<MatchContextRow>({
  table: 'rm_user_history_matches',
  key: ['match_id'],
  columns: [{ name: 'match_id', type: 'text' }, { name: 'participants', type: 'jsonb' }, { name: 'status', type: 'text' }, ...POSITION_COLUMNS],
});

// Every event of a user's stream, and match events (they touch both participants' personas).
const HISTORY_EVENT_TYPES = [...USER_EVENT_TYPES, ...MATCH_EVENT_TYPES] as const satisfies readonly HistoryEvent['type'][];
const MATCH_TYPES = new Set<string>(MATCH_EVENT_TYPES);
const isMatchEvent = (event: HistoryEvent): event is MatchEvent => MATCH_TYPES.has(event.type);

const LAST_ENTRIES = `SELECT u.user_id, h.position_major::text AS major, h.position_minor::text AS minor
   FROM unnest($1::text[]) AS u(user_id)
   JOIN LATERAL (SELECT position_major, position_minor FROM rm_user_history h WHERE h.user_id = u.user_id
                  ORDER BY position_major DESC, position_minor DESC LIMIT 1) h ON true`;

/**
 * Whether none of these rows (in log order) can be in the history yet: each user's first one comes
 * after the last entry that user has there (one look per user down the key's index, user first).
 */
const noneWritten = async (tx: SqlExecutor, rows: readonly HistoryRow[]): Promise<boolean> => {
  const firsts = new Map<string, HistoryRow>();
  for (const row of rows) if (!firsts.has(row.user_id)) firsts.set(row.user_id, row);
  if (firsts.size === 0) return true;
  const { rows: lasts } = await tx.query<{ user_id: string; major: string; minor: string }>(LAST_ENTRIES, [[...firsts.keys()]], { name: 'rm_user_history_lasts_v1' });
  return lasts.every((last) => {
    const first = firsts.get(last.user_id)!;
    const major = BigInt(first.position_major);
    return major > BigInt(last.major) || (major === BigInt(last.major) && BigInt(first.position_minor) > BigInt(last.minor));
  });
};

export const userHistoryProjection = projection<HistoryEvent>({
  name: 'user_history',
  handles: HISTORY_EVENT_TYPES,
  schema: USER_HISTORY_SCHEMA,
  tables: ['rm_user_history', 'rm_user_history_matches'],
  // A revert of a change made in an earlier batch finds its entry by change id.
  readsWhileApplying: ['rm_user_history_by_change'],
  // A replay in Node.js writes every entry once (COPY), so the key is sorted once at the end instead
  // of kept up to date entry by entry (it leads with the user: entries arrive all over it).
  replayKeysAfter: ['rm_user_history'],
  applyBatch: async (tx, events) => {
    const contexts = await RowSet.load(
      tx,
      MATCH_CONTEXTS,
      (row) => row.match_id,
      events.flatMap((event) => (MATCH_TYPES.has(event.type) ? [[(event.data as { matchId: string }).matchId]] : [])),
    );
    const { rows, reverts } = entriesOf(contexts, events, newEntries());
    // Nothing of this batch can be there yet when each user's history ends before it (the runner moving
    // on); otherwise some of it may be (a rebuild replaying what is there), and what is there is left as it is.
    if (await noneWritten(tx, rows)) await copyRows(tx, HISTORY, rows);
    else await insertRowsIgnoringExisting(tx, HISTORY, rows);
    await writeAll(revertsWrite(reverts), contexts.takeWrites())(tx);
  },
  replayInDatabase: userHistoryInDatabase,
  replayApplier: () => {
    const contexts = RowSet.empty(MATCH_CONTEXTS, (row) => row.match_id);
    let pending = newEntries();
    return {
      apply: (events) => {
        entriesOf(contexts, events, pending);
      },
      takeWrites: () => {
        const { rows, reverts } = pending;
        pending = newEntries();
        return writeAll(copyWrite(HISTORY, rows), revertsWrite([...reverts.values()]), contexts.takeWrites());
      },
    };
  },
});

interface Revert {
  readonly user_id: string;
  readonly reverted_change_id: string;
  readonly change_id: string;
  readonly at: string;
}

/** A batch's entries so far, by change id where they have one, and the reverts of changes from earlier batches. */
interface Entries {
  readonly rows: HistoryRow[];
  readonly byChange: Map<string, HistoryRow>;
  readonly reverts: Map<string, Revert>;
}

const newEntries = (): Entries => ({ rows: [], byChange: new Map(), reverts: new Map() });

/** Adds the events' entries to the batch's. */
const entriesOf = (
  contexts: RowSet<MatchContextRow>,
  events: readonly RecordedEvent<HistoryEvent>[],
  into: Entries,
): { rows: HistoryRow[]; reverts: Revert[] } => {
  const { rows, byChange, reverts } = into;
  for (const recorded of events) {
    const event = asDomainEvent(recorded);
    const [major, minor] = positionParams(recorded);
    const matchRow = isMatchEvent(event) ? contexts.get(event.data.matchId) : undefined;
    const context = needsMatchContext(event) ? { participants: matchRow?.participants ?? [], status: matchRow?.status ?? null } : undefined;
    const entries = historyEntriesOf(event, context);
    for (const entry of entries) {
      const row: HistoryRow = {
        user_id: entry.userId,
        position_major: major,
        position_minor: minor,
        event_type: recorded.type,
        field: entry.field,
        persona_id: entry.personaId,
        match_id: entry.matchId,
        change_id: entry.changeId,
        from_value: entry.from,
        to_value: entry.to,
        reverted_by_change_id: null,
        reverted_at: null,
      };
      rows.push(row);
      if (entry.changeId !== null) byChange.set(`${entry.userId}\u0000${entry.changeId}`, row);
    }
    if (isMatchEvent(event)) evolveContext(contexts, recorded as RecordedEvent<MatchEvent>, entries);
    if (event.type === 'UserStatusChangeReverted') {
      // The undone entry may itself be a revert: reverts are entries with change ids like any change.
      const { userId, revertedChangeId, changeId } = event.data;
      const key = `${userId}\u0000${revertedChangeId}`;
      const undone = byChange.get(key);
      const at = recorded.metadata.occurredAt;
      if (undone) Object.assign(undone, { reverted_by_change_id: changeId, reverted_at: at });
      else reverts.set(key, { user_id: userId, reverted_change_id: revertedChangeId, change_id: changeId, at });
    }
  }
  return { rows, reverts: [...reverts.values()] };
};

/** Marks the entries of earlier batches that this batch's reverts undo. */
const revertsWrite = (reverts: readonly Revert[]): BatchWrite => {
  if (reverts.length === 0) return async () => undefined;
  const json = JSON.stringify(reverts);
  return async (tx) => {
    await tx.query(
      `UPDATE rm_user_history h SET reverted_by_change_id = r.change_id, reverted_at = r.at
         FROM json_to_recordset($1::json) AS r(user_id text, reverted_change_id text, change_id text, at timestamptz)
        WHERE h.user_id = r.user_id AND h.change_id = r.reverted_change_id`,
      [json],
    );
  };
};

/** What a match event's entries tell later events of the match: its participants, its latest status. */
const evolveContext = (contexts: RowSet<MatchContextRow>, recorded: RecordedEvent<MatchEvent>, entries: readonly HistoryEntry[]): void => {
  const { matchId } = recorded.data;
  if (!contexts.get(matchId)) contexts.insert({ match_id: matchId, participants: [], status: null, last_position_major: '0', last_position_minor: '0' });
  const row = contexts.get(matchId)!;
  if (!notYetAppliedTo(row, recorded)) return;
  if (recorded.type === 'MatchCreated' || recorded.type === 'MatchRequested') {
    row.participants = entries
      .map((entry) => ({ userId: entry.userId, personaId: entry.personaId! }))
      .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  }
  const status = entries.findLast((entry) => entry.to !== null)?.to;
  if (status !== undefined && status !== null) row.status = status;
  markApplied(row, recorded);
  contexts.touch(matchId);
};
