import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { verifyChains, type ChainReport } from '../../src/eventstore/tamperEvidence';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { newEvent } from './eventStore.contract';

announcePostgresSkip('tamper evidence');

const problems = (report: ChainReport) => report.problems.map((p) => [p.kind, p.streamId, p.revision, p.eventId]);

describe.each(sqlBackends())('tamper evidence on $name', ({ open }) => {
  let db: SqlDatabase;
  let close: () => Promise<void>;
  let store: SqlEventStore;

  beforeEach(async () => {
    ({ db, close } = await open());
    store = await SqlEventStore.create(db);
  });
  afterEach(() => close());

  /** Five events in stream a (appended one by one and in a batch), three in b; ids by revision. */
  const seed = async (): Promise<{ a: string[]; b: string[] }> => {
    const a = [newEvent('A0'), newEvent('A1'), newEvent('A2'), newEvent('A3'), newEvent('A4')];
    const b = [newEvent('B0'), newEvent('B1'), newEvent('B2')];
    await store.appendToStreams([{ streamId: 'a', expectedRevision: 'no_stream', events: [a[0]!] }]);
    await store.appendToStreams([{ streamId: 'a', expectedRevision: 0, events: [a[1]!, a[2]!] }]);
    await store.appendToStreams([{ streamId: 'a', expectedRevision: 'any', events: [a[3]!] }]);
    await store.appendToStreams([{ streamId: 'b', expectedRevision: 'any', events: [b[0]!, b[1]!] }]);
    await store.appendToStreams([{ streamId: 'a', expectedRevision: 3, events: [a[4]!] }]);
    await store.appendToStreams([{ streamId: 'b', expectedRevision: 1, events: [b[2]!] }]);
    return { a: a.map((e) => e.id), b: b.map((e) => e.id) };
  };

  test('a clean log verifies clean, in any batch size, and appended and read events carry the stored hash', async () => {
    await seed();
    for (const batchSize of [1, 2, 3, 1000]) {
      const report = await verifyChains(db, { batchSize });
      expect(report).toMatchObject({ intact: true, streamsChecked: 2, eventsChecked: 8, problemCount: 0, problems: [] });
    }
    expect(await verifyChains(db, { streamId: 'b' })).toMatchObject({ intact: true, streamsChecked: 1, eventsChecked: 3 });

    const appended = await store.appendToStreams([{ streamId: 'c', expectedRevision: 'no_stream', events: [newEvent('C0'), newEvent('C1')] }]);
    const read = await store.readStream('c');
    expect(appended.events.map((e) => e.hash)).toEqual(read.events.map((e) => e.hash));
    expect(read.events.every((e) => /^[0-9a-f]{64}$/.test(e.hash!))).toBe(true);
    expect(new Set(read.events.map((e) => e.hash)).size).toBe(2);
    const stored = await db.query<{ hash: string; previous_hash: string }>(
      `SELECT encode(e.hash, 'hex') AS hash, encode(e.previous_hash, 'hex') AS previous_hash FROM es_events e WHERE e.stream_id = 'c' ORDER BY e.revision`,
    );
    expect(stored.rows[0]!.previous_hash).toBe('0'.repeat(64));
    expect(stored.rows[1]!.previous_hash).toBe(stored.rows[0]!.hash);
  });

  test('multi-stream, idempotent (first call and retry) and check-only appends produce valid chains', async () => {
    await seed();
    const writes = [
      { streamId: 'a', expectedRevision: 4, events: [newEvent('A5')] },
      { streamId: 'm', expectedRevision: 'no_stream' as const, events: [newEvent('M0'), newEvent('M1')] },
      { streamId: 'b', expectedRevision: 2, events: [] },
    ];
    const first = await store.appendToStreams(writes, { idempotencyKey: 'k1' });
    const retry = await store.appendToStreams(writes, { idempotencyKey: 'k1' });
    expect(retry.duplicate).toBe(true);
    expect(retry.events.map((e) => e.hash)).toEqual(first.events.map((e) => e.hash));
    await store.appendToStreams([
      { streamId: 'm', expectedRevision: 'any', events: [newEvent('M2')] },
      { streamId: 'n', expectedRevision: 'any', events: [newEvent('N0')] },
    ]);
    expect((await store.readStream('a')).events.at(-1)!.hash).toBe(first.events[0]!.hash);
    expect(await verifyChains(db)).toMatchObject({ intact: true, streamsChecked: 4, eventsChecked: 13 });
  });

  test('an event whose data was edited in place is ALTERED, and only that event', async () => {
    const { a } = await seed();
    await db.query(`UPDATE es_events SET data = '{"tampered": true}' WHERE stream_id = 'a' AND revision = 2`);
    const report = await verifyChains(db, { batchSize: 2 });
    expect(problems(report)).toEqual([['ALTERED', 'a', 2, a[2]]]);
    expect(report.intact).toBe(false);
  });

  test('an edited metadata or event type is ALTERED too', async () => {
    const { a, b } = await seed();
    await db.query(`UPDATE es_events SET metadata = jsonb_set(metadata, '{reason}', '"rewritten"') WHERE stream_id = 'a' AND revision = 0`);
    await db.query(`UPDATE es_events SET event_type = 'Other' WHERE stream_id = 'b' AND revision = 1`);
    expect(problems(await verifyChains(db))).toEqual([
      ['ALTERED', 'a', 0, a[0]],
      ['ALTERED', 'b', 1, b[1]],
    ]);
  });

  test('an event edited and re-hashed breaks the link from the next event (CHAIN_BROKEN), or the head if it was last', async () => {
    const { a, b } = await seed();
    // What someone who knows the scheme would do: edit the row and give it a hash that fits.
    const rehash = (stream: string, revision: number) =>
      db.query(
        `UPDATE es_events e SET data = '{"tampered": true}',
                hash = es_event_hash(e.previous_hash, e.stream_id, e.revision, e.event_id, e.event_type,
                                     e.schema_version, '{"tampered": true}'::jsonb, e.metadata)
          WHERE e.stream_id = $1 AND e.revision = $2`,
        [stream, revision],
      );
    await rehash('a', 1);
    await rehash('b', 2);
    expect(problems(await verifyChains(db))).toEqual([
      ['CHAIN_BROKEN', 'a', 2, a[2]],
      ['HEAD_MISMATCH', 'b', 2, b[2]],
    ]);
  });

  test('a removed middle event is MISSING', async () => {
    const { a } = await seed();
    await db.query(`DELETE FROM es_events WHERE stream_id = 'a' AND revision = 2`);
    const report = await verifyChains(db, { batchSize: 2 });
    expect(problems(report)).toEqual([['MISSING', 'a', 2, null]]);
    expect(report.eventsChecked).toBe(7);
    expect(a).toHaveLength(5);
  });

  test('a removed last event, or a stream with no events left, is a HEAD_MISMATCH', async () => {
    const { a } = await seed();
    await db.query(`DELETE FROM es_events WHERE stream_id = 'a' AND revision = 4`);
    await db.query(`DELETE FROM es_events WHERE stream_id = 'b'`);
    const report = await verifyChains(db, { batchSize: 1 });
    expect(problems(report)).toEqual([
      ['HEAD_MISMATCH', 'a', 4, a[3]],
      ['HEAD_MISMATCH', 'b', 2, null],
    ]);
    expect(report.streamsChecked).toBe(2);
  });

  test('progress is reported per batch and problems beyond maxProblems are only counted', async () => {
    await seed();
    await db.query(`UPDATE es_events SET data = '{}'`);
    const seen: number[] = [];
    const report = await verifyChains(db, { batchSize: 3, maxProblems: 2, onProgress: (p) => seen.push(p.eventsChecked) });
    expect(report.problemCount).toBe(8);
    expect(report.problems).toHaveLength(2);
    expect(seen).toEqual([3, 6, 8]);
  });

  test('the migration backfills chains for events that predate the hash columns, resumably and idempotently', async () => {
    await seed();
    const before = await db.query<{ hash: string }>(`SELECT encode(e.hash, 'hex') AS hash FROM es_events e ORDER BY e.stream_id, e.revision`);
    // As the database was before this feature: no hash columns at all (nor the merged view, which came later).
    await db.query(`DROP VIEW es_events_merged`);
    await db.query(`ALTER TABLE es_events DROP COLUMN hash, DROP COLUMN previous_hash`);
    await db.query(`ALTER TABLE es_streams DROP COLUMN last_hash`);
    await db.query(`ALTER TABLE es_events ADD COLUMN hash bytea, ADD COLUMN previous_hash bytea`);
    await db.query(`ALTER TABLE es_streams ADD COLUMN last_hash bytea`);
    // An append to a stream awaiting its backfill is stored unhashed, then chained by the backfill.
    await store.appendToStreams([{ streamId: 'a', expectedRevision: 4, events: [newEvent('A5')] }]);
    expect((await verifyChains(db)).problems.map((p) => p.kind)).toContain('ALTERED');
    // Interrupted after the first stream: the rerun resumes.
    await db.query(`SELECT es_backfill_hashes('', 1)`);
    expect((await verifyChains(db, { streamId: 'a' })).intact).toBe(true);
    await SqlEventStore.create(db);
    await SqlEventStore.create(db);
    expect(await verifyChains(db)).toMatchObject({ intact: true, streamsChecked: 2, eventsChecked: 9 });
    const after = await db.query<{ hash: string }>(`SELECT encode(e.hash, 'hex') AS hash FROM es_events e WHERE e.revision < 5 OR e.stream_id <> 'a' ORDER BY e.stream_id, e.revision`);
    expect(after.rows).toEqual(before.rows);
  });

  test('the backfill never re-chains a damaged stream (some hashes present): the verifier still reports it', async () => {
    const { a } = await seed();
    await db.query(`UPDATE es_events SET data = '{"tampered": true}' WHERE stream_id = 'a' AND revision = 3`);
    await db.query(`UPDATE es_streams SET last_hash = NULL WHERE stream_id = 'a'`);
    await SqlEventStore.create(db);
    expect(problems(await verifyChains(db))).toEqual([
      ['ALTERED', 'a', 3, a[3]],
      ['HEAD_MISMATCH', 'a', 4, a[4]],
    ]);
  });
});
