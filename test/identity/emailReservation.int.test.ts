import { randomUUID } from 'node:crypto';
import { LifecycleCommands } from '../../src/application/lifecycleCommands';
import { CommandPipeline, type CommandContext } from '../../src/commands/pipeline';
import { DomainError } from '../../src/domain/shared/decider';
import { WrongExpectedRevisionError, type EventStore } from '../../src/eventstore/eventStore';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { loadEmailReservationKey, loadEmailStreams, type EmailStreams } from '../../src/identity/emailStreams';
import { announcePostgresSkip, sqlBackends, type TestDatabase } from '../support/databases';

/**
 * E-mail uniqueness as the store enforces it: the real pipeline and SQL adapter, concurrent claims of
 * one address from registrations and e-mail changes, and the per-installation key that names the
 * reservation streams.
 */
announcePostgresSkip('e-mail reservations');

const admin: CommandContext = { actor: { id: 'admin', role: 'admin' }, now: '2026-03-02T10:00:00.000Z', correlationId: 'corr' };

describe.each(sqlBackends())('e-mail reservations through the store on $name', ({ open }) => {
  let database: TestDatabase;
  let store: SqlEventStore;
  let emails: EmailStreams;
  let commands: LifecycleCommands;
  let programId: string;
  /** Appends the store refused for a stale expected revision: proof that the store, not luck, decided. */
  let conflicts = 0;

  beforeAll(async () => {
    database = await open();
    store = await SqlEventStore.create(database.db);
    emails = await loadEmailStreams(database.db);
    const counting: EventStore = {
      name: store.name,
      erasesPersonalData: store.erasesPersonalData,
      readStream: (...args) => store.readStream(...args),
      appendToStreams: async (...args) => {
        try {
          return await store.appendToStreams(...args);
        } catch (error) {
          if (error instanceof WrongExpectedRevisionError) conflicts++;
          throw error;
        }
      },
      readAll: (...args) => store.readAll(...args),
      readAt: (...args) => store.readAt(...args),
      readIdempotencyKey: (...args) => store.readIdempotencyKey(...args),
      readHead: () => store.readHead(),
      readCommittedHead: () => store.readCommittedHead(),
      close: () => store.close(),
    };
    commands = new LifecycleCommands(new CommandPipeline(counting), counting, randomUUID, emails);
    programId = (await commands.createProgram(admin, { name: 'Reservations', timeZone: 'UTC' })).programId;
  });
  afterAll(async () => {
    await database?.close();
  });

  const register = (email: string) => commands.registerUser(admin, { email, name: 'Someone', programId, role: 'MENTEE' });
  const eventsOf = async (streamId: string) => (await store.readStream(streamId)).events.map((event) => [event.type, (event.data as { userId: string }).userId]);
  const refusalCode = (outcome: PromiseSettledResult<unknown>) =>
    outcome.status === 'rejected' && outcome.reason instanceof DomainError ? outcome.reason.code : outcome.status;

  test('the key is made once and kept; stream names hide the address', async () => {
    const key = await loadEmailReservationKey(database.db);
    expect(key).toHaveLength(32);
    expect((await loadEmailReservationKey(database.db)).equals(key)).toBe(true);
    const stream = emails.reservationStream(' Key.Test@Example.org ');
    expect(stream).toMatch(/^email-[0-9a-f]{64}$/);
    expect(emails.reservationStream('key.test@example.org')).toBe(stream);
    expect(emails.reservationStream('key.test2@example.org')).not.toBe(stream);
    const { userId } = await register('Key.Test@Example.org');
    expect(await eventsOf(stream)).toEqual([['EmailAddressReserved', userId]]);
    const { rows } = await database.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM es_events WHERE stream_id ILIKE '%key.test%' OR (event_type LIKE 'EmailAddress%' AND data::text ILIKE '%key.test%')`,
    );
    expect(rows[0]!.n).toBe('0');
  });

  test('eight concurrent registrations of one address, in any case: exactly one user', async () => {
    const spellings = ['race@example.org', 'Race@example.org', 'RACE@example.org', 'race@Example.org', ' race@example.org', 'race@EXAMPLE.ORG', 'rAce@example.org', 'race@example.org '];
    const conflictsBefore = conflicts;
    const outcomes = await Promise.allSettled(spellings.map(register));
    // All decided on a free address; the reservation stream's expected revision stopped the others.
    expect(conflicts - conflictsBefore).toBeGreaterThan(0);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.map(refusalCode).filter((code) => code === 'ALREADY_EXISTS')).toHaveLength(7);
    const winner = (outcomes.find((outcome) => outcome.status === 'fulfilled') as PromiseFulfilledResult<{ userId: string }>).value.userId;
    expect(await eventsOf(emails.reservationStream('race@example.org'))).toEqual([['EmailAddressReserved', winner]]);
    // The address is personal data, kept beside the log: read through the merged view.
    const { rows } = await database.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM es_events_merged WHERE event_type = 'UserRegistered' AND data->>'normalizedEmail' = 'race@example.org'`,
    );
    expect(rows[0]!.n).toBe('1');
  });

  test('concurrent e-mail changes of several users to one address: exactly one wins, the others keep their own', async () => {
    const users = await Promise.all([1, 2, 3, 4].map(async (n) => ({ n, userId: (await register(`changer${n}@example.org`)).userId })));
    const conflictsBefore = conflicts;
    const outcomes = await Promise.allSettled(users.map(({ userId }) => commands.changeUserEmail(admin, userId, 'wanted@example.org')));
    expect(conflicts - conflictsBefore).toBeGreaterThan(0);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.map(refusalCode).filter((code) => code === 'ALREADY_EXISTS')).toHaveLength(3);
    const winner = users[outcomes.findIndex((outcome) => outcome.status === 'fulfilled')]!;
    expect(await eventsOf(emails.reservationStream('wanted@example.org'))).toEqual([['EmailAddressReserved', winner.userId]]);
    for (const { n, userId } of users) {
      const expected = userId === winner.userId ? [['EmailAddressReserved', userId], ['EmailAddressReleased', userId]] : [['EmailAddressReserved', userId]];
      expect(await eventsOf(emails.reservationStream(`changer${n}@example.org`))).toEqual(expected);
    }
    // The winner's old address is free again: a registration takes it, continuing its stream.
    const { userId: newcomer } = await register(`changer${winner.n}@example.org`);
    expect(await eventsOf(emails.reservationStream(`changer${winner.n}@example.org`))).toEqual([
      ['EmailAddressReserved', winner.userId],
      ['EmailAddressReleased', winner.userId],
      ['EmailAddressReserved', newcomer],
    ]);
  });

  test('overlapping calls with one idempotency key register once and answer alike', async () => {
    const context = { ...admin, idempotencyKey: `register-${randomUUID()}` };
    const outcomes = await Promise.all(
      [1, 2, 3].map(() => commands.registerUser(context, { email: 'keyed@example.org', name: 'Keyed', programId, role: 'MENTEE' })),
    );
    expect(new Set(outcomes.map((outcome) => outcome.userId)).size).toBe(1);
    expect(outcomes.filter((outcome) => !outcome.outcome.duplicate)).toHaveLength(1);
    expect(await eventsOf(emails.reservationStream('keyed@example.org'))).toEqual([['EmailAddressReserved', outcomes[0]!.userId]]);
  });

  test('a registration and an e-mail change racing for one address: exactly one wins', async () => {
    const { userId } = await register('mover@example.org');
    const outcomes = await Promise.allSettled([commands.changeUserEmail(admin, userId, 'spot@example.org'), register('spot@example.org'), register('SPOT@example.org')]);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.map(refusalCode).filter((code) => code === 'ALREADY_EXISTS')).toHaveLength(2);
    expect(await eventsOf(emails.reservationStream('spot@example.org'))).toHaveLength(1);
  });
});
