import { againInBatches, applyBatches } from '../support/applyBatches';
import { registerWithLegacyId } from '../support/identity';
import * as define from '../../src/application/lifecycleDefinitions';
import * as meetings from '../../src/application/meetingCommands';
import { CommandPipeline, type CommandDefinition, type StreamSpec } from '../../src/commands/pipeline';
import { DEFAULT_CLOSURE_REASONS, matchStream, personaIdFor, userIdForEmail, type ParticipantRole } from '../../src/domain';
import { DomainError } from '../../src/domain/shared/decider';
import { readAllForward, type Actor, type RecordedEvent } from '../../src/eventstore/eventStore';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { lifecycleProjections } from '../../projections';
import { meetingsProjection } from '../../projections/meetings/meetings.projection';
import { SqlMeetingReadModel, type MeetingView } from '../../projections/meetings/meetings.queries';
import { announcePostgresSkip, sqlBackends, type TestDatabase } from '../support/databases';

announcePostgresSkip('meetings read model');

const P1 = 'prog-riverside';
const TZ = 'America/New_York';
const ADMIN: Actor = { id: 'admin-ada', role: 'admin' };

const PEOPLE = {
  mona: { name: 'Mona Marsh', email: 'mona@example.org', role: 'MENTOR' },
  max: { name: 'Max Mayer', email: 'max@example.org', role: 'MENTOR' },
  mila: { name: 'Mila Mint', email: 'mila@example.org', role: 'MENTOR' },
  mark: { name: 'Mark Moor', email: 'mark@example.org', role: 'MENTOR' },
  milo: { name: 'Milo Moon', email: 'milo@example.org', role: 'MENTOR' },
  tara: { name: 'Tara Tate', email: 'tara@example.org', role: 'MENTEE' },
  tom: { name: 'Tom Toll', email: 'tom@example.org', role: 'MENTEE' },
  tess: { name: 'Tess Trent', email: 'tess@example.org', role: 'MENTEE' },
  tina: { name: 'Tina Tuck', email: 'tina@example.org', role: 'MENTEE' },
  toby: { name: 'Toby Tran', email: 'toby@example.org', role: 'MENTEE' },
} as const satisfies Record<string, { name: string; email: string; role: ParticipantRole }>;

type Key = keyof typeof PEOPLE;
const KEYS = Object.keys(PEOPLE) as Key[];
const ID = Object.fromEntries(KEYS.map((key) => [key, userIdForEmail(PEOPLE[key].email)])) as Record<Key, string>;
const P = (key: Key) => personaIdFor(ID[key], 1);
const PAIRS = { m1: ['mona', 'tara'], m2: ['max', 'tom'], m3: ['mila', 'tess'], m4: ['mark', 'tina'], m5: ['milo', 'toby'] } as const;
type MatchKey = keyof typeof PAIRS;
const matchIds = (matchId: MatchKey): define.MatchStreamIds => ({
  matchId,
  programId: P1,
  mentorUserId: ID[PAIRS[matchId][0]],
  menteeUserId: ID[PAIRS[matchId][1]],
});

/** When the matches go live. */
const LIVE = '2026-09-01T13:00:00.000Z';
/** When the health is read: a Thursday, 11:00 in New York. */
const NOW = '2026-11-05T15:00:00.000Z';

describe.each(sqlBackends())('meetings read model on $name', ({ open }) => {
  let database: TestDatabase;
  let store: SqlEventStore;
  let runner: ProjectionRunner;
  let readModel: SqlMeetingReadModel;
  let pipeline: CommandPipeline;
  let count = 0;
  const projections = [...lifecycleProjections, meetingsProjection];

  /** Runs one command at `now` as `actor`; refusals throw their DomainError. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const run = async <S extends Record<string, StreamSpec<any, any>>>(now: string, command: (now: string) => CommandDefinition<S>, actor: Actor = ADMIN) =>
    pipeline.execute({ actor, now, correlationId: `corr-${count++}` }, command(now));
  const schedule = (meetingId: string, matchId: MatchKey, startsAt: string, durationMinutes = 60, title: string | null = null) => (now: string) =>
    meetings.scheduleMeeting({ meetingId, matchId, startsAt, durationMinutes, title, now });
  const onMeeting = (type: 'CancelMeeting' | 'RecordMeeting' | 'MarkMeetingMissed', meetingId: string, extra: Record<string, string> = {}) =>
    (now: string) => meetings.meetingCommand({ type, data: { meetingId, now, ...extra } } as Parameters<typeof meetings.meetingCommand>[0]);
  const statuses = (views: readonly MeetingView[]) => views.map((view) => `${view.meetingId}:${view.status}`);

  beforeAll(async () => {
    database = await open();
    store = await SqlEventStore.create(database.db);
    runner = await ProjectionRunner.create(store, database.db, projections, { batchSize: 7 });
    readModel = new SqlMeetingReadModel(database.db);
    pipeline = new CommandPipeline(store);

    const setup = '2026-08-31T13:00:00.000Z';
    await run(setup, () => define.programCommand({ type: 'CreateProgram', data: { programId: P1, name: 'Riverside 2026', timeZone: TZ } }));
    await run(setup, () => define.programCommand({ type: 'TurnMatchingOn', data: { programId: P1 } }));
    for (const key of KEYS) {
      await run(setup, () => registerWithLegacyId({ ...PEOPLE[key], programId: P1 }));
      await run(setup, () => define.userCommand({ type: 'CompleteApplication', data: { userId: ID[key], changeId: `c-${key}-app` } }));
      await run(setup, () => define.userCommand({ type: 'ChangeUserStatus', data: { userId: ID[key], changeId: `c-${key}-a`, to: 'A' } }));
    }
    for (const matchId of Object.keys(PAIRS) as MatchKey[]) {
      const [mentor, mentee] = PAIRS[matchId];
      await run(LIVE, (now) => define.matchPersonas({ matchId, programId: P1, mentorPersonaId: P(mentor), menteePersonaId: P(mentee), now }));
    }
    // m5 ends early: it is no longer live, so it needs no check-in and takes no meetings.
    await run('2026-09-01T14:00:00.000Z', () =>
      define.closeMatch(matchIds('m5'), { matchId: 'm5', closureReason: DEFAULT_CLOSURE_REASONS[0]!, mentorRematchIntent: 'NO', menteeRematchIntent: 'NO' }),
    );

    const planned = '2026-09-02T12:00:00.000Z';
    // m1 met twice, the last time on 1 October, and not since.
    await run(planned, schedule('a1', 'm1', '2026-09-10T14:00:00.000Z', 60, 'Getting to know each other'));
    await run(planned, schedule('a2', 'm1', '2026-10-01T14:00:00.000Z'));
    // m2 never met: its only meeting was cancelled.
    await run(planned, schedule('b1', 'm2', '2026-09-15T14:00:00.000Z'));
    await run('2026-09-03T12:00:00.000Z', onMeeting('CancelMeeting', 'b1', { reason: 'Mentor travelling' }));
    // m3 met on 20 October, then missed three in a row (a cancelled one in between does not break the streak).
    for (const [id, day] of [['c1', '20'], ['c2', '22'], ['c3', '27'], ['c4', '29']] as const) {
      await run(planned, schedule(id, 'm3', `2026-10-${day}T20:00:00.000Z`, 45));
    }
    await run(planned, schedule('c5', 'm3', '2026-11-03T21:00:00.000Z', 45));
    await run('2026-09-12T12:00:00.000Z', onMeeting('RecordMeeting', 'a1', { notes: 'Talked about favourite books.' }));
    await run('2026-10-21T12:00:00.000Z', onMeeting('RecordMeeting', 'c1'));
    await run('2026-10-23T12:00:00.000Z', onMeeting('MarkMeetingMissed', 'c2'));
    await run('2026-10-24T12:00:00.000Z', onMeeting('CancelMeeting', 'c4'));
    await run('2026-10-28T12:00:00.000Z', onMeeting('MarkMeetingMissed', 'c3'));
    await run('2026-11-04T12:00:00.000Z', onMeeting('MarkMeetingMissed', 'c5'));
    // m4 is healthy: met on 29 October, next meeting (moved) on 6 November.
    await run(planned, schedule('d1', 'm4', '2026-10-29T14:00:00.000Z', 30));
    await run(planned, schedule('d2', 'm4', '2026-11-02T14:00:00.000Z', 60, 'Mock interview'));
    await run('2026-10-30T12:00:00.000Z', (now) =>
      meetings.rescheduleMeeting('m4', { meetingId: 'd2', startsAt: '2026-11-06T09:30:00-05:00', durationMinutes: 45, now }),
    );
    await runner.catchUp();
  });

  afterAll(async () => {
    await database?.close();
  });

  test('a match\'s meetings, earliest first, with their status at the time asked', async () => {
    const m3 = await readModel.meetingsOfMatch('m3', NOW);
    expect(statuses(m3)).toEqual(['c1:COMPLETED', 'c2:MISSED', 'c3:MISSED', 'c4:CANCELLED', 'c5:MISSED']);
    expect(m3[0]).toMatchObject({ state: 'RECORDED', recordedAt: '2026-10-21T12:00:00.000Z', durationMinutes: 45, endsAt: '2026-10-20T20:45:00.000Z' });
    expect(m3[1]).toMatchObject({ state: 'MISSED', missedAt: '2026-10-23T12:00:00.000Z' });
    expect(m3[3]).toMatchObject({ state: 'CANCELLED', cancelledAt: '2026-10-24T12:00:00.000Z', cancellationReason: null });

    // A scheduled meeting is upcoming until its start, then completed, whether or not anyone recorded it.
    expect(statuses(await readModel.meetingsOfMatch('m4', '2026-10-28T00:00:00.000Z'))).toEqual(['d1:UPCOMING', 'd2:UPCOMING']);
    expect(statuses(await readModel.meetingsOfMatch('m4', '2026-10-29T14:00:00.000Z'))).toEqual(['d1:COMPLETED', 'd2:UPCOMING']);
    expect(statuses(await readModel.meetingsOfMatch('m4', '2026-11-07T00:00:00.000Z'))).toEqual(['d1:COMPLETED', 'd2:COMPLETED']);
    const [, moved] = await readModel.meetingsOfMatch('m4', NOW);
    expect(moved).toMatchObject({
      meetingId: 'd2',
      matchId: 'm4',
      programId: P1,
      mentorUserId: ID.mark,
      menteeUserId: ID.tina,
      startsAt: '2026-11-06T14:30:00.000Z',
      durationMinutes: 45,
      title: 'Mock interview',
      state: 'SCHEDULED',
      createdAt: '2026-09-02T12:00:00.000Z',
      updatedAt: '2026-10-30T12:00:00.000Z',
    });

    const [first] = await readModel.meetingsOfMatch('m1', NOW);
    expect(first).toMatchObject({ title: 'Getting to know each other', notes: 'Talked about favourite books.', status: 'COMPLETED' });
    expect((await readModel.meetingsOfMatch('m2', NOW))[0]).toMatchObject({ status: 'CANCELLED', cancellationReason: 'Mentor travelling' });
    expect(await readModel.meetingsOfMatch('m5', NOW)).toEqual([]);
    expect((await readModel.meetingsByIds(['d1', 'a2', 'nope'], NOW)).map((view) => view.meetingId)).toEqual(['a2', 'd1']);
  });

  test('upcoming and completed meetings per mentor (manager report)', async () => {
    const counts = await readModel.meetingCountsForMentors([ID.mona, ID.max, ID.mila, ID.mark, 'nobody'], NOW);
    expect(Object.fromEntries(counts)).toEqual({
      [ID.mona]: { upcoming: 0, completed: 2 },
      [ID.max]: { upcoming: 0, completed: 0 },
      [ID.mila]: { upcoming: 0, completed: 1 },
      [ID.mark]: { upcoming: 1, completed: 1 },
      nobody: { upcoming: 0, completed: 0 },
    });
    expect(Object.fromEntries(await readModel.meetingCountsForMentors([ID.mark], '2026-10-01T00:00:00.000Z'))).toEqual({
      [ID.mark]: { upcoming: 2, completed: 0 },
    });
    expect((await readModel.meetingCountsForMentors([], NOW)).size).toBe(0);
  });

  test('health: live matches, sessions held, and the matches needing a check-in with the reasons', async () => {
    const health = await readModel.health(P1, NOW);
    expect(health).toMatchObject({
      programId: P1,
      asOf: NOW,
      thresholds: { checkInAfterWeeks: 4, missedInARow: 2 },
      activeMatches: 4,
      sessionsCompleted: 4,
      upcomingSessions: 1,
      missedSessions: 3,
    });
    expect(health!.matchesNeedingCheckIn.map(({ matchId, reasons }) => [matchId, reasons.map((r) => `${r.kind}: ${r.message}`)])).toEqual([
      ['m2', ['NEVER_MET: never met since going live 9 weeks ago']],
      ['m1', ['NO_RECENT_MEETING: no meeting for 5 weeks (last on 2026-10-01)']],
      ['m3', ['MISSED_IN_A_ROW: 3 meetings missed in a row']],
    ]);
    expect(health!.matchesNeedingCheckIn[2]).toEqual({
      matchId: 'm3',
      mentorUserId: ID.mila,
      mentorName: 'Mila Mint',
      menteeUserId: ID.tess,
      menteeName: 'Tess Trent',
      liveSince: LIVE,
      lastMeetingAt: '2026-10-20T20:00:00.000Z',
      nextMeetingAt: null,
      missedInARow: 3,
      reasons: [{ kind: 'MISSED_IN_A_ROW', message: '3 meetings missed in a row' }],
    });

    // The thresholds are the caller's.
    const lenient = await readModel.health(P1, NOW, { checkInAfterWeeks: 6, missedInARow: 4 });
    expect(lenient!.matchesNeedingCheckIn.map((match) => match.matchId)).toEqual(['m2']);
    // Earlier, m3 had missed only one in a row, m1 had met recently, and m4 had not met yet.
    const earlier = await readModel.health(P1, '2026-10-25T00:00:00.000Z');
    expect(earlier!.matchesNeedingCheckIn.map(({ matchId, reasons }) => [matchId, reasons.map((r) => r.message)])).toEqual([
      ['m2', ['never met since going live 7 weeks ago']],
      ['m4', ['never met since going live 7 weeks ago']],
    ]);
    expect(earlier!.sessionsCompleted).toBe(3);
  });

  test('health refuses thresholds out of range and knows no unknown program', async () => {
    await expect(readModel.health(P1, NOW, { checkInAfterWeeks: 0 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'checkInAfterWeeks' } });
    await expect(readModel.health(P1, NOW, { missedInARow: 21 })).rejects.toBeInstanceOf(DomainError);
    expect(await readModel.health('prog-unknown', NOW)).toBeNull();
  });

  test('scheduling on a match that is no longer live is refused, also when it closes between read and append', async () => {
    await expect(run(NOW, schedule('e1', 'm5', '2026-11-10T14:00:00.000Z'))).rejects.toMatchObject({ code: 'RULE_VIOLATED' });

    // The pipeline reads m4 as ACTIVE; before it appends, an admin closes m4. The check on the match
    // stream turns the append into a conflict, and the decision on fresh state refuses.
    const raced = Object.create(store) as SqlEventStore;
    let closed = false;
    raced.readStream = async (streamId, options) => {
      const read = await store.readStream(streamId, options);
      if (streamId === matchStream('m4') && !closed) {
        closed = true;
        await new CommandPipeline(store).execute(
          { actor: ADMIN, now: NOW, correlationId: 'race' },
          define.closeMatch(matchIds('m4'), { matchId: 'm4', closureReason: 'Other', mentorRematchIntent: 'NO', menteeRematchIntent: 'NO' }),
        );
      }
      return read;
    };
    const racing = new CommandPipeline(raced);
    await expect(
      racing.execute({ actor: ADMIN, now: NOW, correlationId: 'raced' }, meetings.scheduleMeeting({
        meetingId: 'e2',
        matchId: 'm4',
        startsAt: '2026-11-12T14:00:00.000Z',
        durationMinutes: 30,
        now: NOW,
      })),
    ).rejects.toMatchObject({ code: 'RULE_VIOLATED', message: expect.stringContaining('Match m4 is CLOSED') });
    expect(closed).toBe(true);
    expect((await store.readStream('meeting-e2')).events).toEqual([]);

    // The closed match leaves the health view; its meetings stay in the counts.
    await runner.catchUp();
    const health = await readModel.health(P1, NOW);
    expect(health).toMatchObject({ activeMatches: 3, sessionsCompleted: 4 });
  });

  test('replay: every event applied again (in order, then newest first) and a rebuild give the same rows', async () => {
    const snapshot = async (db: SqlDatabase) =>
      (await db.query<{ row: unknown }>(`SELECT to_jsonb(t) AS row FROM rm_meetings t ORDER BY t.meeting_id`)).rows.map((r) => r.row);
    const before = await snapshot(database.db);
    expect(before).toHaveLength(10);
    const events: RecordedEvent[] = [];
    for await (const event of readAllForward(store)) events.push(event);
    for (const batches of againInBatches(events)) {
      await database.db.transaction(async (tx) => applyBatches(tx, meetingsProjection, batches));
      expect(await snapshot(database.db)).toEqual(before);
    }
    await runner.rebuild(meetingsProjection.name);
    expect(await snapshot(database.db)).toEqual(before);
  });
});
