import { historyEntriesOf } from '../../projections/historyEntries';
import { MENTEE_ID, MENTOR_ID, matchStatusChanged, persona, programCreated, statusChanged } from '../../src/domain/shared/testEvents';

/** The sentences the scenario in lifecycle.int.test.ts does not reach. */
describe('history entries', () => {
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
});
