import { CrossStreamSpecification } from '../shared/deciderSpecification';
import { fold } from '../shared/decider';
import { DEFAULT_PROGRAM_SETTINGS, programDecider } from '../program/program';
import {
  MENTEE_ID as TEEN,
  MENTOR_ID as ID,
  matchStatusChanged,
  persona,
  personaCreated,
  personaIn,
  programCreated,
  userIn,
} from '../shared/testEvents';
import { MATCH_STATUSES, type MatchStatus, type ParticipantRole } from '../user/matchStatus';
import { userDecider, type RematchIntent, type UserEvent } from '../user/user';
import { USER_STATUSES, type UserStatus } from '../user/userStatus';
import {
  decideCloseMatch,
  decideMatchPersonas,
  decideReopenMatch,
  matchDecider,
  matchParticipants,
  type MatchEvent,
  type MatchPersonas,
} from './match';

const streams = { match: matchDecider, program: programDecider, mentor: userDecider, mentee: userDecider };
const matching = CrossStreamSpecification.for(streams, decideMatchPersonas);
const closing = CrossStreamSpecification.for(streams, decideCloseMatch);
const reopening = CrossStreamSpecification.for({ match: matchDecider, mentor: userDecider, mentee: userDecider }, decideReopenMatch);

const M = 'match-1';
const MENTOR_P1 = persona(ID, 1);
const MENTEE_P1 = persona(TEEN, 1);
const program = [programCreated()];
const participant = (userId: string, role: ParticipantRole, status: UserStatus, matchStatus: MatchStatus, matchId = M) => [
  ...userIn(userId, role, status),
  ...personaIn(userId, 1, role, matchStatus, matchId),
];
const ready = { program, mentor: participant(ID, 'MENTOR', 'A', 'RTBM'), mentee: participant(TEEN, 'MENTEE', 'A', 'RTBM') };
const matchPersonas = (overrides: Partial<MatchPersonas['data']> = {}): MatchPersonas => ({
  type: 'MatchPersonas',
  data: { matchId: M, programId: 'prog-2025', mentorPersonaId: MENTOR_P1, menteePersonaId: MENTEE_P1, ...overrides },
});

const pair = { matchId: M, programId: 'prog-2025', mentorPersonaId: MENTOR_P1, menteePersonaId: MENTEE_P1 };
const created: MatchEvent[] = [
  { type: 'MatchCreated', data: { matchId: M, programId: 'prog-2025', mentorUserId: ID, mentorPersonaId: MENTOR_P1, menteeUserId: TEEN, menteePersonaId: MENTEE_P1 } },
  { type: 'MatchActivated', data: pair },
];
const closedMatch = (mentorRematchIntent: RematchIntent = 'NO', menteeRematchIntent: RematchIntent = 'NO'): MatchEvent => ({
  type: 'MatchClosed',
  data: { ...pair, closureReason: 'Mentor withdrew', mentorRematchIntent, menteeRematchIntent },
});
const toMatched = (userId: string): UserEvent =>
  matchStatusChanged(userId, 1, 'RTBM', 'MATCHED', { kind: 'MATCH_ACTIVATED', matchId: M }, M);
const toClosed = (userId: string, rematchIntent: RematchIntent = 'NO'): UserEvent =>
  matchStatusChanged(userId, 1, 'MATCHED', 'CLOSED', { kind: 'MATCH_CLOSED', matchId: M, closureReason: 'Mentor withdrew', rematchIntent }, M);

describe('MatchPersonas', () => {
  it('creates the live match and moves both personas to MATCHED', () =>
    matching(ready).when(matchPersonas()).then({ match: created, mentor: [toMatched(ID)], mentee: [toMatched(TEEN)] }));

  describe('each precondition, failing on its own', () => {
    it('a new match id', () => matching({ ...ready, match: created }).when(matchPersonas()).thenThrows('ALREADY_EXISTS', M));
    it('persona ids that name their user', () =>
      matching(ready).when(matchPersonas({ mentorPersonaId: 'p1' })).thenThrows('VALIDATION_FAILED', 'not a persona id'));
    it('two different users', () =>
      matching(ready).when(matchPersonas({ menteePersonaId: persona(ID, 2) })).thenThrows('RULE_VIOLATED', 'matched with themselves'));
    it('the program exists', () => matching({ ...ready, program: [] }).when(matchPersonas()).thenThrows('NOT_FOUND', 'prog-2025'));
    it('matching is on in the program', () =>
      matching({ ...ready, program: [programCreated({ settings: DEFAULT_PROGRAM_SETTINGS })] })
        .when(matchPersonas())
        .thenThrows('RULE_VIOLATED', 'turn matching on'));
    it('the mentor is registered', () => matching({ ...ready, mentor: [] }).when(matchPersonas()).thenThrows('NOT_FOUND', ID));
    it('the mentee is registered', () => matching({ ...ready, mentee: [] }).when(matchPersonas()).thenThrows('NOT_FOUND', TEEN));
    it('the mentor persona exists', () =>
      matching(ready).when(matchPersonas({ mentorPersonaId: persona(ID, 2) })).thenThrows('NOT_FOUND', persona(ID, 2)));
    it('the mentee persona exists', () =>
      matching(ready).when(matchPersonas({ menteePersonaId: persona(TEEN, 2) })).thenThrows('NOT_FOUND', persona(TEEN, 2)));
    it('the mentor persona is a mentor persona', () =>
      matching({ ...ready, mentor: participant(ID, 'MENTEE', 'A', 'RTBM') })
        .when(matchPersonas())
        .thenThrows('VALIDATION_FAILED', 'is a mentee persona; the mentor of a match needs a mentor persona'));
    it('the mentee persona is a mentee persona', () =>
      matching({ ...ready, mentee: participant(TEEN, 'MENTOR', 'A', 'RTBM') })
        .when(matchPersonas())
        .thenThrows('VALIDATION_FAILED', 'is a mentor persona; the mentee of a match needs a mentee persona'));
    it('both personas are in the program', () =>
      matching({
        ...ready,
        mentee: [
          ...userIn(TEEN, 'MENTEE', 'A'),
          personaCreated(TEEN, 1, 'MENTEE', 'N/A', { kind: 'REGISTRATION' }, 'prog-other'),
          matchStatusChanged(TEEN, 1, 'N/A', 'RTBM', { kind: 'USER_ACTIVATED', changeId: 'c-setup' }),
        ],
      })
        .when(matchPersonas())
        .thenThrows('RULE_VIOLATED', 'is in program prog-other, not prog-2025'));

    it.each(USER_STATUSES.filter((status) => status !== 'A'))('the mentor is Active (refused in %s)', (status) =>
      matching({ ...ready, mentor: participant(ID, 'MENTOR', status, 'RTBM') }).when(matchPersonas()).thenThrows('RULE_VIOLATED', 'only Active (A) users can be matched'));
    it.each(USER_STATUSES.filter((status) => status !== 'A'))('the mentee is Active (refused in %s)', (status) =>
      matching({ ...ready, mentee: participant(TEEN, 'MENTEE', status, 'RTBM') }).when(matchPersonas()).thenThrows('RULE_VIOLATED', 'only Active (A) users can be matched'));

    const withInactiveRtbm = (userId: string, role: ParticipantRole): UserEvent[] => [
      ...participant(userId, role, 'A', 'CLOSED', 'm-old'),
      personaCreated(userId, 2, role, 'RESCREENING', { kind: 'MADE_RESCREENING' }),
      matchStatusChanged(userId, 2, 'RESCREENING', 'RTBM', { kind: 'ADMIN' }),
      { type: 'PersonaInactivated', data: { userId, personaId: persona(userId, 2), matchStatus: 'RTBM', matchId: null, communicationCut: false, cause: { kind: 'CREATED_IN_ERROR' } } },
    ];
    it('the mentor persona is ACTIVE', () =>
      matching({ ...ready, mentor: withInactiveRtbm(ID, 'MENTOR') })
        .when(matchPersonas({ mentorPersonaId: persona(ID, 2) }))
        .thenThrows('RULE_VIOLATED', 'inactive'));
    it('the mentee persona is ACTIVE', () =>
      matching({ ...ready, mentee: withInactiveRtbm(TEEN, 'MENTEE') })
        .when(matchPersonas({ menteePersonaId: persona(TEEN, 2) }))
        .thenThrows('RULE_VIOLATED', 'inactive'));

    it.each(MATCH_STATUSES.filter((status) => status !== 'RTBM'))('the mentor persona is RTBM (refused from %s)', (status) =>
      matching({ ...ready, mentor: participant(ID, 'MENTOR', 'A', status, 'm-old') })
        .when(matchPersonas())
        .thenThrows('ILLEGAL_TRANSITION', `Persona ${MENTOR_P1} is ${status}`));
    it.each(MATCH_STATUSES.filter((status) => status !== 'RTBM'))('the mentee persona is RTBM (refused from %s)', (status) =>
      matching({ ...ready, mentee: participant(TEEN, 'MENTEE', 'A', status, 'm-old') })
        .when(matchPersonas())
        .thenThrows('ILLEGAL_TRANSITION', `Persona ${MENTEE_P1} is ${status}`));

    it('a persona that was matched once is told it needs a new persona', () =>
      matching({ ...ready, mentor: participant(ID, 'MENTOR', 'A', 'CLOSED', 'm-old') })
        .when(matchPersonas())
        .thenThrows('ILLEGAL_TRANSITION', 'A persona is matched only once (this one was in match m-old)'));

    it('a persona that was matched once is refused even if its history says RTBM', () =>
      matching({
        ...ready,
        mentor: [
          ...participant(ID, 'MENTOR', 'A', 'CLOSED', 'm-old'),
          matchStatusChanged(ID, 1, 'CLOSED', 'RTBM', { kind: 'ADMIN' }),
        ],
      })
        .when(matchPersonas())
        .thenThrows('RULE_VIOLATED', 'already matched once (match m-old)'));
  });
});

describe('CloseMatch', () => {
  const live = { program, match: created, mentor: [...participant(ID, 'MENTOR', 'A', 'RTBM'), toMatched(ID)], mentee: [...participant(TEEN, 'MENTEE', 'A', 'RTBM'), toMatched(TEEN)] };
  const close = (mentorRematchIntent: RematchIntent, menteeRematchIntent: RematchIntent, closureReason = 'Mentor withdrew') =>
    ({ type: 'CloseMatch', data: { matchId: M, closureReason, mentorRematchIntent, menteeRematchIntent } }) as const;
  const rematchPersona = (userId: string, role: ParticipantRole, rematchIntent: 'YES' | 'MAYBE'): UserEvent =>
    personaCreated(userId, 2, role, 'RESCREENING', { kind: 'REMATCH_REQUESTED', matchId: M, rematchIntent });

  it('NO: closes both personas and creates no new persona', () =>
    closing(live).when(close('NO', 'NO')).then({ match: [closedMatch('NO', 'NO')], mentor: [toClosed(ID)], mentee: [toClosed(TEEN)] }));

  it('YES: a new RESCREENING persona in the same program and role, at once', () =>
    closing(live)
      .when(close('YES', 'NO'))
      .then({ match: [closedMatch('YES', 'NO')], mentor: [toClosed(ID, 'YES'), rematchPersona(ID, 'MENTOR', 'YES')], mentee: [toClosed(TEEN)] }));

  it('MAYBE: also a new RESCREENING persona', () =>
    closing(live)
      .when(close('NO', 'MAYBE'))
      .then({ match: [closedMatch('NO', 'MAYBE')], mentor: [toClosed(ID)], mentee: [toClosed(TEEN, 'MAYBE'), rematchPersona(TEEN, 'MENTEE', 'MAYBE')] }));

  it('takes the closure reason in the program’s spelling', () =>
    closing(live).when(close('NO', 'NO', 'mentor WITHDREW')).then({ match: [closedMatch('NO', 'NO')], mentor: [toClosed(ID)], mentee: [toClosed(TEEN)] }));

  it('accepts a reason the program added', () =>
    closing({ ...live, program: [programCreated(), { type: 'ClosureReasonAdded', data: { programId: 'prog-2025', closureReason: 'Moved away' } }] })
      .when(close('NO', 'NO', 'Moved away'))
      .then({
        match: [{ type: 'MatchClosed', data: { ...pair, closureReason: 'Moved away', mentorRematchIntent: 'NO', menteeRematchIntent: 'NO' } }],
        mentor: [matchStatusChanged(ID, 1, 'MATCHED', 'CLOSED', { kind: 'MATCH_CLOSED', matchId: M, closureReason: 'Moved away', rematchIntent: 'NO' }, M)],
        mentee: [matchStatusChanged(TEEN, 1, 'MATCHED', 'CLOSED', { kind: 'MATCH_CLOSED', matchId: M, closureReason: 'Moved away', rematchIntent: 'NO' }, M)],
      }));

  it('closes even when a user has left the program meanwhile', () =>
    closing({ ...live, mentor: [...live.mentor, { type: 'UserStatusChanged', data: { userId: ID, changeId: 'c9', from: 'A', to: 'IW', automatic: false, trigger: 'MANUAL' } }] })
      .when(close('NO', 'NO'))
      .then({ match: [closedMatch('NO', 'NO')], mentor: [toClosed(ID)], mentee: [toClosed(TEEN)] }));

  it('refuses a reason not in the program’s list, listing the list', () =>
    closing(live).when(close('NO', 'NO', 'Bored')).thenThrows('VALIDATION_FAILED', 'choose one of: Program year ended, Mentor withdrew'));
  it('refuses an unknown rematch intent', () =>
    closing(live).when(close('SOMEDAY' as RematchIntent, 'NO')).thenThrows('VALIDATION_FAILED', 'YES, MAYBE or NO'));
  it('refuses an unknown match', () => closing({ ...live, match: [] }).when(close('NO', 'NO')).thenThrows('NOT_FOUND', M));
  it('refuses a match that is not live yet (STAGED)', () =>
    closing({ ...live, match: [created[0]!] }).when(close('NO', 'NO')).thenThrows('ILLEGAL_TRANSITION', 'is STAGED; only an ACTIVE match'));
  it('refuses a match already closed', () =>
    closing({ ...live, match: [...created, closedMatch()] }).when(close('NO', 'NO')).thenThrows('ILLEGAL_TRANSITION', 'is CLOSED'));
  it('refuses when a persona is not MATCHED in this match any more', () =>
    closing({ ...live, mentee: [...live.mentee, toClosed(TEEN)] }).when(close('NO', 'NO')).thenThrows('ILLEGAL_TRANSITION', `Persona ${MENTEE_P1} is CLOSED`));
});

describe('ReopenMatch ("Open Match")', () => {
  const closed = (mentorExtra: UserEvent[] = [], menteeExtra: UserEvent[] = []) => ({
    match: [...created, closedMatch()],
    mentor: [...participant(ID, 'MENTOR', 'A', 'RTBM'), toMatched(ID), toClosed(ID), ...mentorExtra],
    mentee: [...participant(TEEN, 'MENTEE', 'A', 'RTBM'), toMatched(TEEN), toClosed(TEEN), ...menteeExtra],
  });
  const reopen = { type: 'ReopenMatch', data: { matchId: M } } as const;
  const reopened = (userId: string): UserEvent =>
    matchStatusChanged(userId, 1, 'CLOSED', 'MATCHED', { kind: 'MATCH_REOPENED', matchId: M }, M);
  const rematchPersona = (userId: string, role: ParticipantRole): UserEvent =>
    personaCreated(userId, 2, role, 'RESCREENING', { kind: 'REMATCH_REQUESTED', matchId: M, rematchIntent: 'YES' });

  it('moves both personas back to MATCHED', () =>
    reopening(closed()).when(reopen).then({ match: [{ type: 'MatchReopened', data: pair }], mentor: [reopened(ID)], mentee: [reopened(TEEN)] }));

  it('inactivates the rematch persona the closure created, so nobody is matched twice', () =>
    reopening(closed([rematchPersona(ID, 'MENTOR')]))
      .when(reopen)
      .then({
        match: [{ type: 'MatchReopened', data: pair }],
        mentor: [
          reopened(ID),
          {
            type: 'PersonaInactivated',
            data: { userId: ID, personaId: persona(ID, 2), matchStatus: 'RESCREENING', matchId: null, communicationCut: false, cause: { kind: 'SUPERSEDED_BY_REOPENED_MATCH', matchId: M } },
          },
        ],
        mentee: [reopened(TEEN)],
      }));

  it('also a newer persona made RTBM since', () =>
    reopening(closed([], [rematchPersona(TEEN, 'MENTEE'), matchStatusChanged(TEEN, 2, 'RESCREENING', 'RTBM', { kind: 'ADMIN' })]))
      .when(reopen)
      .then({
        match: [{ type: 'MatchReopened', data: pair }],
        mentor: [reopened(ID)],
        mentee: [
          reopened(TEEN),
          {
            type: 'PersonaInactivated',
            data: { userId: TEEN, personaId: persona(TEEN, 2), matchStatus: 'RTBM', matchId: null, communicationCut: false, cause: { kind: 'SUPERSEDED_BY_REOPENED_MATCH', matchId: M } },
          },
        ],
      }));

  it('refuses when a user was matched again since, through a newer persona', () =>
    reopening(
      closed([
        rematchPersona(ID, 'MENTOR'),
        matchStatusChanged(ID, 2, 'RESCREENING', 'RTBM', { kind: 'ADMIN' }),
        matchStatusChanged(ID, 2, 'RTBM', 'MATCHED', { kind: 'MATCH_ACTIVATED', matchId: 'match-2' }, 'match-2'),
      ]),
    )
      .when(reopen)
      .thenThrows('RULE_VIOLATED', `matched again since (persona ${persona(ID, 2)}, match match-2)`));

  it.each(USER_STATUSES.filter((status) => status !== 'A'))('refuses when the mentee is no longer Active (%s)', (status) =>
    reopening(closed([], [{ type: 'UserStatusChanged', data: { userId: TEEN, changeId: 'c9', from: 'A', to: status, automatic: false, trigger: 'MANUAL' } }]))
      .when(reopen)
      .thenThrows('RULE_VIOLATED', 'only Active (A) users can have a match reopened'));

  it('refuses when the mentor is no longer Active', () =>
    reopening(closed([{ type: 'UserStatusChanged', data: { userId: ID, changeId: 'c9', from: 'A', to: 'IW', automatic: false, trigger: 'MANUAL' } }]))
      .when(reopen)
      .thenThrows('RULE_VIOLATED', 'Inactive Withdrawn (IW)'));

  it('refuses when a persona of the match was inactivated', () =>
    reopening(
      closed([
        rematchPersona(ID, 'MENTOR'),
        { type: 'PersonaInactivated', data: { userId: ID, personaId: MENTOR_P1, matchStatus: 'CLOSED', matchId: M, communicationCut: false, cause: { kind: 'CREATED_IN_ERROR' } } },
      ]),
    )
      .when(reopen)
      .thenThrows('RULE_VIOLATED', 'inactive'));

  it('refuses an unknown match', () => reopening({ ...closed(), match: [] }).when(reopen).thenThrows('NOT_FOUND', M));
  it('refuses a live match', () => reopening({ ...closed(), match: created }).when(reopen).thenThrows('ILLEGAL_TRANSITION', 'is ACTIVE; only a CLOSED match'));
  it('refuses a staged match', () => reopening({ ...closed(), match: [created[0]!] }).when(reopen).thenThrows('ILLEGAL_TRANSITION', 'is STAGED'));
});

describe('the match stream', () => {
  it('folds created → activated → closed → reopened', () => {
    const states = [created[0]!, created[1]!, closedMatch('YES', 'MAYBE'), { type: 'MatchReopened', data: pair } as MatchEvent].map(
      (_, i, all) => fold(matchDecider, all.slice(0, i + 1)).status,
    );
    expect(states).toEqual(['STAGED', 'ACTIVE', 'CLOSED', 'ACTIVE']);
    expect(fold(matchDecider, [...created, closedMatch('YES', 'MAYBE')])).toMatchObject({
      closure: { closureReason: 'Mentor withdrew', mentorRematchIntent: 'YES', menteeRematchIntent: 'MAYBE' },
    });
  });

  it('names the streams a command on an existing match needs', () => {
    expect(matchParticipants(fold(matchDecider, created), M)).toEqual({ programId: 'prog-2025', mentorUserId: ID, menteeUserId: TEEN });
    expect(() => matchParticipants(matchDecider.initialState(), M)).toThrow('does not exist');
  });

  it('refuses a wiring mistake loudly rather than as a refusal', () => {
    const mentee = fold(userDecider, [...participant(TEEN, 'MENTEE', 'A', 'RTBM'), toMatched(TEEN)]);
    expect(() =>
      decideCloseMatch(
        { type: 'CloseMatch', data: { matchId: M, closureReason: 'Other', mentorRematchIntent: 'NO', menteeRematchIntent: 'NO' } },
        { match: fold(matchDecider, created), program: fold(programDecider, program), mentor: mentee, mentee },
      ),
    ).toThrow(`Loaded user stream of ${TEEN} where ${ID} was expected.`);
  });
});
