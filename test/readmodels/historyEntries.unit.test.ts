import { historyEntriesOf } from '../../projections/userHistory/userHistory.entries';
import { MENTEE_ID, MENTOR_ID, matchStatusChanged, persona, programCreated, statusChanged } from '../../src/domain/shared/testEvents';

/** The sentences the scenario in lifecycle.int.test.ts does not reach. */
describe('history entries', () => {
  test('a profile correction says what was set and what was removed; addresses stay out of from/to', () => {
    expect(
      historyEntriesOf({ type: 'UserProfileUpdated', data: { userId: MENTOR_ID, name: 'Maria Rivera', company: null, managerName: null, managerEmail: null } }),
    ).toEqual([
      {
        userId: MENTOR_ID,
        field: 'PROFILE',
        personaId: null,
        matchId: null,
        changeId: null,
        from: null,
        to: null,
        summary: 'Profile updated: name set to "Maria Rivera", company removed, manager name removed, manager e-mail removed',
      },
    ]);
    expect(
      historyEntriesOf({ type: 'UserEmailChanged', data: { userId: MENTOR_ID, email: 'new@example.org', normalizedEmail: 'new@example.org', previousEmail: 'old@example.org' } }),
    ).toEqual([expect.objectContaining({ field: 'EMAIL', from: null, to: null, summary: 'E-mail changed from <old@example.org> to <new@example.org>' })]);
  });

  test('program events belong to no user', () => {
    expect(historyEntriesOf(programCreated())).toEqual([]);
  });

  test('an admin move of the match status says only what moved', () => {
    expect(historyEntriesOf(matchStatusChanged(MENTEE_ID, 2, 'RESCREENING', 'RTBM', { kind: 'ADMIN' }))).toEqual([
      {
        userId: MENTEE_ID,
        field: 'MATCH_STATUS',
        personaId: persona(MENTEE_ID, 2),
        matchId: null,
        changeId: null,
        from: 'RESCREENING',
        to: 'RTBM',
        summary: `Persona ${persona(MENTEE_ID, 2)} match status changed from RESCREENING to RTBM`,
      },
    ]);
  });

  test('a manual status change names both statuses and carries its change id', () => {
    expect(historyEntriesOf(statusChanged(MENTOR_ID, 'c-9', 'A', 'IW'))).toEqual([
      expect.objectContaining({
        field: 'USER_STATUS',
        changeId: 'c-9',
        summary: 'User status changed from Active (A) to Inactive Withdrawn (IW)',
      }),
    ]);
  });

  test('a persona inactivated in error while matched says the pair can no longer communicate', () => {
    const [entry] = historyEntriesOf({
      type: 'PersonaInactivated',
      data: {
        userId: MENTOR_ID,
        personaId: persona(MENTOR_ID, 1),
        matchStatus: 'MATCHED',
        matchId: 'm-7',
        communicationCut: true,
        cause: { kind: 'CREATED_IN_ERROR' },
      },
    });
    expect(entry).toMatchObject({
      field: 'PERSONA_STATUS',
      matchId: 'm-7',
      from: 'ACTIVE',
      to: 'INACTIVE',
      summary: `Persona ${persona(MENTOR_ID, 1)} inactivated as created in error; it was MATCHED in match m-7, so its mentor and mentee can no longer communicate`,
    });
  });

  test('a persona made Rescreening, and a site reassignment naming the previous site', () => {
    expect(
      historyEntriesOf({
        type: 'PersonaCreated',
        data: {
          userId: MENTEE_ID,
          personaId: persona(MENTEE_ID, 3),
          programId: 'prog-2025',
          role: 'MENTEE',
          matchStatus: 'RESCREENING',
          origin: { kind: 'MADE_RESCREENING' },
        },
      })[0]!.summary,
    ).toBe(`Persona ${persona(MENTEE_ID, 3)} created as a mentee persona with match status RESCREENING because the user was made Rescreening (RS)`);
    expect(
      historyEntriesOf({
        type: 'PersonaAssignedToSite',
        data: {
          userId: MENTOR_ID,
          personaId: persona(MENTOR_ID, 1),
          programId: 'prog-2025',
          partnerSiteId: 'site-2',
          mentorSiteListId: null,
          previousPartnerSiteId: 'site-1',
          previousMentorSiteListId: 'list-1',
        },
      })[0],
    ).toMatchObject({
      from: 'site-1',
      to: 'site-2',
      summary: `Persona ${persona(MENTOR_ID, 1)} assigned to partner site site-2 (mentor site list none), was partner site site-1 (mentor site list list-1)`,
    });
  });

  test('a match event makes one entry for each participant, found from the persona ids', () => {
    const entries = historyEntriesOf({
      type: 'MatchReopened',
      data: { matchId: 'm-1', programId: 'prog-2025', mentorPersonaId: persona(MENTOR_ID, 1), menteePersonaId: persona(MENTEE_ID, 1) },
    });
    expect(entries.map((entry) => [entry.userId, entry.personaId, entry.summary])).toEqual([
      [MENTOR_ID, persona(MENTOR_ID, 1), 'Match m-1 reopened'],
      [MENTEE_ID, persona(MENTEE_ID, 1), 'Match m-1 reopened'],
    ]);
  });

  const M1 = { matchId: 'm-1', programId: 'prog-2025' };
  const pair = { ...M1, mentorPersonaId: persona(MENTOR_ID, 1), menteePersonaId: persona(MENTEE_ID, 1) };
  const both = { ...pair, mentorUserId: MENTOR_ID, menteeUserId: MENTEE_ID, requestedBy: 'MENTOR' as const };

  test('events that name no persona go to the participants the context names, and to nobody without it', () => {
    const discarded = { type: 'MatchDiscarded' as const, data: { ...M1, reason: 'PARTICIPANT_UNAVAILABLE' as const, otherMatchId: null } };
    expect(historyEntriesOf(discarded)).toEqual([]);
    const participants = [
      { userId: MENTOR_ID, personaId: persona(MENTOR_ID, 1) },
      { userId: MENTEE_ID, personaId: persona(MENTEE_ID, 1) },
    ];
    expect(historyEntriesOf(discarded, { participants, status: 'STAGED' }).map((entry) => [entry.userId, entry.from, entry.to, entry.summary])).toEqual([
      [MENTOR_ID, 'STAGED', 'DISCARDED', 'Staged match m-1 discarded because a participant can no longer be matched'],
      [MENTEE_ID, 'STAGED', 'DISCARDED', 'Staged match m-1 discarded because a participant can no longer be matched'],
    ]);
  });

  test('a closure says it closed from ACTIVE unless the context says the match had completed', () => {
    const closed = {
      type: 'MatchClosed' as const,
      data: { ...pair, closureReason: 'Other', mentorRematchIntent: 'MAYBE' as const, menteeRematchIntent: 'NO' as const },
    };
    expect(historyEntriesOf(closed).map((entry) => entry.from)).toEqual(['ACTIVE', 'ACTIVE']);
    expect(historyEntriesOf(closed, { participants: [], status: 'COMPLETED' }).map((entry) => [entry.from, entry.summary])).toEqual([
      ['COMPLETED', 'Match m-1 closed: Other; mentor wants another match: MAYBE'],
      ['COMPLETED', 'Match m-1 closed: Other; mentee wants another match: NO'],
    ]);
  });

  test('requests: asked by the mentor with nobody else to approve, withdrawn by the requester, declined without a message', () => {
    expect(
      historyEntriesOf({
        type: 'MatchRequested',
        data: { ...both, requiredApprovals: ['MENTOR'], pendingApprovals: [], expiresAt: '2025-01-09T15:00:00.000Z', message: null },
      })[0]!.summary,
    ).toBe(`Match m-1 requested by the mentor: mentor persona ${persona(MENTOR_ID, 1)} with mentee persona ${persona(MENTEE_ID, 1)}; no approval needed`);
    expect(
      historyEntriesOf({ type: 'MatchRequestWithdrawn', data: { ...both, reason: 'WITHDRAWN_BY_REQUESTER', otherMatchId: null } })[1]!.summary,
    ).toBe('Match request m-1 withdrawn by the requester');
    expect(historyEntriesOf({ type: 'MatchRequestDeclined', data: { ...both, party: 'ADMIN', message: null } })[0]).toMatchObject({
      from: 'REQUESTED',
      to: 'DECLINED',
      summary: 'Match request m-1 declined by the admin',
    });
  });

  test('user events of matching: a capacity changed from an earlier one, and a persona of an additional match', () => {
    expect(historyEntriesOf({ type: 'MentorCapacitySet', data: { userId: MENTOR_ID, programId: 'prog-2025', capacity: 1, previous: 3 } })).toEqual([
      {
        userId: MENTOR_ID,
        field: 'MENTOR_CAPACITY',
        personaId: null,
        matchId: null,
        changeId: null,
        from: '3',
        to: '1',
        summary: 'Mentor capacity in program prog-2025 set to 1 live match at once (was 3)',
      },
    ]);
    expect(
      historyEntriesOf({
        type: 'PersonaCreated',
        data: {
          userId: MENTOR_ID,
          personaId: persona(MENTOR_ID, 2),
          programId: 'prog-2025',
          role: 'MENTOR',
          matchStatus: 'RTBM',
          origin: { kind: 'ADDITIONAL_MATCH', matchId: 'm-2', alongsidePersonaId: persona(MENTOR_ID, 1) },
        },
      })[0],
    ).toMatchObject({ field: 'PERSONA', matchId: 'm-2', to: 'RTBM' });
  });
});
