import { WrongExpectedRevisionError } from '../../src/eventstore/eventStore';
import { EVENT_STORE_MIGRATIONS, SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { verifyChains } from '../../src/eventstore/tamperEvidence';
import { ERASED, PERSONAL_DATA_ERASED } from '../../src/domain/personalData';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { announcePostgresSkip, logVisible, sqlBackends } from '../support/databases';
import { newEvent } from './eventStore.contract';

announcePostgresSkip('personal data in the SQL event store');

const registered = (userId: string, name: string, email: string) =>
  newEvent('UserRegistered', {
    userId,
    email,
    normalizedEmail: email.toLowerCase(),
    name,
    programId: 'p1',
    role: 'MENTEE',
    company: 'Acme',
    manager: { name: 'Bea Boss', email: 'bea.boss@example.org' },
    userStatus: 'AI',
  });

/** Every text the log's tables hold, to search for a value that must not be there. */
const everything = async (db: SqlDatabase, tables: readonly string[]): Promise<string> => {
  const texts = await Promise.all(tables.map(async (table) => (await db.query<{ t: string }>(`SELECT coalesce(string_agg(x::text, ' '), '') AS t FROM ${table} x`)).rows[0]!.t));
  return texts.join('\n');
};

describe.each(sqlBackends())('personal data beside the log: $name', ({ open }) => {
  let db: SqlDatabase;
  let store: SqlEventStore;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = await open());
    store = await SqlEventStore.create(db);
  });
  afterAll(() => close());

  test('personal fields are kept out of es_events and merged back on every read', async () => {
    const event = registered('u-split', 'Maya Split', 'maya.split@example.org');
    const appended = await store.appendToStreams([{ streamId: 'user-u-split', expectedRevision: 'no_stream', events: [event] }]);
    expect(appended.events[0]!.data).toEqual(event.data);
    expect(appended.events[0]!.metadata.personalData?.fields).toEqual(['email', 'normalizedEmail', 'name', 'company', 'manager']);

    const raw = await db.query<{ data: Record<string, unknown> }>(`SELECT data FROM es_events WHERE event_id = $1`, [event.id]);
    expect(raw.rows[0]!.data).toEqual({ userId: 'u-split', programId: 'p1', role: 'MENTEE', userStatus: 'AI' });

    expect((await store.readStream('user-u-split')).events[0]!.data).toEqual(event.data);
    expect((await store.readAt([appended.lastPosition]))[0]!.data).toEqual(event.data);
    await logVisible(store);
    const all = await store.readAll();
    expect(all.find((e) => e.id === event.id)!.data).toEqual(event.data);
    expect((await verifyChains(db)).intact).toBe(true);
  });

  test('the general append path (several streams, an idempotency key) splits too, and a duplicate writes nothing twice', async () => {
    const request = newEvent('MatchRequested', { matchId: 'm-g', mentorUserId: 'u-a', menteeUserId: 'u-b', message: 'Hello from Maya' });
    const other = newEvent('ThingHappened', { n: 2 });
    const writes = [
      { streamId: 'match-m-g', expectedRevision: 'no_stream' as const, events: [request] },
      { streamId: 'thing-g', expectedRevision: 'no_stream' as const, events: [other] },
    ];
    const first = await store.appendToStreams(writes, { idempotencyKey: 'key-g' });
    expect(first.events.find((e) => e.id === request.id)!.data).toEqual(request.data);
    const again = await store.appendToStreams(writes, { idempotencyKey: 'key-g' });
    expect(again.duplicate).toBe(true);
    expect(again.events.find((e) => e.id === request.id)!.data).toEqual(request.data);
    const rows = await db.query<{ message: string }>(`SELECT personal_data->>'message' AS message FROM es_events WHERE event_id = $1`, [request.id]);
    expect(rows.rows).toEqual([{ message: 'Hello from Maya' }]);
    expect(JSON.stringify((await db.query(`SELECT data, metadata FROM es_events WHERE event_id = $1`, [request.id])).rows)).not.toContain('Hello from Maya');
  });

  test('a refused append stores no personal data', async () => {
    const event = registered('u-split', 'Someone Else', 'someone.else@example.org');
    await expect(store.appendToStreams([{ streamId: 'user-u-split', expectedRevision: 'no_stream', events: [event] }])).rejects.toMatchObject({
      code: 'CONCURRENCY_CONFLICT',
    });
    expect(await everything(db, ['es_events', 'es_streams'])).not.toContain('someone.else@example.org');
  });

  test('erasure: reads show the erased form, nothing personal is left beside the log, later data arrives erased, chains verify', async () => {
    const userId = 'u-erase';
    const name = 'Zelda Erasable';
    const email = 'zelda.erasable@example.org';
    await store.appendToStreams([{ streamId: `user-${userId}`, expectedRevision: 'no_stream', events: [registered(userId, name, email)] }]);
    const request = newEvent('MatchRequested', { matchId: 'm-e', mentorUserId: 'u-mentor', menteeUserId: userId, message: `I am ${name}` });
    await store.appendToStreams([{ streamId: 'match-m-e', expectedRevision: 'no_stream', events: [request] }]);
    // Written before personal data was split: the values inline in es_events (es_append, as the old store did).
    const old = newEvent('ProfileAttributesSet', { userId, attributes: { nickname: 'Zee', school: 'PS 321' } });
    await db.query(`SELECT * FROM es_append($1::jsonb, NULL)`, [JSON.stringify([{ streamId: `user-${userId}`, expected: 0, events: [old] }])]);
    // Someone else's data stays.
    await store.appendToStreams([{ streamId: 'user-u-keep', expectedRevision: 'no_stream', events: [registered('u-keep', 'Kept Person', 'kept@example.org')] }]);

    const erasure = newEvent(PERSONAL_DATA_ERASED, { userId, subjectIds: [userId, 'match:m-e'] });
    await store.appendToStreams([{ streamId: `user-${userId}`, expectedRevision: 1, events: [erasure] }]);

    const stream = (await store.readStream(`user-${userId}`)).events;
    expect(stream[0]!.data).toEqual({
      userId,
      programId: 'p1',
      role: 'MENTEE',
      userStatus: 'AI',
      email: ERASED,
      normalizedEmail: ERASED,
      name: ERASED,
      company: null,
      manager: null,
      personalDataErased: true,
    });
    expect(stream[1]!.data).toEqual({ userId, attributes: {}, personalDataErased: true });
    expect((await store.readStream('match-m-e')).events[0]!.data).toMatchObject({ message: null, personalDataErased: true });
    expect((await store.readStream('user-u-keep')).events[0]!.data).toMatchObject({ name: 'Kept Person' });

    await logVisible(store);
    const merged = JSON.stringify((await store.readAll({ maxCount: 10_000 })).map((e) => [e.data, e.metadata]));
    for (const value of [name, email, 'Zee', 'PS 321']) expect(merged).not.toContain(value);
    // Nothing of theirs is left in the personal columns or beside the log; only the old event's raw
    // bytes remain in es_events' data (README).
    const personal = await everything(db, [
      '(SELECT personal_subjects, personal_data, personal_erased, personal_metadata, personal_erased_metadata FROM es_events)',
      'es_erased_subjects',
      'es_streams',
    ]);
    for (const value of [name, email, 'Zee']) expect(personal).not.toContain(value);
    expect(personal).toContain('Kept Person');
    expect(await everything(db, ['es_events'])).not.toContain(name);

    const later = newEvent('ProfileAttributesSet', { userId, attributes: { nickname: 'Back again' } });
    await store.appendToStreams([{ streamId: `user-${userId}`, expectedRevision: 2, events: [later] }]);
    expect((await store.readStream(`user-${userId}`)).events[3]!.data).toEqual({ userId, attributes: {}, personalDataErased: true });
    expect(await everything(db, ['es_events'])).not.toContain('Back again');

    expect((await verifyChains(db)).intact).toBe(true);
    // The hash still covers data and metadata as stored: an edit after the erasure is found.
    await db.query(`UPDATE es_events SET metadata = metadata || '{"edited": true}' WHERE event_id = $1`, [request.id]);
    const report = await verifyChains(db);
    expect(report.problems.map((problem) => [problem.kind, problem.eventId])).toEqual([['ALTERED', request.id]]);
    await db.query(`UPDATE es_events SET metadata = metadata - 'edited' WHERE event_id = $1`, [request.id]);
    expect((await verifyChains(db)).intact).toBe(true);
  });

  test('an erasure refused for a stale expected revision erases nothing', async () => {
    const userId = 'u-stale-erasure';
    await store.appendToStreams([{ streamId: `user-${userId}`, expectedRevision: 'no_stream', events: [registered(userId, 'Stella Stale', 'stella.stale@example.org')] }]);
    const erasure = newEvent(PERSONAL_DATA_ERASED, { userId, subjectIds: [userId] });
    await expect(store.appendToStreams([{ streamId: `user-${userId}`, expectedRevision: 5, events: [erasure] }])).rejects.toEqual(
      new WrongExpectedRevisionError(`user-${userId}`, 5, 0),
    );
    expect((await store.readStream(`user-${userId}`)).events.map((e) => e.data)).toEqual([expect.objectContaining({ name: 'Stella Stale' })]);
    expect((await db.query(`SELECT count(*)::int AS n FROM es_erased_subjects WHERE subject_id = $1`, [userId])).rows).toEqual([{ n: 0 }]);
    expect(await everything(db, ['es_events'])).toContain('stella.stale@example.org');
  });

  test('an erasure appended with more events of its subject stores those erased', async () => {
    const userId = 'u-same-append';
    await store.appendToStreams([{ streamId: `user-${userId}`, expectedRevision: 'no_stream', events: [registered(userId, 'Ines Same', 'ines.same@example.org')] }]);
    const attributes = newEvent('ProfileAttributesSet', { userId, attributes: { nickname: 'Inny' } });
    const erasure = newEvent(PERSONAL_DATA_ERASED, { userId, subjectIds: [userId] });
    const appended = await store.appendToStreams([{ streamId: `user-${userId}`, expectedRevision: 0, events: [attributes, erasure] }]);
    expect(appended.events).toHaveLength(2);
    const stream = (await store.readStream(`user-${userId}`)).events;
    expect(stream[0]!.data).toMatchObject({ name: ERASED, email: ERASED, personalDataErased: true });
    expect(stream[1]!.data).toEqual({ userId, attributes: {}, personalDataErased: true });
    const text = await everything(db, ['es_events']);
    for (const value of ['Ines Same', 'ines.same@example.org', 'Inny']) expect(text).not.toContain(value);
    expect((await verifyChains(db)).intact).toBe(true);
  });

  test('a database written by an earlier version (personal parts in es_personal_data) reads the same after the migration, and erases', async () => {
    const userId = 'u-earlier';
    const event = registered(userId, 'Olga Earlier', 'olga.earlier@example.org');
    const reasoned = newEvent('MatchRequested', { matchId: 'm-earlier', mentorUserId: 'u-m', menteeUserId: userId, message: 'Olga here' });
    await store.appendToStreams([{ streamId: `user-${userId}`, expectedRevision: 'no_stream', events: [event] }]);
    await store.appendToStreams([{ streamId: 'match-m-earlier', expectedRevision: 'no_stream', events: [reasoned] }]);
    await logVisible(store);
    const before = (await store.readAll({ maxCount: 10_000 })).filter((e) => e.id === event.id || e.id === reasoned.id);
    expect(before).toHaveLength(2);
    // As an earlier version (migration 0001_baseline only) stored them: its script run again gives back
    // its table es_personal_data, its append functions and its view joining that table; 0002 unrecorded.
    // The personal parts are then moved into that table and the columns emptied.
    await db.exec(EVENT_STORE_MIGRATIONS.migrations[0]!.sql);
    await db.query(`DELETE FROM schema_migrations WHERE component = 'event-store' AND name <> '0001_baseline'`);
    await db.query(`INSERT INTO es_personal_data SELECT event_id, personal_subjects, COALESCE(personal_data, '{}'), COALESCE(personal_erased, '{}'),
                      COALESCE(personal_metadata, '{}'), COALESCE(personal_erased_metadata, '{}') FROM es_events WHERE event_id = ANY($1::uuid[])`, [[event.id, reasoned.id]]);
    await db.query(`UPDATE es_events SET personal_subjects = NULL, personal_data = NULL, personal_erased = NULL, personal_metadata = NULL,
                      personal_erased_metadata = NULL WHERE event_id = ANY($1::uuid[])`, [[event.id, reasoned.id]]);
    // The earlier version's view reads them from its table as they were.
    expect((await store.readAll({ maxCount: 10_000 })).filter((e) => e.id === event.id || e.id === reasoned.id)).toEqual(before);
    expect((await db.query(`SELECT count(*)::int AS n FROM es_personal_data`)).rows).toEqual([{ n: 2 }]);

    store = await SqlEventStore.create(db);
    expect((await db.query(`SELECT to_regclass('es_personal_data') IS NULL AS gone`)).rows).toEqual([{ gone: true }]);
    const after = (await store.readAll({ maxCount: 10_000 })).filter((e) => e.id === event.id || e.id === reasoned.id);
    expect(after).toEqual(before);
    expect((await verifyChains(db)).intact).toBe(true);

    await store.appendToStreams([{ streamId: `user-${userId}`, expectedRevision: 0, events: [newEvent(PERSONAL_DATA_ERASED, { userId, subjectIds: [userId] })] }]);
    expect((await store.readStream(`user-${userId}`)).events[0]!.data).toMatchObject({ name: ERASED, personalDataErased: true });
    const text = await everything(db, ['es_events']);
    for (const value of ['Olga Earlier', 'olga.earlier@example.org', 'Olga here']) expect(text).not.toContain(value);
    expect((await verifyChains(db)).intact).toBe(true);
  });
});
