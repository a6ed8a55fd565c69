import { randomUUID } from 'node:crypto';
import { MATCH_EVENT_TYPES, USER_EVENT_TYPES } from '../../src/domain';
import { matchStream, programStream, userStream } from '../../src/domain/streams';
import type { NewEvent } from '../../src/eventstore/eventStore';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { lifecycleProjections } from '../../projections';
import { notificationsProjection } from '../../projections/notifications/notifications.projection';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { readModelRows } from '../support/readModelRows';

/**
 * The user history, users, matches and notification read models have a second implementation for
 * replays, in SQL (`replayInDatabase`). This log has every user and match event type, program and
 * template events, and the cases that need care
 * (a revert of a revert, two reverts of one change, a closure after a completion, approvals and
 * discards that name no persona, a mentor's second persona, repeated invitations, capacities and
 * profiles set twice, a persona inactivated, e-mail changes and profile corrections that set and
 * clear fields): live projection, the replay in SQL and the replay in
 * Node.js must leave the same rows, to the last column.
 */
announcePostgresSkip('replay in SQL');

const projections = [...lifecycleProjections, notificationsProjection];

const snapshot = (db: SqlDatabase) => readModelRows(db, projections);

const MENTOR = '11111111-1111-5111-8111-111111111111';
const MENTEE = '22222222-2222-5222-8222-222222222222';
const OTHER = '33333333-3333-5333-8333-333333333333';
const program = 'p-replay';

let clock = Date.UTC(2026, 0, 5, 9);
const event = (type: string, data: Record<string, unknown>): NewEvent => ({
  id: randomUUID(),
  type,
  schemaVersion: 1,
  data,
  metadata: { occurredAt: new Date((clock += 61_000)).toISOString(), actor: { id: 'admin', role: 'admin' }, correlationId: randomUUID(), causationId: randomUUID() },
});

const registered = (userId: string, n: number, role: 'MENTOR' | 'MENTEE', extra: Record<string, unknown> = {}) => [
  event('UserRegistered', {
    userId,
    email: `Person.${n}@Example.org`,
    normalizedEmail: `person.${n}@example.org`,
    name: `Person ${n}`,
    programId: program,
    role,
    userStatus: 'AI',
    company: null,
    manager: null,
    ...extra,
  }),
  event('PersonaCreated', { userId, personaId: `${userId}:p1`, programId: program, role, matchStatus: 'N/A', origin: { kind: 'REGISTRATION' } }),
];

const pair = (matchId: string, mentorPersona: string, menteePersona: string) => ({ matchId, programId: program, mentorPersonaId: mentorPersona, menteePersonaId: menteePersona });

describe.each(sqlBackends())('replay in SQL on $name', ({ open }) => {
  test('gives the rows live projection gives, for every user and match event type', async () => {
    const database = await open();
    const store = await SqlEventStore.create(database.db);
    const runner = await ProjectionRunner.create(store, database.db, projections);
    const append = (streamId: string, ...events: NewEvent[]) => store.appendToStreams([{ streamId, expectedRevision: 'any', events }]);
    try {
      const mentorP1 = `${MENTOR}:p1`;
      const mentorP2 = `${MENTOR}:p2`;
      const menteeP1 = `${MENTEE}:p1`;
      const menteeP2 = `${MENTEE}:p2`;
      const otherP1 = `${OTHER}:p1`;
      const status = (userId: string, changeId: string, from: string, to: string, extra: Record<string, unknown> = {}) =>
        event('UserStatusChanged', { userId, changeId, from, to, automatic: false, ...extra });
      const template = (subject: string) => ({ subject, body: 'A plain body.' });
      // Set before its program exists: changes nothing.
      await append(programStream('p-later'), event('NotificationTemplateSet', { programId: 'p-later', kind: 'MATCH_ACTIVATED', template: template('Too early') }));
      await append(
        programStream(program),
        event('ProgramCreated', {
          programId: program,
          name: 'Replay program',
          timeZone: 'Europe/Paris',
          settings: { mentorCapacity: 1, matchingEnabled: true, matchingProcess: 'ADMIN_LED', matchingCriteria: [], requiredApprovals: [], matchDurationMonths: 6, managerValidationRequired: false, requestExpiryBusinessDays: 3 },
          partnerSites: [{ id: 's1', name: 'Site one' }, { id: 's2', name: 'Site two' }],
          mentorSiteLists: [{ id: 'l1', name: 'List one' }],
          closureReasons: ['Done', 'Moved', 'Oops'],
        }),
        event('NotificationTemplateSet', { programId: program, kind: 'MATCH_ACTIVATED', template: template('Live') }),
        event('NotificationTemplateSet', { programId: program, kind: 'REQUEST_EXPIRED', template: template('Expired') }),
        event('NotificationTemplateSet', { programId: program, kind: 'MATCH_ACTIVATED', template: template('Live again') }),
        event('NotificationTemplateSet', { programId: program, kind: 'REQUEST_EXPIRED', template: null }),
      );
      // Created after the template set above, which stays without effect.
      await append(
        programStream('p-later'),
        event('ProgramCreated', {
          programId: 'p-later',
          name: 'Later program',
          timeZone: 'UTC',
          settings: { mentorCapacity: 1, matchingEnabled: false, matchingProcess: 'ADMIN_LED', matchingCriteria: [], requiredApprovals: [], matchDurationMonths: 6, managerValidationRequired: false, requestExpiryBusinessDays: 3 },
          partnerSites: [],
          mentorSiteLists: [],
          closureReasons: ['Other'],
        }),
      );
      await append('initiative-i1', event('InitiativeCreated', { initiativeId: 'i1', name: 'Volunteering', timeZone: 'America/New_York', company: 'Acme' }));
      await append(userStream(MENTOR), ...registered(MENTOR, 1, 'MENTOR', { company: 'Acme', manager: { name: 'Boss', email: 'boss@example.org' } }));
      await append(userStream(MENTEE), ...registered(MENTEE, 2, 'MENTEE'));
      await append(userStream(OTHER), ...registered(OTHER, 3, 'MENTEE'));
      // E-mail changes (the latest wins) and profile corrections: a field absent stays, null clears it.
      await append(
        userStream(MENTOR),
        event('UserEmailChanged', { userId: MENTOR, email: 'P1.New@Example.org', normalizedEmail: 'p1.new@example.org', previousEmail: 'Person.1@Example.org' }),
        event('UserProfileUpdated', { userId: MENTOR, name: 'Person One', managerName: 'New Boss', managerEmail: 'new.boss@example.org' }),
        event('UserEmailChanged', { userId: MENTOR, email: 'p1.final@example.org', normalizedEmail: 'p1.final@example.org', previousEmail: 'P1.New@Example.org' }),
        event('UserProfileUpdated', { userId: MENTOR, company: null }),
      );
      await append(userStream(OTHER), event('UserProfileUpdated', { userId: OTHER, company: 'Other Co' }), event('UserProfileUpdated', { userId: OTHER, managerName: 'M', managerEmail: 'm@example.org' }));
      await append(userStream(OTHER), event('UserProfileUpdated', { userId: OTHER, managerName: null, managerEmail: null, name: 'Person Three' }));
      await append(
        userStream(MENTOR),
        event('ApplicationCompleted', { userId: MENTOR }),
        status(MENTOR, 'c1', 'AI', 'SI', { automatic: true, trigger: 'APPLICATION_COMPLETED' }),
        status(MENTOR, 'c2', 'SI', 'A'),
        event('PersonaMatchStatusChanged', { userId: MENTOR, personaId: mentorP1, from: 'N/A', to: 'RTBM', matchId: null, cause: { kind: 'USER_ACTIVATED', changeId: 'c2' } }),
        event('ProfileAttributesSet', { userId: MENTOR, attributes: { languages: ['en'], city: 'Lyon' } }),
        event('ProfileAttributesSet', { userId: MENTOR, attributes: { languages: ['en', 'fr'] } }),
        event('MentorCapacitySet', { userId: MENTOR, programId: program, capacity: 2, previous: null }),
        event('MentorCapacitySet', { userId: MENTOR, programId: program, capacity: 3, previous: 2 }),
        event('PersonaAssignedToSite', { userId: MENTOR, personaId: mentorP1, programId: program, partnerSiteId: 's1', mentorSiteListId: 'l1', previousPartnerSiteId: null, previousMentorSiteListId: null }),
        event('PersonaAssignedToSite', { userId: MENTOR, personaId: mentorP1, programId: program, partnerSiteId: 's2', mentorSiteListId: null, previousPartnerSiteId: 's1', previousMentorSiteListId: 'l1' }),
      );
      await append(
        userStream(MENTEE),
        status(MENTEE, 'd1', 'AI', 'A'),
        event('PersonaMatchStatusChanged', { userId: MENTEE, personaId: menteeP1, from: 'N/A', to: 'RTBM', matchId: null, cause: { kind: 'USER_ACTIVATED', changeId: 'd1' } }),
        event('MenteeInvitedToMatch', { userId: MENTEE, personaId: menteeP1, programId: program }),
        event('MenteeInvitedToMatch', { userId: MENTEE, personaId: menteeP1, programId: program }),
        // A revert, the revert of that revert, and a second revert of the first change.
        status(MENTEE, 'd2', 'A', 'IW'),
        event('UserStatusChangeReverted', { userId: MENTEE, changeId: 'd3', revertedChangeId: 'd2', from: 'IW', to: 'A' }),
        event('UserStatusChangeReverted', { userId: MENTEE, changeId: 'd4', revertedChangeId: 'd3', from: 'A', to: 'IW' }),
        event('UserStatusChangeReverted', { userId: MENTEE, changeId: 'd5', revertedChangeId: 'd2', from: 'IW', to: 'A' }),
      );
      await runner.catchUp();

      // A staged match discarded, a request approved then declined, one that expires, one withdrawn.
      await append(matchStream('m-staged'), event('MatchCreated', {
          ...pair('m-staged', mentorP1, menteeP1),
          mentorUserId: MENTOR,
          menteeUserId: MENTEE,
          source: 'AUTO',
          score: 0.5,
          explanation: [{ criterion: 'languages', points: 0.5, sentence: 'shares 1 of 2 languages (en)' }],
          runId: 'run-1',
          criteriaVersion: 2,
        }));
      await append(matchStream('m-staged'), event('MatchDiscarded', { matchId: 'm-staged', programId: program, reason: 'BY_ADMIN', otherMatchId: null }));
      await append(
        matchStream('m-req'),
        event('MatchRequested', {
          ...pair('m-req', mentorP1, menteeP1),
          mentorUserId: MENTOR,
          menteeUserId: MENTEE,
          requestedBy: 'MENTEE',
          requiredApprovals: ['MENTOR', 'ADMIN'],
          pendingApprovals: ['MENTOR', 'ADMIN'],
          expiresAt: '2026-01-09T15:00:00.000Z',
          message: 'Hello',
        }),
      );
      await append(matchStream('m-req'), event('MatchRequestApproved', { matchId: 'm-req', programId: program, party: 'MENTOR', pendingApprovals: ['ADMIN'] }));
      await append(
        matchStream('m-req'),
        event('MatchRequestDeclined', { ...pair('m-req', mentorP1, menteeP1), mentorUserId: MENTOR, menteeUserId: MENTEE, requestedBy: 'MENTEE', party: 'ADMIN', message: 'No' }),
      );
      await append(
        matchStream('m-exp'),
        event('MatchRequested', {
          ...pair('m-exp', mentorP1, menteeP1),
          mentorUserId: MENTOR,
          menteeUserId: MENTEE,
          requestedBy: 'MENTOR',
          requiredApprovals: ['MENTEE'],
          pendingApprovals: ['MENTEE'],
          expiresAt: '2026-01-10T15:00:00.000Z',
        }),
        event('MatchRequestExpired', { ...pair('m-exp', mentorP1, menteeP1), mentorUserId: MENTOR, menteeUserId: MENTEE, requestedBy: 'MENTOR', expiresAt: '2026-01-10T15:00:00.000Z' }),
      );
      await append(
        matchStream('m-wd'),
        event('MatchRequested', {
          ...pair('m-wd', mentorP1, otherP1),
          mentorUserId: MENTOR,
          menteeUserId: OTHER,
          requestedBy: 'MENTEE',
          requiredApprovals: [],
          pendingApprovals: [],
          expiresAt: '2026-01-11T15:00:00.000Z',
        }),
        event('MatchRequestWithdrawn', { ...pair('m-wd', mentorP1, otherP1), mentorUserId: MENTOR, menteeUserId: OTHER, reason: 'MENTEE_MATCHED', otherMatchId: 'm-live' }),
      );
      // A match goes live, completes, closes (from COMPLETED), reopens and closes again (from ACTIVE).
      await append(matchStream('m-live'), event('MatchCreated', { ...pair('m-live', mentorP1, menteeP1), mentorUserId: MENTOR, menteeUserId: MENTEE }));
      await append(matchStream('m-live'), event('MatchActivated', { ...pair('m-live', mentorP1, menteeP1), endsAt: '2026-07-05T09:00:00.000Z' }));
      await append(
        userStream(MENTOR),
        event('PersonaMatchStatusChanged', { userId: MENTOR, personaId: mentorP1, from: 'RTBM', to: 'MATCHED', matchId: 'm-live', cause: { kind: 'MATCH_ACTIVATED', matchId: 'm-live' } }),
      );
      await append(
        userStream(MENTEE),
        event('PersonaMatchStatusChanged', { userId: MENTEE, personaId: menteeP1, from: 'RTBM', to: 'MATCHED', matchId: 'm-live', cause: { kind: 'MATCH_ACTIVATED', matchId: 'm-live' } }),
      );
      await runner.catchUp();
      await append(matchStream('m-live'), event('MatchCompleted', { ...pair('m-live', mentorP1, menteeP1), endsAt: '2026-07-05T09:00:00.000Z' }));
      await append(userStream(MENTEE), event('PersonaMatchCompleted', { userId: MENTEE, personaId: menteeP1, matchId: 'm-live' }));
      await append(
        matchStream('m-live'),
        event('MatchClosed', { ...pair('m-live', mentorP1, menteeP1), closureReason: 'Done', mentorRematchIntent: 'YES', menteeRematchIntent: 'MAYBE' }),
      );
      await append(
        userStream(MENTEE),
        event('PersonaMatchStatusChanged', { userId: MENTEE, personaId: menteeP1, from: 'MATCHED', to: 'CLOSED', matchId: 'm-live', cause: { kind: 'MATCH_CLOSED', matchId: 'm-live', closureReason: 'Done', rematchIntent: 'MAYBE' } }),
        event('PersonaCreated', { userId: MENTEE, personaId: menteeP2, programId: program, role: 'MENTEE', matchStatus: 'RESCREENING', origin: { kind: 'REMATCH_REQUESTED', matchId: 'm-live', rematchIntent: 'MAYBE' } }),
      );
      await append(matchStream('m-live'), event('MatchReopened', pair('m-live', mentorP1, menteeP1)));
      await append(
        userStream(MENTEE),
        event('PersonaMatchStatusChanged', { userId: MENTEE, personaId: menteeP1, from: 'CLOSED', to: 'MATCHED', matchId: 'm-live', cause: { kind: 'MATCH_REOPENED', matchId: 'm-live' } }),
        event('PersonaInactivated', { userId: MENTEE, personaId: menteeP2, matchId: null, matchStatus: 'RESCREENING', communicationCut: false, cause: { kind: 'SUPERSEDED_BY_REOPENED_MATCH', matchId: 'm-live' } }),
      );
      await append(
        matchStream('m-live'),
        event('MatchClosed', { ...pair('m-live', mentorP1, menteeP1), closureReason: 'Moved', mentorRematchIntent: 'NO', menteeRematchIntent: 'NO' }),
      );
      // One closed and reopened that stays open: its closure is cleared.
      await append(matchStream('m-reo'), event('MatchCreated', { ...pair('m-reo', mentorP1, otherP1), mentorUserId: MENTOR, menteeUserId: OTHER }));
      await append(matchStream('m-reo'), event('MatchActivated', { ...pair('m-reo', mentorP1, otherP1), endsAt: null }));
      await append(
        matchStream('m-reo'),
        event('MatchClosed', { ...pair('m-reo', mentorP1, otherP1), closureReason: 'Oops', mentorRematchIntent: 'NO', menteeRematchIntent: 'YES' }),
      );
      await append(matchStream('m-reo'), event('MatchReopened', pair('m-reo', mentorP1, otherP1)));
      // The mentor's second match goes live through a second persona.
      await append(
        userStream(MENTOR),
        event('PersonaCreated', { userId: MENTOR, personaId: mentorP2, programId: program, role: 'MENTOR', matchStatus: 'RTBM', origin: { kind: 'ADDITIONAL_MATCH', matchId: 'm-two', alongsidePersonaId: mentorP1 } }),
      );
      await append(matchStream('m-two'), event('MatchCreated', { ...pair('m-two', mentorP1, otherP1), mentorUserId: MENTOR, menteeUserId: OTHER }));
      await append(matchStream('m-two'), event('MatchActivated', { ...pair('m-two', mentorP2, otherP1), endsAt: null }));
      await runner.catchUp();
      // The other mentee's personal data is erased: their registration, profile and request messages read erased.
      await append(userStream(OTHER), event('PersonalDataErased', { userId: OTHER, subjectIds: [OTHER, 'match:m-two', 'match:m-reo'] }));
      await runner.catchUp();

      const events = await store.readAll({ maxCount: 10_000 });
      const present = new Set(events.map((e) => e.type));
      // The log has every type both implementations handle.
      expect([...USER_EVENT_TYPES, ...MATCH_EVENT_TYPES].filter((type) => !present.has(type))).toEqual([]);
      const live = await snapshot(database.db);
      expect(live.rm_user_history!.length).toBeGreaterThan(40);
      expect(live.rm_user_history).toContainEqual(expect.objectContaining({ change_id: 'd2', reverted_by_change_id: 'd5' }));
      expect(live.rm_user_history).toContainEqual(expect.objectContaining({ match_id: 'm-live', event_type: 'MatchClosed', from_value: 'COMPLETED' }));
      expect(live.rm_matches).toContainEqual(expect.objectContaining({ match_id: 'm-reo', status: 'ACTIVE', closure_reason: null }));
      expect(live.notification_programs).toContainEqual(expect.objectContaining({ program_id: program, templates: { MATCH_ACTIVATED: template('Live again') } }));
      expect(live.notification_programs).toHaveLength(3);
      expect(live.notification_programs).toContainEqual(expect.objectContaining({ program_id: 'p-later', templates: {} }));

      await runner.replay([], undefined, undefined, { inDatabase: true });
      expect(await snapshot(database.db)).toEqual(live);
      await runner.replay([], undefined, 3, { inDatabase: false });
      expect(await snapshot(database.db)).toEqual(live);
    } finally {
      await database.close();
    }
  });
});
