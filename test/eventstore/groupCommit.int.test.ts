import { randomUUID } from 'node:crypto';
import { WrongExpectedRevisionError, type AppendResult, type NewEvent } from '../../src/eventstore/eventStore';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { verifyChains } from '../../src/eventstore/tamperEvidence';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { newEvent } from './eventStore.contract';

announcePostgresSkip('group commit of the SQL event store');

/** The database with the store's append calls recorded (which function, how many appends it carried). */
const recordingAppends = (db: SqlDatabase): { db: SqlDatabase; calls: { fn: string; appends: number }[] } => {
  const calls: { fn: string; appends: number }[] = [];
  return {
    calls,
    db: {
      ...db,
      query: (sql, params, options) => {
        const fn = /es_append\w*/.exec(sql)?.[0];
        if (fn) calls.push({ fn, appends: fn === 'es_append_streams' ? (params![0] as unknown[]).length : 1 });
        return db.query(sql, params, options);
      },
    },
  };
};

const registered = (userId: string): NewEvent =>
  newEvent('UserRegistered', {
    userId,
    email: `${userId}@example.org`,
    normalizedEmail: `${userId}@example.org`,
    name: `Person ${userId}`,
    programId: 'p1',
    role: 'MENTEE',
    company: 'Acme',
    manager: { name: 'Bea Boss', email: 'bea.boss@example.org' },
    userStatus: 'AI',
  });

type Outcome = PromiseSettledResult<AppendResult>;
const value = (outcome: Outcome): AppendResult => {
  if (outcome.status === 'rejected') throw outcome.reason;
  return outcome.value;
};
const reason = (outcome: Outcome): unknown => (outcome.status === 'rejected' ? outcome.reason : 'appended');

describe.each(sqlBackends())('group commit: $name', ({ open }) => {
  let db: SqlDatabase;
  let close: () => Promise<void>;
  let store: SqlEventStore;
  let calls: { fn: string; appends: number }[];
  beforeAll(async () => {
    ({ db, close } = await open());
    const recording = recordingAppends(db);
    calls = recording.calls;
    // One call in flight: every append submitted while it runs queues, and they go as one batch.
    store = await SqlEventStore.create(recording.db, { groupCommit: { maxInFlight: 1, maxBatch: 64 } });
  });
  afterAll(() => close());
  beforeEach(() => calls.splice(0));

  test('appends that queue behind one in flight go as one call, each with its own result, personal data and chain', async () => {
    const existing = `thing-${randomUUID()}`;
    await store.appendToStreams([{ streamId: existing, expectedRevision: 'no_stream', events: [newEvent('Created')] }]);
    const hot = `thing-${randomUUID()}`;
    const people = Array.from({ length: 6 }, () => randomUUID());
    calls.splice(0);
    const outcomes = await Promise.allSettled([
      store.appendToStreams([{ streamId: `thing-${randomUUID()}`, expectedRevision: 'no_stream', events: [newEvent('First')] }]),
      ...people.map((id) => store.appendToStreams([{ streamId: `user-${id}`, expectedRevision: 'no_stream', events: [registered(id)] }])),
      ...[0, 1, 2].map((i) => store.appendToStreams([{ streamId: hot, expectedRevision: 'any', events: [newEvent('Tick', { i }), newEvent('Tock', { i })] }])),
      store.appendToStreams([{ streamId: hot, expectedRevision: 'no_stream', events: [newEvent('TooLate')] }]),
      store.appendToStreams([{ streamId: existing, expectedRevision: 0, events: [newEvent('Next', { n: 1 }, 'a reason')] }]),
      store.appendToStreams([{ streamId: existing, expectedRevision: 0, events: [newEvent('Next', { n: 2 })] }]),
      store.appendToStreams([{ streamId: existing, expectedRevision: 7, events: [newEvent('Stale')] }]),
    ]);
    // The first went out alone at once (a batch of one); the rest queued behind it and went together.
    expect(calls).toEqual([
      { fn: 'es_append_streams', appends: 1 },
      { fn: 'es_append_streams', appends: 13 },
    ]);

    for (const [i, id] of people.entries()) {
      const result = value(outcomes[1 + i]!);
      expect(result.events[0]!.data).toMatchObject({ name: `Person ${id}` });
      expect((await store.readStream(`user-${id}`)).events).toEqual(result.events);
    }
    const raw = await db.query<{ data: object; personal_data: { name: string } }>(
      `SELECT data, personal_data FROM es_events WHERE stream_id = $1`,
      [`user-${people[0]}`],
    );
    expect(raw.rows[0]!.data).not.toHaveProperty('name');
    expect(raw.rows[0]!.personal_data.name).toBe(`Person ${people[0]}`);

    // Three appends to one stream in one batch: in the order given, revisions 0-5, one chain.
    const ticks = outcomes.slice(7, 10).map(value);
    expect(ticks.map((r) => r.events.map((e) => e.revision))).toEqual([[0, 1], [2, 3], [4, 5]]);
    expect((await store.readStream(hot)).events).toEqual(ticks.flatMap((r) => r.events));
    expect(reason(outcomes[10]!)).toEqual(new WrongExpectedRevisionError(hot, 'no_stream', 5));

    // Two appends expecting revision 0 of one stream: the first given wins; the second and the stale
    // one fail alone, with the details an append on its own gets.
    expect(value(outcomes[11]!).events.map((e) => [e.revision, e.metadata.reason])).toEqual([[1, 'a reason']]);
    expect(reason(outcomes[12]!)).toEqual(new WrongExpectedRevisionError(existing, 0, 1));
    expect(reason(outcomes[13]!)).toEqual(new WrongExpectedRevisionError(existing, 7, 1));
    expect((await store.readStream(existing)).events.map((e) => e.type)).toEqual(['Created', 'Next']);

    // One transaction: the batch's events share a transaction id, in the log's order.
    const batched = outcomes.slice(1).filter((o) => o.status === 'fulfilled').map(value);
    expect(new Set(batched.map((r) => r.lastPosition.major)).size).toBe(1);
    const head = batched.map((r) => r.lastPosition).reduce((a, b) => (b.minor > a.minor ? b : a));
    expect(await store.readCommittedHead()).toEqual(head);
    expect(await verifyChains(db)).toMatchObject({ intact: true, problemCount: 0 });
  });

  test('a batch that fails as a whole (a duplicate event id) is retried append by append: only the duplicate fails', async () => {
    const taken = newEvent('Taken');
    await store.appendToStreams([{ streamId: `thing-${randomUUID()}`, expectedRevision: 'no_stream', events: [taken] }]);
    const streams = Array.from({ length: 6 }, () => `thing-${randomUUID()}`);
    calls.splice(0);
    const outcomes = await Promise.allSettled([
      ...streams.map((streamId) => store.appendToStreams([{ streamId, expectedRevision: 'no_stream', events: [newEvent('Fine')] }])),
      store.appendToStreams([{ streamId: `thing-${randomUUID()}`, expectedRevision: 'no_stream', events: [taken] }]),
      store.appendToStreams([{ streamId: streams[1]!, expectedRevision: 'no_stream', events: [newEvent('Again')] }]),
    ]);
    expect(calls).toEqual([1, 7, 1, 1, 1, 1, 1, 1, 1].map((appends) => ({ fn: 'es_append_streams', appends })));
    expect(outcomes.slice(0, 6).map((o) => o.status)).toEqual(Array(6).fill('fulfilled'));
    expect(outcomes[6]!.status).toBe('rejected');
    expect(reason(outcomes[7]!)).toEqual(new WrongExpectedRevisionError(streams[1]!, 'no_stream', 0));
    for (const [i, streamId] of streams.entries()) {
      expect((await store.readStream(streamId)).events).toEqual(value(outcomes[i]!).events);
    }
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM es_events WHERE event_id = $1`, [taken.id])).rows).toEqual([{ n: 1 }]);
    expect((await verifyChains(db)).intact).toBe(true);
  });

  test('gathering: appends submitted in one turn of the event loop go as one call, the first included; one alone goes alone', async () => {
    const recording = recordingAppends(db);
    const gathering = await SqlEventStore.create(recording.db, { groupCommit: { maxInFlight: 1, maxBatch: 4, gather: true } });
    const streams = Array.from({ length: 6 }, () => `thing-${randomUUID()}`);
    const outcomes = await Promise.allSettled([
      ...streams.map((streamId) => gathering.appendToStreams([{ streamId, expectedRevision: 'no_stream', events: [newEvent('Gathered')] }])),
      gathering.appendToStreams([{ streamId: streams[0]!, expectedRevision: 'no_stream', events: [newEvent('Again')] }]),
    ]);
    // Seven in one turn, at most four a call: four, then the three that waited for it.
    expect(recording.calls).toEqual([
      { fn: 'es_append_streams', appends: 4 },
      { fn: 'es_append_streams', appends: 3 },
    ]);
    for (const [i, streamId] of streams.entries()) expect((await gathering.readStream(streamId)).events).toEqual(value(outcomes[i]!).events);
    expect(reason(outcomes[6]!)).toEqual(new WrongExpectedRevisionError(streams[0]!, 'no_stream', 0));

    recording.calls.splice(0);
    const alone = await gathering.appendToStreams([{ streamId: `thing-${randomUUID()}`, expectedRevision: 'no_stream', events: [newEvent('Alone')] }]);
    expect(alone.events).toHaveLength(1);
    expect(recording.calls).toEqual([{ fn: 'es_append_streams', appends: 1 }]);
    expect((await verifyChains(db)).intact).toBe(true);
  });

  test("by default a turn's appends are gathered: over up to four calls on PostgreSQL, spread evenly; into one on the embedded store", async () => {
    const recording = recordingAppends(db);
    const defaults = await SqlEventStore.create(recording.db);
    const streams = Array.from({ length: 8 }, () => `thing-${randomUUID()}`);
    const results = await Promise.all(
      streams.map((streamId) => defaults.appendToStreams([{ streamId, expectedRevision: 'no_stream', events: [newEvent('Gathered')] }])),
    );
    // Without gathering on PostgreSQL, the first four went out alone, one call each, and the rest queued.
    const expected = db.kind === 'postgres' ? [2, 2, 2, 2] : [8];
    expect(recording.calls).toEqual(expected.map((appends) => ({ fn: 'es_append_streams', appends })));
    for (const [i, streamId] of streams.entries()) expect((await defaults.readStream(streamId)).events).toEqual(results[i]!.events);
    expect((await verifyChains(db)).intact).toBe(true);
  });

  test('gathering cannot starve: a gathered append goes before the next statement anyone asks of the database', async () => {
    const gathering = await SqlEventStore.create(db, { groupCommit: { maxInFlight: 1, maxBatch: 4, gather: true } });
    const streamId = `thing-${randomUUID()}`;
    const appended = gathering.appendToStreams([{ streamId, expectedRevision: 'no_stream', events: [newEvent('Awaited')] }]);
    // Another task awaits the database in a loop until it sees the append. On PGlite each await resolves
    // in microtasks, so the event loop's turn lasts as long as the loop: an append waiting for the turn's
    // end alone never went. Bounded, so that such a wait fails the test instead of hanging it.
    let reads = 0;
    let seen = false;
    while (!seen && reads < 1_000) {
      seen = (await db.query(`SELECT 1 FROM es_streams WHERE stream_id = $1`, [streamId])).rows.length > 0;
      reads += 1;
    }
    const result = await appended;
    expect(seen).toBe(true);
    // PGlite runs statements in the order asked. The append reaches the batcher some microtasks after
    // the call (the store first looks at its personal data; a statement's first use is prepared), so
    // the loop's first reads may go before it; within a few it has gone (the wait that could starve
    // took all 1,000). PostgreSQL runs them on separate connections at once.
    if (db.kind === 'embedded') expect(reads).toBeLessThanOrEqual(5);
    expect(result.events.map((e) => e.type)).toEqual(['Awaited']);
  });

  test('with group commit off, every append is its own call', async () => {
    const recording = recordingAppends(db);
    const alone = await SqlEventStore.create(recording.db, { groupCommit: false });
    await Promise.all(
      Array.from({ length: 5 }, () => alone.appendToStreams([{ streamId: `thing-${randomUUID()}`, expectedRevision: 'no_stream', events: [newEvent()] }])),
    );
    expect(recording.calls).toEqual(Array(5).fill({ fn: 'es_append_streams', appends: 1 }));
  });

  test('es_append_stream, the lone append of earlier versions, appends through es_append_streams and refuses with ES409 as it did', async () => {
    const streamId = `thing-${randomUUID()}`;
    const call = (stream: string, expected: string, events: readonly NewEvent[]) =>
      db.query<{ result: string }>(`SELECT es_append_stream($1, $2, $3::uuid[], $4::text[], $5::integer[], $6::jsonb, $7::jsonb) AS result`, [
        stream,
        expected,
        events.map((e) => e.id),
        events.map((e) => e.type),
        events.map((e) => e.schemaVersion),
        JSON.stringify(events.map((e) => e.data)),
        JSON.stringify(events.map((e) => e.metadata)),
      ]);
    const refusal = (attempt: Promise<unknown>) =>
      attempt.then(
        () => 'appended',
        (error: { code?: string; detail?: string }) => ({ code: error.code, detail: JSON.parse(error.detail ?? 'null') as unknown }),
      );
    const first = [newEvent('One'), newEvent('Two')];
    const result = (await call(streamId, 'no_stream', first)).rows[0]!.result.split(' ');
    const stored = (await store.readStream(streamId)).events;
    expect(stored.map((e) => e.id)).toEqual(first.map((e) => e.id));
    // '<last revision> <transaction id> <positions> <hashes>', as before.
    expect(result).toEqual(['1', stored[0]!.position.major.toString(), ...stored.map((e) => e.position.minor.toString()), ...stored.map((e) => e.hash)]);
    expect((await call(streamId, '1', [newEvent('Three')])).rows[0]!.result.split(' ')[0]).toBe('2');
    expect(await refusal(call(streamId, '0', [newEvent('Stale')]))).toEqual({ code: 'ES409', detail: [streamId, 0, 2] });
    expect(await refusal(call(streamId, 'no_stream', [newEvent('Again')]))).toEqual({ code: 'ES409', detail: [streamId, 'no_stream', 2] });
    expect(await refusal(call(`thing-${randomUUID()}`, '3', [newEvent('Nowhere')]))).toMatchObject({ code: 'ES409', detail: [expect.any(String), 3, null] });
    expect((await store.readStream(streamId)).events.map((e) => e.type)).toEqual(['One', 'Two', 'Three']);
    expect(await verifyChains(db)).toMatchObject({ intact: true, problemCount: 0 });
  });
});
