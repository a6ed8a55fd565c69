import { createHash } from 'node:crypto';
import type { SqlExecutor } from '../sql/sqlDatabase';

/**
 * Tamper evidence for the SQL event store (PostgreSQL and PGlite).
 *
 * On append, each event gets `hash = sha256(previous hash || canonical text of the event)`, where the
 * previous hash is that of the stream's previous event (32 zero bytes before revision 0); the event
 * keeps its `previous_hash` too, and `es_streams.last_hash` keeps the stream's head (see
 * `es_event_hash` in sqlEventStore.ts). `verifyChains` rebuilds the canonical text here, in
 * TypeScript, from the stored columns and hashes it with Node's crypto: an independent second
 * implementation, so a database whose hash function was replaced cannot vouch for itself.
 *
 * What it catches: an event edited in place (ALTERED), an event edited and re-hashed (the link from
 * the next event breaks: CHAIN_BROKEN), an event removed from the middle (MISSING), the tail removed
 * (HEAD_MISMATCH). What it cannot catch alone: someone with write access who rewrites every hash
 * from the edit to the stream's head, `es_streams.last_hash` included, leaves a valid chain. Only a
 * copy of the heads kept outside the database (an external anchor) exposes that.
 */

export type ChainProblemKind = 'ALTERED' | 'CHAIN_BROKEN' | 'MISSING' | 'HEAD_MISMATCH';

export interface ChainProblem {
  /**
   * ALTERED: the event's stored hash is not the hash of its content and stored previous hash (or
   * either hash is missing). CHAIN_BROKEN: the event's previous hash is not the stored hash of the
   * event before it (that one was edited and re-hashed). MISSING: revisions are missing before this
   * point (events removed). HEAD_MISMATCH: the stream's recorded revision or head hash disagrees with
   * its last stored event (the tail was removed, or the stream record was edited).
   */
  readonly kind: ChainProblemKind;
  readonly streamId: string;
  /** ALTERED, CHAIN_BROKEN: the event's; MISSING: the first missing one; HEAD_MISMATCH: the stream record's. */
  readonly revision: number;
  /** The event's id; MISSING: null (the event is gone); HEAD_MISMATCH: the last stored event's, if any. */
  readonly eventId: string | null;
  /** A sentence for the person reading the report. */
  readonly detail: string;
}

export interface ChainProgress {
  readonly streamsChecked: number;
  readonly eventsChecked: number;
  readonly problemCount: number;
}

export interface ChainReport extends ChainProgress {
  /** True when no problem was found. */
  readonly intact: boolean;
  /** The first `maxProblems` problems, in stream id and revision order; `problemCount` counts all. */
  readonly problems: readonly ChainProblem[];
}

export interface VerifyChainsOptions {
  /** Verify this stream only. */
  readonly streamId?: string;
  /** Events read per query (default 1,000): memory stays flat however long the log. */
  readonly batchSize?: number;
  /** Problems kept in the report (default 1,000); the rest are only counted. */
  readonly maxProblems?: number;
  /** Called after each batch. */
  readonly onProgress?: (progress: ChainProgress) => void;
}

export const GENESIS_HASH = '0'.repeat(64);

interface ChainRow {
  stream_id: string;
  revision: number;
  event_id: string;
  event_type: string;
  schema_version: number;
  data: string;
  metadata: string;
  previous_hash: string | null;
  hash: string | null;
  head_revision: number | null;
  head_hash: string | null;
  has_head: boolean;
}

/** PostgreSQL's length(text): characters (code points), not UTF-16 units. */
const characters = (text: string): number => {
  if (!/[\uD800-\uDFFF]/.test(text)) return text.length;
  let n = 0;
  for (const _ of text) n++;
  return n;
};

/** The canonical text `es_event_hash` hashes (keep the two identical). */
export const canonicalEventText = (event: {
  streamId: string;
  revision: number;
  eventId: string;
  eventType: string;
  schemaVersion: number;
  /** jsonb's own rendering of the stored value (`data::text`), not JSON.stringify. */
  dataText: string;
  metadataText: string;
}): string =>
  `${characters(event.streamId)}\n${event.streamId}\n${event.revision}\n${event.eventId}\n` +
  `${characters(event.eventType)}\n${event.eventType}\n${event.schemaVersion}\n${event.dataText}\n${event.metadataText}`;

const hashOf = (previousHex: string, row: ChainRow): string =>
  createHash('sha256')
    .update(Buffer.from(previousHex, 'hex'))
    .update(
      canonicalEventText({
        streamId: row.stream_id,
        revision: row.revision,
        eventId: row.event_id,
        eventType: row.event_type,
        schemaVersion: row.schema_version,
        dataText: row.data,
        metadataText: row.metadata,
      }),
      'utf8',
    )
    .digest('hex');

const COLUMNS = `e.stream_id, e.revision, e.event_id::text AS event_id, e.event_type, e.schema_version,
  e.data::text AS data, e.metadata::text AS metadata,
  encode(e.previous_hash, 'hex') AS previous_hash, encode(e.hash, 'hex') AS hash,
  s.revision AS head_revision, encode(s.last_hash, 'hex') AS head_hash, s.stream_id IS NOT NULL AS has_head`;

/** What is known of the stream being walked: its last stored event. */
interface StreamWalk {
  readonly streamId: string;
  lastRevision: number;
  lastEventId: string;
  lastHash: string | null;
  headRevision: number | null;
  headHash: string | null;
  hasHead: boolean;
}

/**
 * Recomputes every stream's chain (or one stream's) from the stored rows, in batches in stream id
 * and revision order, and reports each problem found. Reads only; safe while appends go on (each
 * batch reads events and their stream's head in one statement, so they agree). One pass over
 * es_events in primary-key order, then one over es_streams for streams that have no events left.
 */
export const verifyChains = async (db: SqlExecutor, options: VerifyChainsOptions = {}): Promise<ChainReport> => {
  const batchSize = options.batchSize ?? 1000;
  const maxProblems = options.maxProblems ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('verifyChains: batchSize must be a positive integer');
  const problems: ChainProblem[] = [];
  let problemCount = 0;
  let streamsChecked = 0;
  let eventsChecked = 0;
  const report = (problem: ChainProblem): void => {
    problemCount++;
    if (problems.length < maxProblems) problems.push(problem);
  };
  const progress = (): void => options.onProgress?.({ streamsChecked, eventsChecked, problemCount });

  const finish = (walk: StreamWalk): void => {
    streamsChecked++;
    const { streamId, lastRevision, lastEventId } = walk;
    if (!walk.hasHead) {
      report({
        kind: 'HEAD_MISMATCH',
        streamId,
        revision: lastRevision,
        eventId: lastEventId,
        detail: `Stream ${streamId} has events up to revision ${lastRevision} but no stream record.`,
      });
    } else if (walk.headRevision !== lastRevision) {
      report({
        kind: 'HEAD_MISMATCH',
        streamId,
        revision: walk.headRevision!,
        eventId: lastEventId,
        detail:
          walk.headRevision! > lastRevision
            ? `Stream ${streamId} is recorded at revision ${walk.headRevision} but its last event is at revision ${lastRevision}: ` +
              `the events after it were removed.`
            : `Stream ${streamId} is recorded at revision ${walk.headRevision} but has events up to revision ${lastRevision}.`,
      });
    } else if (walk.headHash !== walk.lastHash) {
      report({
        kind: 'HEAD_MISMATCH',
        streamId,
        revision: lastRevision,
        eventId: lastEventId,
        detail: `Stream ${streamId}'s recorded head hash is not the hash of its last event (revision ${lastRevision}).`,
      });
    }
  };

  const filter = options.streamId === undefined ? '' : 'AND e.stream_id = $4';
  let walk: StreamWalk | null = null;
  let after: { streamId: string; revision: number } | null = null;
  for (;;) {
    const params: unknown[] = [after?.streamId ?? null, after?.revision ?? null, batchSize];
    if (options.streamId !== undefined) params.push(options.streamId);
    // Two texts rather than `$1 IS NULL OR ...`, so that both use the primary key for the range.
    const { rows }: { rows: ChainRow[] } = await db.query<ChainRow>(
      `SELECT ${COLUMNS} FROM es_events e LEFT JOIN es_streams s ON s.stream_id = e.stream_id
        WHERE ${after ? '(e.stream_id, e.revision) > ($1::text, $2::integer)' : '$1::text IS NULL AND $2::integer IS NULL'} ${filter}
        ORDER BY e.stream_id, e.revision LIMIT $3`,
      params,
    );
    for (const row of rows) {
      eventsChecked++;
      let expectedRevision = 0;
      let expectedPrevious: string | null = GENESIS_HASH;
      if (walk && walk.streamId === row.stream_id) {
        expectedRevision = walk.lastRevision + 1;
        expectedPrevious = walk.lastHash;
      } else if (walk) {
        finish(walk);
        walk = null;
      }
      let linkCheckable = expectedPrevious !== null;
      if (row.revision !== expectedRevision) {
        report({
          kind: 'MISSING',
          streamId: row.stream_id,
          revision: expectedRevision,
          eventId: null,
          detail:
            row.revision - 1 === expectedRevision
              ? `Stream ${row.stream_id} has no event at revision ${expectedRevision}: it was removed.`
              : `Stream ${row.stream_id} has no events at revisions ${expectedRevision} to ${row.revision - 1}: they were removed.`,
        });
        // The removed event's hash is gone with it: the next link cannot be checked.
        linkCheckable = false;
      }
      if (row.hash === null || row.previous_hash === null) {
        report({
          kind: 'ALTERED',
          streamId: row.stream_id,
          revision: row.revision,
          eventId: row.event_id,
          detail: `Event ${row.event_id} (${row.stream_id}@${row.revision}) has no stored hash.`,
        });
      } else if (hashOf(row.previous_hash, row) !== row.hash) {
        report({
          kind: 'ALTERED',
          streamId: row.stream_id,
          revision: row.revision,
          eventId: row.event_id,
          detail: `Event ${row.event_id} (${row.stream_id}@${row.revision}) does not match its stored hash: it was changed after it was written.`,
        });
      }
      if (linkCheckable && row.previous_hash !== null && row.previous_hash !== expectedPrevious) {
        report({
          kind: 'CHAIN_BROKEN',
          streamId: row.stream_id,
          revision: row.revision,
          eventId: row.event_id,
          detail:
            row.revision === 0
              ? `Event ${row.event_id} (${row.stream_id}@0) does not start from the chain's first link.`
              : `Event ${row.event_id} (${row.stream_id}@${row.revision}) does not link to the stored hash of revision ${row.revision - 1}: ` +
                `that event was changed and re-hashed.`,
        });
      }
      walk ??= {
        streamId: row.stream_id,
        lastRevision: row.revision,
        lastEventId: row.event_id,
        lastHash: row.hash,
        headRevision: row.head_revision,
        headHash: row.head_hash,
        hasHead: row.has_head,
      };
      walk.lastRevision = row.revision;
      walk.lastEventId = row.event_id;
      walk.lastHash = row.hash;
      // The latest batch's view of the head, read in the same statement as this event.
      walk.headRevision = row.head_revision;
      walk.headHash = row.head_hash;
      walk.hasHead = row.has_head;
    }
    const last: ChainRow | undefined = rows.at(-1);
    if (last) after = { streamId: last.stream_id, revision: last.revision };
    progress();
    if (rows.length < batchSize) break;
  }
  if (walk) finish(walk);

  // Stream records whose events are all gone.
  let afterStream: string | null = null;
  for (;;) {
    const params: unknown[] = [afterStream, batchSize];
    if (options.streamId !== undefined) params.push(options.streamId);
    const { rows }: { rows: { stream_id: string; revision: number }[] } = await db.query<{ stream_id: string; revision: number }>(
      `SELECT s.stream_id, s.revision FROM es_streams s
        WHERE ${afterStream === null ? '$1::text IS NULL' : 's.stream_id > $1::text'}
          ${options.streamId === undefined ? '' : 'AND s.stream_id = $3'}
          AND NOT EXISTS (SELECT 1 FROM es_events e WHERE e.stream_id = s.stream_id)
        ORDER BY s.stream_id LIMIT $2`,
      params,
    );
    for (const row of rows) {
      streamsChecked++;
      report({
        kind: 'HEAD_MISMATCH',
        streamId: row.stream_id,
        revision: row.revision,
        eventId: null,
        detail: `Stream ${row.stream_id} is recorded at revision ${row.revision} but has no events: they were removed.`,
      });
    }
    if (rows.length > 0) progress();
    if (rows.length < batchSize) break;
    afterStream = rows.at(-1)!.stream_id;
  }

  return { intact: problemCount === 0, streamsChecked, eventsChecked, problemCount, problems };
};
