import { CrossStreamSpecification } from '../shared/deciderSpecification';
import { fold } from '../shared/decider';
import { DEFAULT_PROGRAM_SETTINGS, programDecider, type ApprovingParty, type ProgramSettings } from '../program/program';
import {
  MENTEE_ID as TEEN,
  MENTOR_ID as ID,
  matchActivated,
  matchCompleted,
  matchCreated,
  matchPair,
  matchRequested,
  matchStatusChanged,
  mentorCapacitySet,
  persona,
  personaCreated,
  personaIdsOf,
  personaIn,
  personaMatchCompleted,
  programCreated,
  programWith,
  requestApproved,
  statusChanged,
  userIn,
} from '../shared/testEvents';
import { MATCH_STATUSES, type MatchStatus, type ParticipantRole } from '../user/matchStatus';
import { userDecider, type RematchIntent, type User, type UserEvent } from '../user/user';
import { userIdForEmail } from '../user/userId';
import { USER_STATUSES, type UserStatus } from '../user/userStatus';
import {
  decideApproveStagedMatch,
  decideCloseMatch,
  decideInactivateMatchedPersona,
  PERSONA_INACTIVATED_CLOSURE_REASON,
  decideCompleteMatch,
  decideDiscardStagedMatch,
  decideExpireMatchRequest,
  decideMatchPersonas,
  decideReopenMatch,
  decideRequestMatch,
  decideRespondToMatchRequest,
  decideWithdrawMatchRequest,
  liveMentorPersonas,
  matchDecider,
  matchParticipants,
  mentorCapacity,
  type DiscardStagedMatch,
  type ExistingMatch,
  type ExpireMatchRequest,
  type MatchEvent,
  type MatchPersonas,
  type RequestMatch,
  type RequestingParty,
  type RespondToMatchRequest,
  type WithdrawMatchRequest,
} from './match';

const foldMatch = (events: readonly MatchEvent[]) => fold(matchDecider, events);

const streams = { match: matchDecider, program: programDecider, mentor: userDecider, mentee: userDecider };
const matching = CrossStreamSpecification.for(streams, decideMatchPersonas);
const approving = CrossStreamSpecification.for(streams, decideApproveStagedMatch);
const requesting = CrossStreamSpecification.for(streams, decideRequestMatch);
const responding = CrossStreamSpecification.for(streams, decideRespondToMatchRequest);
const closing = CrossStreamSpecification.for(streams, decideCloseMatch);
const reopening = CrossStreamSpecification.for(streams, decideReopenMatch);
const inactivating = CrossStreamSpecification.for(streams, decideInactivateMatchedPersona);
const completing = CrossStreamSpecification.for({ match: matchDecider, mentor: userDecider, mentee: userDecider }, decideCompleteMatch);
const discarding = CrossStreamSpecification.for({ match: matchDecider }, (command: DiscardStagedMatch, states) => ({
  match: decideDiscardStagedMatch(command, states.match),
}));
const expiring = CrossStreamSpecification.for({ match: matchDecider }, (command: ExpireMatchRequest, states) => ({
  match: decideExpireMatchRequest(command, states.match),
}));
const withdrawing = CrossStreamSpecification.for({ match: matchDecider }, (command: WithdrawMatchRequest, states) => ({
  match: decideWithdrawMatchRequest(command, states.match),
}));

/** A Thursday, 10:00 in New York (the test program's time zone, EDT). */
const NOW = '2025-09-04T14:00:00.000Z';
/** NOW + the default 6 months in New York: still 10:00 there, though EST by then. */
const ENDS = '2026-03-04T15:00:00.000Z';
/** NOW + 3 business days: the Tuesday after, 10:00 in New York. */
const TUESDAY = '2025-09-09T14:00:00.000Z';
/** When a request is answered: the Friday after NOW, 10:00 in New York. */
const ANSWERED = '2025-09-05T14:00:00.000Z';
/** ANSWERED + 6 months in New York. */
const ANSWERED_ENDS = '2026-03-05T15:00:00.000Z';

/** The refusal for a mentor of capacity 1 already in a live match. */
const AT_CAPACITY_1 = 'their capacity (1); close a match or raise their capacity first.';

const M = 'match-1';
const MENTOR_P1 = persona(ID, 1);
const MENTEE_P1 = persona(TEEN, 1);
/** A second mentee, for a mentor's second match. */
const TEEN2 = userIdForEmail('mentee2@example.org');
const program = [programCreated()];
const off = [programCreated({ settings: DEFAULT_PROGRAM_SETTINGS })];
const participant = (userId: string, role: ParticipantRole, status: UserStatus, matchStatus: MatchStatus, matchId = M) => [
  ...userIn(userId, role, status),
  ...personaIn(userId, 1, role, matchStatus, matchId),
];
const ready = { program, mentor: participant(ID, 'MENTOR', 'A', 'RTBM'), mentee: participant(TEEN, 'MENTEE', 'A', 'RTBM') };
const matchPersonas = (overrides: Partial<MatchPersonas['data']> = {}): MatchPersonas => ({
  type: 'MatchPersonas',
  data: { matchId: M, programId: 'prog-2025', mentorPersonaId: MENTOR_P1, menteePersonaId: MENTEE_P1, now: NOW, ...overrides },
});

const pairM = matchPair(M);
const pair = personaIdsOf(pairM);
const created: MatchEvent[] = [matchCreated(pairM), matchActivated(pairM, ENDS)];
const staged: MatchEvent[] = [matchCreated(pairM)];
const closedMatch = (mentorRematchIntent: RematchIntent = 'NO', menteeRematchIntent: RematchIntent = 'NO'): MatchEvent => ({
  type: 'MatchClosed',
  data: { ...pair, closureReason: 'Mentor withdrew', mentorRematchIntent, menteeRematchIntent },
});
const toMatched = (userId: string, matchId = M, n = 1): UserEvent =>
  matchStatusChanged(userId, n, 'RTBM', 'MATCHED', { kind: 'MATCH_ACTIVATED', matchId }, matchId);
const toClosed = (userId: string, rematchIntent: RematchIntent = 'NO'): UserEvent =>
  matchStatusChanged(userId, 1, 'MATCHED', 'CLOSED', { kind: 'MATCH_CLOSED', matchId: M, closureReason: 'Mentor withdrew', rematchIntent }, M);
/** Both participants' streams once the match is live. */
const liveParticipants = {
  mentor: [...participant(ID, 'MENTOR', 'A', 'RTBM'), toMatched(ID)],
  mentee: [...participant(TEEN, 'MENTEE', 'A', 'RTBM'), toMatched(TEEN)],
};
/** A mentor's additional concurrent match: persona n, created alongside `alongside` and MATCHED at once. */
const additionalMatch = (userId: string, n: number, matchId: string, alongside: number): UserEvent[] => [
  personaCreated(userId, n, 'MENTOR', 'RTBM', { kind: 'ADDITIONAL_MATCH', matchId, alongsidePersonaId: persona(userId, alongside) }),
  toMatched(userId, matchId, n),
];
const becameInactive = (userId: string, to: UserStatus = 'IW'): UserEvent => statusChanged(userId, 'c9', 'A', to);

describe('MatchPersonas', () => {
  it('creates the live match and moves both personas to MATCHED', () =>
    matching(ready).when(matchPersonas()).then({ match: created, mentor: [toMatched(ID)], mentee: [toMatched(TEEN)] }));

  it('records auto-matching as the source, with its score', () =>
    matching(ready)
      .when(matchPersonas({ source: 'AUTO', score: 0.87 }))
      .then({ match: [matchCreated(pairM, 'AUTO', 0.87), matchActivated(pairM, ENDS)], mentor: [toMatched(ID)], mentee: [toMatched(TEEN)] }));

  describe('live at once', () => {
    it('ends after the program’s match duration, counted in its time zone', () =>
      matching({ ...ready, program: [programWith({ matchDurationMonths: 12 })] })
        .when(matchPersonas())
        .then({ match: [matchCreated(pairM), matchActivated(pairM, '2026-09-04T14:00:00.000Z')], mentor: [toMatched(ID)], mentee: [toMatched(TEEN)] }));

    it('counts months from the local date (Jan 30 in New York is Jan 31 in Tokyo, so Feb 28 there)', () =>
      matching({ ...ready, program: [programWith({ matchDurationMonths: 1 }, { timeZone: 'Asia/Tokyo' })] })
        .when(matchPersonas({ now: '2025-01-30T20:00:00.000Z' }))
        .then({ match: [matchCreated(pairM), matchActivated(pairM, '2025-02-27T20:00:00.000Z')], mentor: [toMatched(ID)], mentee: [toMatched(TEEN)] }));

    it('is refused while matching is off', () =>
      matching({ ...ready, program: off }).when(matchPersonas()).thenThrows('RULE_VIOLATED', 'Matching is off in program "Brooklyn 2025"; turn matching on'));
  });

  describe('staged (stage: true)', () => {
    it('writes only the match stream: nobody is MATCHED, nobody notified', () =>
      matching(ready).when(matchPersonas({ stage: true })).then({ match: staged }));

    it('is allowed while matching is off ("pausing keeps everything staged")', () =>
      matching({ ...ready, program: off }).when(matchPersonas({ stage: true })).then({ match: staged }));

    it('keeps auto-matching’s source and score', () =>
      matching({ ...ready, program: off }).when(matchPersonas({ stage: true, source: 'AUTO', score: 12.5 })).then({ match: [matchCreated(pairM, 'AUTO', 12.5)] }));

    it('folds to STAGED, with no end date yet', () =>
      expect(foldMatch([matchCreated(pairM, 'AUTO', 3)])).toMatchObject({ status: 'STAGED', source: 'AUTO', score: 3, endsAt: null }));

    it('still needs an Active mentor', () =>
      matching({ ...ready, program: off, mentor: participant(ID, 'MENTOR', 'SI', 'RTBM') })
        .when(matchPersonas({ stage: true }))
        .thenThrows('RULE_VIOLATED', 'is Screening Incomplete (SI); only Active (A) users can be matched. Change the user status to A first.'));
    it('still needs an Active mentee', () =>
      matching({ ...ready, program: off, mentee: participant(TEEN, 'MENTEE', 'IW', 'RTBM') })
        .when(matchPersonas({ stage: true }))
        .thenThrows('RULE_VIOLATED', 'only Active (A) users can be matched'));
    it('still needs ACTIVE personas', () =>
      matching({
        ...ready,
        program: off,
        mentee: [
          ...ready.mentee,
          personaCreated(TEEN, 2, 'MENTEE', 'RESCREENING', { kind: 'MADE_RESCREENING' }),
          { type: 'PersonaInactivated', data: { userId: TEEN, personaId: MENTEE_P1, matchStatus: 'RTBM', matchId: null, communicationCut: false, cause: { kind: 'CREATED_IN_ERROR' } } },
        ],
      })
        .when(matchPersonas({ stage: true }))
        .thenThrows('RULE_VIOLATED', `Persona ${MENTEE_P1} of Theo Mentee is inactive (created in error), so it cannot be matched`));
    it('still needs an RTBM mentee', () =>
      matching({ ...ready, program: off, mentee: participant(TEEN, 'MENTEE', 'A', 'RESCREENING') })
        .when(matchPersonas({ stage: true }))
        .thenThrows('ILLEGAL_TRANSITION', `Persona ${MENTEE_P1} is RESCREENING; from RESCREENING it can only move to RTBM ("Make RTBM")`));
    it('still needs the mentor within capacity', () =>
      matching({ ...ready, program: off, mentor: participant(ID, 'MENTOR', 'A', 'MATCHED', 'match-0') })
        .when(matchPersonas({ stage: true }))
        .thenThrows('RULE_VIOLATED', AT_CAPACITY_1));
  });

  describe('each precondition, failing on its own', () => {
    it('a new match id', () => matching({ ...ready, match: created }).when(matchPersonas()).thenThrows('ALREADY_EXISTS', `Match ${M} already exists; use a new match id`));
    it('persona ids that name their user', () =>
      matching(ready).when(matchPersonas({ mentorPersonaId: 'p1' })).thenThrows('VALIDATION_FAILED', 'not a persona id'));
    it('two different users', () =>
      matching(ready).when(matchPersonas({ menteePersonaId: persona(ID, 2) })).thenThrows('RULE_VIOLATED', 'matched with themselves'));
    it('the program exists', () => matching({ ...ready, program: [] }).when(matchPersonas()).thenThrows('NOT_FOUND', 'prog-2025'));
    it('matching is on in the program', () =>
      matching({ ...ready, program: [programCreated({ settings: DEFAULT_PROGRAM_SETTINGS })] })
        .when(matchPersonas())
        .thenThrows('RULE_VIOLATED', 'turn matching on'));
    it('an admin’s source (a request is not made this way)', () =>
      matching(ready).when(matchPersonas({ source: 'REQUEST' as never })).thenThrows('VALIDATION_FAILED', 'source ADMIN or AUTO (got REQUEST)'));
    it('a score that is a number', () =>
      matching(ready).when(matchPersonas({ score: Number.NaN })).thenThrows('VALIDATION_FAILED', 'A match score must be a number'));
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

    // A MATCHED mentor persona is refused too, for capacity: see "mentor capacity" below.
    it.each(MATCH_STATUSES.filter((status) => status !== 'RTBM' && status !== 'MATCHED'))('the mentor persona is RTBM (refused from %s)', (status) =>
      matching({ ...ready, mentor: participant(ID, 'MENTOR', 'A', status, 'm-old') })
        .when(matchPersonas())
        .thenThrows('ILLEGAL_TRANSITION', `Persona ${MENTOR_P1} is ${status}`));
    it('the mentor persona is RTBM (refused from MATCHED, as the mentor has no capacity left)', () =>
      matching({ ...ready, mentor: participant(ID, 'MENTOR', 'A', 'MATCHED', 'm-old') })
        .when(matchPersonas())
        .thenThrows('RULE_VIOLATED', 'Maria Mentor already has 1 live match in program "Brooklyn 2025", their capacity (1); close a match or raise their capacity first.'));
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

describe('ApproveStagedMatch', () => {
  const approve = { type: 'ApproveStagedMatch', data: { matchId: M, now: NOW } } as const;
  const stagedReady = { ...ready, match: staged };

  it('makes a STAGED match live: both personas MATCHED, ending after the match duration', () =>
    approving(stagedReady).when(approve).then({ match: [matchActivated(pairM, ENDS)], mentor: [toMatched(ID)], mentee: [toMatched(TEEN)] }));

  it('folds to ACTIVE with the end date', () =>
    expect(foldMatch([...staged, matchActivated(pairM, ENDS)])).toMatchObject({ status: 'ACTIVE', source: 'ADMIN', endsAt: ENDS }));

  it('is refused while matching is off (staged while paused, approved only once it is back on)', () =>
    approving({ ...stagedReady, program: off }).when(approve).thenThrows('RULE_VIOLATED', 'turn matching on before a match can go live'));

  it('checks the mentee again: no longer Active since staging', () =>
    approving({ ...stagedReady, mentee: [...ready.mentee, becameInactive(TEEN)] })
      .when(approve)
      .thenThrows('RULE_VIOLATED', 'is Inactive Withdrawn (IW); only Active (A) users can be matched'));
  it('checks the mentee again: matched through another match since staging', () =>
    approving({ ...stagedReady, mentee: [...ready.mentee, toMatched(TEEN, 'match-9')] })
      .when(approve)
      .thenThrows('ILLEGAL_TRANSITION', `Persona ${MENTEE_P1} is MATCHED`));
  it('checks the mentor again: at capacity since staging', () =>
    approving({ ...stagedReady, mentor: [...ready.mentor, toMatched(ID, 'match-9')] })
      .when(approve)
      .thenThrows('RULE_VIOLATED', AT_CAPACITY_1));

  it('refuses an unknown match', () => approving(ready).when(approve).thenThrows('NOT_FOUND', `Match ${M} does not exist.`));
  it('refuses an ACTIVE match', () =>
    approving({ ...ready, match: created }).when(approve).thenThrows('ILLEGAL_TRANSITION', `Match ${M} is ACTIVE; only a STAGED match can be approved.`));
  it('refuses a DISCARDED match', () =>
    approving({ ...ready, match: [...staged, { type: 'MatchDiscarded', data: { matchId: M, programId: 'prog-2025', reason: 'BY_ADMIN', otherMatchId: null } }] })
      .when(approve)
      .thenThrows('ILLEGAL_TRANSITION', 'is DISCARDED; only a STAGED match can be approved'));
});

describe('DiscardStagedMatch', () => {
  const discarded = (reason: 'BY_ADMIN' | 'MENTEE_MATCHED' = 'BY_ADMIN', otherMatchId: string | null = null): MatchEvent => ({
    type: 'MatchDiscarded',
    data: { matchId: M, programId: 'prog-2025', reason, otherMatchId },
  });
  it('throws a STAGED match away; nobody’s persona moves', () =>
    discarding({ match: staged }).when({ type: 'DiscardStagedMatch', data: { matchId: M } }).then({ match: [discarded()] }));
  it('records why, when the mentee was matched through another match', () =>
    discarding({ match: staged })
      .when({ type: 'DiscardStagedMatch', data: { matchId: M, reason: 'MENTEE_MATCHED', otherMatchId: 'match-9' } })
      .then({ match: [discarded('MENTEE_MATCHED', 'match-9')] }));
  it('folds to DISCARDED', () => expect(foldMatch([...staged, discarded()]).status).toBe('DISCARDED'));
  it('refuses a live match (close it instead)', () =>
    discarding({ match: created }).when({ type: 'DiscardStagedMatch', data: { matchId: M } }).thenThrows('ILLEGAL_TRANSITION', 'is ACTIVE; only a STAGED match can be discarded'));
  it('refuses a match discarded already', () =>
    discarding({ match: [...staged, discarded()] }).when({ type: 'DiscardStagedMatch', data: { matchId: M } }).thenThrows('ILLEGAL_TRANSITION', 'is DISCARDED; only a STAGED match can be discarded'));
  it('refuses an unknown match', () =>
    discarding({}).when({ type: 'DiscardStagedMatch', data: { matchId: M } }).thenThrows('NOT_FOUND', `Match ${M} does not exist.`));
});

// ---------------------------------------------------------------------------------------------
// Requested matches (user-led programs)

const userLed = (requiredApprovals: readonly ApprovingParty[], more: Partial<ProgramSettings> = {}) => [
  programWith({ matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals, ...more }),
];
const request = (requestedBy: RequestingParty = 'MENTEE', overrides: Partial<RequestMatch['data']> = {}): RequestMatch => ({
  type: 'RequestMatch',
  data: { ...pair, requestedBy, now: NOW, ...overrides },
});
const requested = (
  requiredApprovals: readonly ApprovingParty[],
  pendingApprovals: readonly ApprovingParty[],
  requestedBy: RequestingParty = 'MENTEE',
  expiresAt = TUESDAY,
  message: string | null = null,
): MatchEvent => matchRequested(pairM, { requestedBy, requiredApprovals, pendingApprovals, expiresAt, message });

describe('RequestMatch', () => {
  it('waits for the mentor, expiring after 3 business days (Thursday → Tuesday, same local time)', () =>
    requesting({ ...ready, program: userLed(['MENTOR']) }).when(request('MENTEE')).then({ match: [requested(['MENTOR'], ['MENTOR'])] }));

  it('expires a Friday request on Wednesday', () =>
    requesting({ ...ready, program: userLed(['MENTOR']) })
      .when(request('MENTEE', { now: '2025-09-05T14:00:00.000Z' }))
      .then({ match: [requested(['MENTOR'], ['MENTOR'], 'MENTEE', '2025-09-10T14:00:00.000Z')] }));

  it('counts business days in the program’s time zone (Friday 22:00 in New York, already Saturday in UTC)', () =>
    requesting({ ...ready, program: userLed(['MENTOR']) })
      .when(request('MENTEE', { now: '2025-09-06T02:00:00.000Z' }))
      .then({ match: [requested(['MENTOR'], ['MENTOR'], 'MENTEE', '2025-09-11T02:00:00.000Z')] }));

  it('takes the program’s own expiry', () =>
    requesting({ ...ready, program: userLed(['MENTOR'], { requestExpiryBusinessDays: 5 }) })
      .when(request('MENTEE'))
      .then({ match: [requested(['MENTOR'], ['MENTOR'], 'MENTEE', '2025-09-11T14:00:00.000Z')] }));

  it('keeps the requester’s message, trimmed', () =>
    requesting({ ...ready, program: userLed(['MENTOR']) })
      .when(request('MENTEE', { message: '  I would love to learn about robotics.  ' }))
      .then({ match: [requested(['MENTOR'], ['MENTOR'], 'MENTEE', TUESDAY, 'I would love to learn about robotics.')] }));

  it('writes nothing to the users’ streams while it waits', () =>
    requesting({ ...ready, program: userLed(['MENTEE', 'MENTOR', 'ADMIN']) })
      .when(request('MENTOR'))
      .then({ match: [requested(['MENTEE', 'MENTOR', 'ADMIN'], ['MENTEE', 'ADMIN'], 'MENTOR')] }));

  describe('the requester’s own approval is implied', () => {
    it('the mentee asks and only the mentee must approve: live at once', () =>
      requesting({ ...ready, program: userLed(['MENTEE']) })
        .when(request('MENTEE'))
        .then({ match: [requested(['MENTEE'], []), matchActivated(pairM, ENDS)], mentor: [toMatched(ID)], mentee: [toMatched(TEEN)] }));
    it('the mentor asks and the program needs mentee and mentor: it waits for the mentee', () =>
      requesting({ ...ready, program: userLed(['MENTEE', 'MENTOR']) })
        .when(request('MENTOR'))
        .then({ match: [requested(['MENTEE', 'MENTOR'], ['MENTEE'], 'MENTOR')] }));
  });

  it('USER_LED (without approval): live at once, whatever approvals are configured', () =>
    requesting({ ...ready, program: [programWith({ matchingProcess: 'USER_LED', requiredApprovals: ['ADMIN'] })] })
      .when(request('MENTEE'))
      .then({ match: [requested([], []), matchActivated(pairM, ENDS)], mentor: [toMatched(ID)], mentee: [toMatched(TEEN)] }));

  describe('the four "Match Request-Waiting ..." states of the manager report (seed 004)', () => {
    it.each<[string, ApprovingParty[], RequestingParty, ApprovingParty[]]>([
      ['Waiting Mentee Approval', ['MENTEE'], 'MENTOR', ['MENTEE']],
      ['Waiting Mentor Approval', ['MENTOR'], 'MENTEE', ['MENTOR']],
      ['Waiting Admin Approval', ['ADMIN'], 'MENTEE', ['ADMIN']],
      ['Waiting 2 Approvals', ['MENTOR', 'ADMIN'], 'MENTEE', ['MENTOR', 'ADMIN']],
    ])('%s: requires %j, requested by the %s, pending %j', (_state, required, requestedBy, pending) => {
      requesting({ ...ready, program: userLed(required) }).when(request(requestedBy)).then({ match: [requested(required, pending, requestedBy)] });
      const state = foldMatch([requested(required, pending, requestedBy)]) as ExistingMatch;
      expect(state).toMatchObject({ status: 'REQUESTED', source: 'REQUEST', endsAt: null, request: { requestedBy, pendingApprovals: pending, expiresAt: TUESDAY } });
    });
  });

  it('is refused in an admin-led program', () =>
    requesting(ready).when(request()).thenThrows('RULE_VIOLATED', 'Program "Brooklyn 2025" is admin-led: its admins make the matches, participants cannot request one.'));
  it('is refused while matching is off', () =>
    requesting({ ...ready, program: userLed(['MENTOR'], { matchingEnabled: false }) })
      .when(request())
      .thenThrows('RULE_VIOLATED', 'Matching is off in program "Brooklyn 2025"; turn matching on before anyone can request a match.'));
  it('is refused from anyone but the mentee or the mentor', () =>
    requesting({ ...ready, program: userLed(['MENTOR']) })
      .when(request('ADMIN' as RequestingParty))
      .thenThrows('VALIDATION_FAILED', 'A match is requested by the MENTEE or the MENTOR (got ADMIN).'));
  it('is refused for a mentee who is not RTBM', () =>
    requesting({ ...ready, program: userLed(['MENTOR']), mentee: participant(TEEN, 'MENTEE', 'A', 'MATCHED', 'match-9') })
      .when(request())
      .thenThrows('ILLEGAL_TRANSITION', `Persona ${MENTEE_P1} is MATCHED`));
  it('is refused for a user who is not Active', () =>
    requesting({ ...ready, program: userLed(['MENTOR']), mentor: participant(ID, 'MENTOR', 'IR', 'RTBM') })
      .when(request())
      .thenThrows('RULE_VIOLATED', 'only Active (A) users can be matched'));
  it('is refused for a mentor at capacity', () =>
    requesting({ ...ready, program: userLed(['MENTOR']), mentor: participant(ID, 'MENTOR', 'A', 'MATCHED', 'match-9') })
      .when(request())
      .thenThrows('RULE_VIOLATED', 'their capacity (1); close a match or raise their capacity first'));
  it('is refused for a match id already used', () =>
    requesting({ ...ready, program: userLed(['MENTOR']), match: [requested(['MENTOR'], ['MENTOR'])] })
      .when(request())
      .thenThrows('ALREADY_EXISTS', 'use a new match id'));
});

describe('RespondToMatchRequest', () => {
  const respond = (party: ApprovingParty, decision: 'APPROVE' | 'DECLINE' = 'APPROVE', overrides: Partial<RespondToMatchRequest['data']> = {}): RespondToMatchRequest => ({
    type: 'RespondToMatchRequest',
    data: { matchId: M, party, decision, now: ANSWERED, ...overrides },
  });
  const waitingForTwo = { ...ready, program: userLed(['MENTOR', 'ADMIN']), match: [requested(['MENTOR', 'ADMIN'], ['MENTOR', 'ADMIN'])] };
  const mentorApproved = { ...waitingForTwo, match: [...waitingForTwo.match, requestApproved(pairM, 'MENTOR', ['ADMIN'])] };

  it('an approval that leaves others pending writes only the match stream', () =>
    responding(waitingForTwo).when(respond('MENTOR')).then({ match: [requestApproved(pairM, 'MENTOR', ['ADMIN'])] }));

  it('folds the approval: it waits for the admin only', () =>
    expect((foldMatch(mentorApproved.match) as ExistingMatch).request?.pendingApprovals).toEqual(['ADMIN']));

  it('the last approval makes the match live, ending after the duration counted from the approval', () =>
    responding(mentorApproved)
      .when(respond('ADMIN'))
      .then({ match: [requestApproved(pairM, 'ADMIN', []), matchActivated(pairM, ANSWERED_ENDS)], mentor: [toMatched(ID)], mentee: [toMatched(TEEN)] }));

  it('a decline ends the request, with the decliner’s message for the requester', () =>
    responding(waitingForTwo)
      .when(respond('MENTOR', 'DECLINE', { message: ' My schedule is full this term. ' }))
      .then({ match: [{ type: 'MatchRequestDeclined', data: { ...pairM, requestedBy: 'MENTEE', party: 'MENTOR', message: 'My schedule is full this term.' } }] }));

  it('a decline after another party approved still ends it', () =>
    responding(mentorApproved)
      .when(respond('ADMIN', 'DECLINE'))
      .then({ match: [{ type: 'MatchRequestDeclined', data: { ...pairM, requestedBy: 'MENTEE', party: 'ADMIN', message: null } }] }));

  it('folds the decline', () =>
    expect(
      foldMatch([...waitingForTwo.match, { type: 'MatchRequestDeclined', data: { ...pairM, requestedBy: 'MENTEE', party: 'MENTOR', message: 'Full' } }]),
    ).toMatchObject({ status: 'DECLINED', decline: { party: 'MENTOR', message: 'Full' } }));

  it('refuses a second approval by the same party, saying whom it waits for', () =>
    responding(mentorApproved)
      .when(respond('MENTOR'))
      .thenThrows('RULE_VIOLATED', `The mentor has already approved match request ${M}; it waits for admin.`));
  it('refuses the requester’s approval: it was implied by the request', () =>
    responding(waitingForTwo).when(respond('MENTEE')).thenThrows('RULE_VIOLATED', 'The mentee has already approved match request'));
  it('refuses a party whose approval the request does not need', () =>
    responding({ ...ready, program: userLed(['MENTOR']), match: [requested(['MENTOR'], ['MENTOR'])] })
      .when(respond('ADMIN'))
      .thenThrows('RULE_VIOLATED', `Match request ${M} does not need the admin's approval; it waits for mentor.`));
  it('refuses a decline from a party not asked either', () =>
    responding({ ...ready, program: userLed(['MENTOR']), match: [requested(['MENTOR'], ['MENTOR'])] })
      .when(respond('ADMIN', 'DECLINE'))
      .thenThrows('RULE_VIOLATED', "does not need the admin's approval"));
  it('refuses an answer once the request has expired', () =>
    responding(waitingForTwo)
      .when(respond('MENTOR', 'APPROVE', { now: TUESDAY }))
      .thenThrows('RULE_VIOLATED', `Match request ${M} expired at ${TUESDAY}; it can no longer be answered.`));
  it('refuses an answer to a request already declined', () =>
    responding({ ...waitingForTwo, match: [...waitingForTwo.match, { type: 'MatchRequestDeclined', data: { ...pairM, requestedBy: 'MENTEE', party: 'MENTOR', message: null } }] })
      .when(respond('ADMIN'))
      .thenThrows('ILLEGAL_TRANSITION', `Match ${M} is DECLINED; only a REQUESTED match can be approved.`));
  it('refuses an answer to an unknown match', () => responding(ready).when(respond('MENTOR')).thenThrows('NOT_FOUND', `Match ${M} does not exist.`));
  it('refuses a decision that is neither APPROVE nor DECLINE', () =>
    responding(waitingForTwo).when(respond('MENTOR', 'MAYBE' as 'APPROVE')).thenThrows('VALIDATION_FAILED', 'A response is APPROVE or DECLINE (got MAYBE).'));

  describe('the last approval checks again that the match can go live', () => {
    it('matching is still on', () =>
      responding({ ...mentorApproved, program: userLed(['MENTOR', 'ADMIN'], { matchingEnabled: false }) })
        .when(respond('ADMIN'))
        .thenThrows('RULE_VIOLATED', 'turn matching on before a match can go live'));
    it('the mentee has not been matched through another request meanwhile', () =>
      responding({ ...mentorApproved, mentee: [...ready.mentee, toMatched(TEEN, 'match-9')] })
        .when(respond('ADMIN'))
        .thenThrows('ILLEGAL_TRANSITION', `Persona ${MENTEE_P1} is MATCHED`));
    it('the mentor still has capacity', () =>
      responding({ ...mentorApproved, mentor: [...ready.mentor, toMatched(ID, 'match-9')] })
        .when(respond('ADMIN'))
        .thenThrows('RULE_VIOLATED', AT_CAPACITY_1));
    it('both users are still Active', () =>
      responding({ ...mentorApproved, mentor: [...ready.mentor, becameInactive(ID, 'ID')] })
        .when(respond('ADMIN'))
        .thenThrows('RULE_VIOLATED', 'is Inactive Deleted (ID); only Active (A) users can be matched'));
  });
});

describe('ExpireMatchRequest', () => {
  const waiting = { match: [requested(['MENTOR'], ['MENTOR'])] };
  const expire = (now: string) => ({ type: 'ExpireMatchRequest', data: { matchId: M, now } }) as const;
  const expired: MatchEvent = { type: 'MatchRequestExpired', data: { ...pairM, requestedBy: 'MENTEE', expiresAt: TUESDAY } };

  it('expires a REQUESTED match once its expiry is reached', () => expiring(waiting).when(expire(TUESDAY)).then({ match: [expired] }));
  it('expires it any time later', () => expiring(waiting).when(expire('2025-09-20T00:00:00.000Z')).then({ match: [expired] }));
  it('folds to EXPIRED', () => expect(foldMatch([...waiting.match, expired]).status).toBe('EXPIRED'));
  it('refuses before the expiry, saying when it is due', () =>
    expiring(waiting).when(expire('2025-09-09T13:59:59.999Z')).thenThrows('RULE_VIOLATED', `Match request ${M} expires at ${TUESDAY}, not yet.`));
  it('refuses expiring twice', () =>
    expiring({ match: [...waiting.match, expired] }).when(expire(TUESDAY)).thenThrows('ILLEGAL_TRANSITION', `Match ${M} is EXPIRED; only a REQUESTED match can be expired.`));
  it('refuses a match that went live', () =>
    expiring({ match: [requested(['MENTEE'], []), matchActivated(pairM, ENDS)] }).when(expire(TUESDAY)).thenThrows('ILLEGAL_TRANSITION', 'is ACTIVE; only a REQUESTED match can be expired'));
  it('refuses a staged match', () => expiring({ match: staged }).when(expire(TUESDAY)).thenThrows('ILLEGAL_TRANSITION', 'is STAGED; only a REQUESTED match can be expired'));
});

describe('WithdrawMatchRequest', () => {
  const waiting = { match: [requested(['MENTOR'], ['MENTOR'])] };
  it('withdraws a REQUESTED match when the mentee was matched through another one', () =>
    withdrawing(waiting)
      .when({ type: 'WithdrawMatchRequest', data: { matchId: M, reason: 'MENTEE_MATCHED', otherMatchId: 'match-9' } })
      .then({ match: [{ type: 'MatchRequestWithdrawn', data: { ...pairM, requestedBy: 'MENTEE', reason: 'MENTEE_MATCHED', otherMatchId: 'match-9' } }] }));
  it('withdraws at the requester’s wish', () =>
    withdrawing(waiting)
      .when({ type: 'WithdrawMatchRequest', data: { matchId: M, reason: 'WITHDRAWN_BY_REQUESTER' } })
      .then({ match: [{ type: 'MatchRequestWithdrawn', data: { ...pairM, requestedBy: 'MENTEE', reason: 'WITHDRAWN_BY_REQUESTER', otherMatchId: null } }] }));
  it('folds to WITHDRAWN', () =>
    expect(
      foldMatch([...waiting.match, { type: 'MatchRequestWithdrawn', data: { ...pairM, requestedBy: 'MENTEE', reason: 'PARTICIPANT_UNAVAILABLE', otherMatchId: null } }]).status,
    ).toBe('WITHDRAWN'));
  it('refuses a live match (close it instead)', () =>
    withdrawing({ match: created })
      .when({ type: 'WithdrawMatchRequest', data: { matchId: M, reason: 'WITHDRAWN_BY_REQUESTER' } })
      .thenThrows('ILLEGAL_TRANSITION', `Match ${M} is ACTIVE; only a REQUESTED match can be withdrawn.`));
  it('refuses an expired request', () =>
    withdrawing({ match: [...waiting.match, { type: 'MatchRequestExpired', data: { ...pairM, requestedBy: 'MENTEE', expiresAt: TUESDAY } }] })
      .when({ type: 'WithdrawMatchRequest', data: { matchId: M, reason: 'WITHDRAWN_BY_REQUESTER' } })
      .thenThrows('ILLEGAL_TRANSITION', 'is EXPIRED; only a REQUESTED match can be withdrawn'));
});

// ---------------------------------------------------------------------------------------------
// The end of a live match

describe('CompleteMatch', () => {
  const live = { match: created, ...liveParticipants };
  const complete = (now: string) => ({ type: 'CompleteMatch', data: { matchId: M, now } }) as const;

  it('completes an ACTIVE match once its duration has run: both personas stay MATCHED, marked completed', () =>
    completing(live)
      .when(complete(ENDS))
      .then({ match: [matchCompleted(pairM, ENDS)], mentor: [personaMatchCompleted(ID, 1, M)], mentee: [personaMatchCompleted(TEEN, 1, M)] }));

  it('folds: the match is COMPLETED, the personas still MATCHED and no longer live for the mentor’s capacity', () => {
    expect(foldMatch([...created, matchCompleted(pairM, ENDS)]).status).toBe('COMPLETED');
    const mentor = fold(userDecider, [...live.mentor, personaMatchCompleted(ID, 1, M)]) as User;
    expect(mentor.personas[0]).toMatchObject({ matchStatus: 'MATCHED', matchCompleted: true });
    expect(liveMentorPersonas(mentor, 'prog-2025')).toEqual([]);
  });

  it('refuses before the end date, saying when it ends', () =>
    completing(live).when(complete('2026-03-04T14:59:59.999Z')).thenThrows('RULE_VIOLATED', `Match ${M} runs until ${ENDS}, not yet completed.`));
  it('refuses a match recorded before end dates were tracked', () =>
    completing({ ...live, match: [matchCreated(pairM), { type: 'MatchActivated', data: pair }] })
      .when(complete(ENDS))
      .thenThrows('RULE_VIOLATED', `Match ${M} runs until no set date, not yet completed.`));
  it('refuses a STAGED match', () => completing({ ...live, match: staged }).when(complete(ENDS)).thenThrows('ILLEGAL_TRANSITION', 'is STAGED; only an ACTIVE match can be completed'));
  it('refuses completing twice', () =>
    completing({ ...live, match: [...created, matchCompleted(pairM, ENDS)] }).when(complete(ENDS)).thenThrows('ILLEGAL_TRANSITION', 'is COMPLETED; only an ACTIVE match can be completed'));
  it('refuses a CLOSED match', () =>
    completing({ ...live, match: [...created, closedMatch()] }).when(complete(ENDS)).thenThrows('ILLEGAL_TRANSITION', 'is CLOSED; only an ACTIVE match can be completed'));
});

describe('InactivateMatchedPersona: "if you inactivate a matched mentor they will not be able to communicate with their mentee" (seed 001)', () => {
  /** The mentor has a second persona, so the matched one is not their last. */
  const extraPersona = personaCreated(ID, 2, 'MENTOR', 'RESCREENING', { kind: 'MADE_RESCREENING' });
  const live = { program, match: created, mentor: [...liveParticipants.mentor, extraPersona], mentee: liveParticipants.mentee };
  const inactivate = (partnerRematchIntent: RematchIntent, confirmCutCommunication = true, personaId = MENTOR_P1) =>
    ({ type: 'InactivateMatchedPersona', data: { matchId: M, personaId, confirmCutCommunication, partnerRematchIntent } }) as const;
  const closedBy = (userId: string, rematchIntent: RematchIntent) =>
    matchStatusChanged(userId, 1, 'MATCHED', 'CLOSED', { kind: 'MATCH_CLOSED', matchId: M, closureReason: PERSONA_INACTIVATED_CLOSURE_REASON, rematchIntent }, M);
  const inactivatedMentor: UserEvent = {
    type: 'PersonaInactivated',
    data: { userId: ID, personaId: MENTOR_P1, matchStatus: 'MATCHED', matchId: M, communicationCut: true, cause: { kind: 'CREATED_IN_ERROR' } },
  };

  it('closes the match with the persona: the partner closes with their intent and gets a rescreening persona for YES or MAYBE', () =>
    inactivating(live)
      .when(inactivate('MAYBE'))
      .then({
        match: [
          {
            type: 'MatchClosed',
            data: { ...pair, closureReason: PERSONA_INACTIVATED_CLOSURE_REASON, mentorRematchIntent: 'NO', menteeRematchIntent: 'MAYBE', inactivatedPersonaId: MENTOR_P1 },
          },
        ],
        mentor: [inactivatedMentor, closedBy(ID, 'NO')],
        mentee: [closedBy(TEEN, 'MAYBE'), personaCreated(TEEN, 2, 'MENTEE', 'RESCREENING', { kind: 'REMATCH_REQUESTED', matchId: M, rematchIntent: 'MAYBE' })],
      }));

  it('NO for the partner creates no persona', () =>
    inactivating(live)
      .when(inactivate('NO'))
      .then({
        match: [
          {
            type: 'MatchClosed',
            data: { ...pair, closureReason: PERSONA_INACTIVATED_CLOSURE_REASON, mentorRematchIntent: 'NO', menteeRematchIntent: 'NO', inactivatedPersonaId: MENTOR_P1 },
          },
        ],
        mentor: [inactivatedMentor, closedBy(ID, 'NO')],
        mentee: [closedBy(TEEN, 'NO')],
      }));

  it('frees the mentor’s capacity: no live persona is left in the program', () => {
    const mentorAfter = fold(userDecider, [...live.mentor, inactivatedMentor, closedBy(ID, 'NO')]) as User;
    expect(liveMentorPersonas(mentorAfter, 'prog-2025')).toEqual([]);
  });

  it('needs the confirmation', () => inactivating(live).when(inactivate('MAYBE', false)).thenThrows('CONFIRMATION_REQUIRED', 'confirmCutCommunication'));

  it('refuses the user\'s last active persona', () =>
    inactivating({ ...live, mentor: liveParticipants.mentor }).when(inactivate('MAYBE')).thenThrows('RULE_VIOLATED', 'last active persona'));

  it('refuses a persona that is not in the match', () =>
    inactivating(live).when(inactivate('MAYBE', true, persona(ID, 2))).thenThrows('RULE_VIOLATED', 'is not in match'));
});

describe('CloseMatch', () => {
  const live = { program, match: created, ...liveParticipants };
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

  it('closes a COMPLETED match as well', () =>
    closing({
      ...live,
      match: [...created, matchCompleted(pairM, ENDS)],
      mentor: [...live.mentor, personaMatchCompleted(ID, 1, M)],
      mentee: [...live.mentee, personaMatchCompleted(TEEN, 1, M)],
    })
      .when(close('NO', 'NO', 'Program year ended'))
      .then({
        match: [{ type: 'MatchClosed', data: { ...pair, closureReason: 'Program year ended', mentorRematchIntent: 'NO', menteeRematchIntent: 'NO' } }],
        mentor: [matchStatusChanged(ID, 1, 'MATCHED', 'CLOSED', { kind: 'MATCH_CLOSED', matchId: M, closureReason: 'Program year ended', rematchIntent: 'NO' }, M)],
        mentee: [matchStatusChanged(TEEN, 1, 'MATCHED', 'CLOSED', { kind: 'MATCH_CLOSED', matchId: M, closureReason: 'Program year ended', rematchIntent: 'NO' }, M)],
      }));

  it('closes a mentor’s additional match through its own persona, leaving the other match live', () => {
    const pair2 = matchPair('match-2', { mentorPersona: 2, mentee: TEEN2 });
    const closed2 = (userId: string, n: number, rematchIntent: RematchIntent = 'NO') =>
      matchStatusChanged(userId, n, 'MATCHED', 'CLOSED', { kind: 'MATCH_CLOSED', matchId: 'match-2', closureReason: 'Other', rematchIntent }, 'match-2');
    closing({
      program: [programWith({ mentorCapacity: 2 })],
      match: [matchCreated(matchPair('match-2', { mentee: TEEN2 })), matchActivated(pair2, ENDS)],
      mentor: [...liveParticipants.mentor, ...additionalMatch(ID, 2, 'match-2', 1)],
      mentee: [...participant(TEEN2, 'MENTEE', 'A', 'RTBM'), toMatched(TEEN2, 'match-2')],
    })
      .when({ type: 'CloseMatch', data: { matchId: 'match-2', closureReason: 'Other', mentorRematchIntent: 'NO', menteeRematchIntent: 'NO' } })
      .then({
        match: [{ type: 'MatchClosed', data: { ...personaIdsOf(pair2), closureReason: 'Other', mentorRematchIntent: 'NO', menteeRematchIntent: 'NO' } }],
        mentor: [closed2(ID, 2)],
        mentee: [closed2(TEEN2, 1)],
      });
  });

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
    closing({ ...live, mentor: [...live.mentor, becameInactive(ID)] })
      .when(close('NO', 'NO'))
      .then({ match: [closedMatch('NO', 'NO')], mentor: [toClosed(ID)], mentee: [toClosed(TEEN)] }));

  it('refuses a reason not in the program’s list, listing the list', () =>
    closing(live).when(close('NO', 'NO', 'Bored')).thenThrows('VALIDATION_FAILED', 'choose one of: Program year ended, Mentor withdrew'));
  it('refuses an unknown rematch intent', () =>
    closing(live).when(close('SOMEDAY' as RematchIntent, 'NO')).thenThrows('VALIDATION_FAILED', 'YES, MAYBE or NO'));
  it('refuses an unknown match', () => closing({ ...live, match: [] }).when(close('NO', 'NO')).thenThrows('NOT_FOUND', M));
  it('refuses a match that is not live yet (STAGED)', () =>
    closing({ ...live, match: staged }).when(close('NO', 'NO')).thenThrows('ILLEGAL_TRANSITION', 'is STAGED; only an ACTIVE or a COMPLETED match can be closed'));
  it('refuses a request still waiting (withdraw or decline it instead)', () =>
    closing({ ...live, match: [requested(['MENTOR'], ['MENTOR'])] }).when(close('NO', 'NO')).thenThrows('ILLEGAL_TRANSITION', 'is REQUESTED; only an ACTIVE or a COMPLETED match can be closed'));
  it('refuses a match already closed', () =>
    closing({ ...live, match: [...created, closedMatch()] }).when(close('NO', 'NO')).thenThrows('ILLEGAL_TRANSITION', 'is CLOSED'));
  it('refuses when a persona is not MATCHED in this match any more', () =>
    closing({ ...live, mentee: [...live.mentee, toClosed(TEEN)] }).when(close('NO', 'NO')).thenThrows('ILLEGAL_TRANSITION', `Persona ${MENTEE_P1} is CLOSED`));
});

describe('ReopenMatch ("Open Match")', () => {
  const closed = (mentorExtra: UserEvent[] = [], menteeExtra: UserEvent[] = []) => ({
    program,
    match: [...created, closedMatch()],
    mentor: [...liveParticipants.mentor, toClosed(ID), ...mentorExtra],
    mentee: [...liveParticipants.mentee, toClosed(TEEN), ...menteeExtra],
  });
  const reopen = { type: 'ReopenMatch', data: { matchId: M, now: NOW } } as const;
  const reopened = (userId: string): UserEvent =>
    matchStatusChanged(userId, 1, 'CLOSED', 'MATCHED', { kind: 'MATCH_REOPENED', matchId: M }, M);
  const rematchPersona = (userId: string, role: ParticipantRole): UserEvent =>
    personaCreated(userId, 2, role, 'RESCREENING', { kind: 'REMATCH_REQUESTED', matchId: M, rematchIntent: 'YES' });

  it('moves both personas back to MATCHED', () =>
    reopening(closed()).when(reopen).then({ match: [{ type: 'MatchReopened', data: pair }], mentor: [reopened(ID)], mentee: [reopened(TEEN)] }));

  it('folds to ACTIVE, without the closure', () =>
    expect(foldMatch([...created, closedMatch(), { type: 'MatchReopened', data: pair }])).toMatchObject({ status: 'ACTIVE', closure: null }));

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
    reopening({
      ...closed([
        rematchPersona(ID, 'MENTOR'),
        matchStatusChanged(ID, 2, 'RESCREENING', 'RTBM', { kind: 'ADMIN' }),
        matchStatusChanged(ID, 2, 'RTBM', 'MATCHED', { kind: 'MATCH_ACTIVATED', matchId: 'match-2' }, 'match-2'),
      ]),
      // With room for both matches, so that only the rematch stands in the way.
      program: [programWith({ mentorCapacity: 2 })],
    })
      .when(reopen)
      .thenThrows('RULE_VIOLATED', `matched again since (persona ${persona(ID, 2)}, match match-2)`));

  describe('within the mentor’s capacity', () => {
    // Capacity 2: match-1 through p1, match-2 through p2 alongside it; then match-1 closed.
    const withSecondMatch = (capacity: number) => ({
      ...closed(),
      program: [programWith({ mentorCapacity: capacity })],
      mentor: [...liveParticipants.mentor, ...additionalMatch(ID, 2, 'match-2', 1), toClosed(ID)],
    });

    it('reopens alongside the mentor’s other live match when capacity allows (the additional persona stays)', () =>
      reopening(withSecondMatch(2)).when(reopen).then({ match: [{ type: 'MatchReopened', data: pair }], mentor: [reopened(ID)], mentee: [reopened(TEEN)] }));

    it('refuses when the mentor is at capacity, saying what would make room', () =>
      reopening({ ...withSecondMatch(2), mentor: [...withSecondMatch(2).mentor, ...additionalMatch(ID, 3, 'match-3', 2)] })
        .when(reopen)
        .thenThrows(
          'RULE_VIOLATED',
          `Maria Mentor already has 2 live matches in program "Brooklyn 2025", their capacity (2); match ${M} cannot be reopened until one ends or their capacity is raised.`,
        ));

    it('counts the mentor’s own capacity over the program’s default', () =>
      reopening({ ...withSecondMatch(2), mentor: [...withSecondMatch(2).mentor, mentorCapacitySet(ID, 1, 2)] })
        .when(reopen)
        .thenThrows('RULE_VIOLATED', 'already has 1 live match in program "Brooklyn 2025", their capacity (1)'));

    it('does not count a match that ran its duration', () =>
      reopening({ ...withSecondMatch(1), mentor: [...withSecondMatch(1).mentor, personaMatchCompleted(ID, 2, 'match-2')] })
        .when(reopen)
        .then({ match: [{ type: 'MatchReopened', data: pair }], mentor: [reopened(ID)], mentee: [reopened(TEEN)] }));
  });

  it.each(USER_STATUSES.filter((status) => status !== 'A'))('refuses when the mentee is no longer Active (%s)', (status) =>
    reopening(closed([], [becameInactive(TEEN, status)]))
      .when(reopen)
      .thenThrows('RULE_VIOLATED', 'only Active (A) users can have a match reopened'));

  it('refuses when the mentor is no longer Active', () =>
    reopening(closed([becameInactive(ID)]))
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
  it('refuses when the program is missing', () => reopening({ ...closed(), program: [] }).when(reopen).thenThrows('NOT_FOUND', 'Program prog-2025 does not exist.'));
  it('refuses a live match', () => reopening({ ...closed(), match: created }).when(reopen).thenThrows('ILLEGAL_TRANSITION', 'is ACTIVE; only a CLOSED match'));
  it('refuses a staged match', () => reopening({ ...closed(), match: staged }).when(reopen).thenThrows('ILLEGAL_TRANSITION', 'is STAGED'));
});

// ---------------------------------------------------------------------------------------------
// Mentor capacity

describe('mentor capacity', () => {
  const M2 = 'match-2';
  const pair2 = matchPair(M2, { mentee: TEEN2 });
  /** The mentor is live in match-1 through p1; match-2 asks for p1 again with a second mentee. */
  const secondMatch = (programEvents = program, mentorExtra: UserEvent[] = []) => ({
    program: programEvents,
    mentor: [...liveParticipants.mentor, ...mentorExtra],
    mentee: participant(TEEN2, 'MENTEE', 'A', 'RTBM'),
  });
  const matchSecond = (overrides: Partial<MatchPersonas['data']> = {}) =>
    matchPersonas({ matchId: M2, menteePersonaId: persona(TEEN2, 1), ...overrides });
  /** What a second live match writes: a new persona p<n> alongside p1, created RTBM and MATCHED at once. */
  const additionalDecision = (match: MatchEvent[], n = 2) => ({
    match,
    mentor: [
      personaCreated(ID, n, 'MENTOR', 'RTBM', { kind: 'ADDITIONAL_MATCH', matchId: M2, alongsidePersonaId: MENTOR_P1 }),
      toMatched(ID, M2, n),
    ],
    mentee: [toMatched(TEEN2, M2)],
  });

  it('capacity 1 (the default): a second live match is refused, naming the capacity', () =>
    matching(secondMatch())
      .when(matchSecond())
      .thenThrows('RULE_VIOLATED', 'Maria Mentor already has 1 live match in program "Brooklyn 2025", their capacity (1); close a match or raise their capacity first.', (error) =>
        expect(error.details).toMatchObject({ capacity: 1, liveMatches: [M] }),
      ));

  it('capacity 2: the second match gets a new mentor persona (ADDITIONAL_MATCH), moved to MATCHED', () =>
    matching(secondMatch([programWith({ mentorCapacity: 2 })]))
      .when(matchSecond())
      .then(additionalDecision([matchCreated(pair2), matchActivated(pair2, ENDS, persona(ID, 2))])));

  it('the match then follows the new persona', () => {
    const state = foldMatch([matchCreated(pair2), matchActivated(pair2, ENDS, persona(ID, 2))]) as ExistingMatch;
    expect(state.mentor).toEqual({ userId: ID, personaId: persona(ID, 2) });
  });

  it('capacity 2: a third live match is refused', () =>
    matching(secondMatch([programWith({ mentorCapacity: 2 })], additionalMatch(ID, 2, 'match-x', 1)))
      .when(matchSecond())
      .thenThrows('RULE_VIOLATED', 'already has 2 live matches in program "Brooklyn 2025", their capacity (2)'));

  it('a completed match does not count: the freed place takes a new match', () =>
    matching(secondMatch([programWith({ mentorCapacity: 2 })], [...additionalMatch(ID, 2, 'match-x', 1), personaMatchCompleted(ID, 2, 'match-x')]))
      .when(matchSecond())
      .then(additionalDecision([matchCreated(pair2), matchActivated(pair2, ENDS, persona(ID, 3))], 3)));

  it('a closed match does not count either', () =>
    matching(secondMatch([programWith({ mentorCapacity: 2 })], [...additionalMatch(ID, 2, 'match-x', 1), matchStatusChanged(ID, 2, 'MATCHED', 'CLOSED', { kind: 'MATCH_CLOSED', matchId: 'match-x', closureReason: 'Other', rematchIntent: 'NO' }, 'match-x')]))
      .when(matchSecond())
      .then(additionalDecision([matchCreated(pair2), matchActivated(pair2, ENDS, persona(ID, 3))], 3)));

  it('the mentor’s own capacity overrides the program’s default (raised)', () =>
    matching(secondMatch(program, [mentorCapacitySet(ID, 2)]))
      .when(matchSecond())
      .then(additionalDecision([matchCreated(pair2), matchActivated(pair2, ENDS, persona(ID, 2))])));

  it('the mentor’s own capacity overrides the program’s default (lowered)', () =>
    matching(secondMatch([programWith({ mentorCapacity: 3 })], [mentorCapacitySet(ID, 1)]))
      .when(matchSecond())
      .thenThrows('RULE_VIOLATED', AT_CAPACITY_1));

  it('a capacity set in another program does not apply here', () =>
    matching(secondMatch(program, [mentorCapacitySet(ID, 5, null, 'prog-other')]))
      .when(matchSecond())
      .thenThrows('RULE_VIOLATED', AT_CAPACITY_1));

  it('staging a second match alongside the live one is allowed within capacity; nothing moves yet', () =>
    matching(secondMatch([programWith({ mentorCapacity: 2 })])).when(matchSecond({ stage: true })).then({ match: [matchCreated(pair2)] }));

  it('approving it later creates the additional persona then', () =>
    approving({ ...secondMatch([programWith({ mentorCapacity: 2 })]), match: [matchCreated(pair2)] })
      .when({ type: 'ApproveStagedMatch', data: { matchId: M2, now: NOW } })
      .then(additionalDecision([matchActivated(pair2, ENDS, persona(ID, 2))])));

  it('two staged matches for one mentor of capacity 1: the second approval is refused', () =>
    approving({ ...secondMatch(), match: [matchCreated(pair2)] })
      .when({ type: 'ApproveStagedMatch', data: { matchId: M2, now: NOW } })
      .thenThrows('RULE_VIOLATED', AT_CAPACITY_1));

  it('a requested second match approved last goes live through an additional persona', () =>
    responding({
      ...secondMatch([programWith({ mentorCapacity: 2, matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR'] })]),
      match: [matchRequested(pair2, { requestedBy: 'MENTEE', requiredApprovals: ['MENTOR'], pendingApprovals: ['MENTOR'], expiresAt: TUESDAY })],
    })
      .when({ type: 'RespondToMatchRequest', data: { matchId: M2, party: 'MENTOR', decision: 'APPROVE', now: ANSWERED } })
      .then(
        additionalDecision([
          { type: 'MatchRequestApproved', data: { matchId: M2, programId: 'prog-2025', party: 'MENTOR', pendingApprovals: [] } },
          matchActivated(pair2, ANSWERED_ENDS, persona(ID, 2)),
        ]),
      ));

  it('mentorCapacity and liveMentorPersonas read the folded user', () => {
    const mentor = fold(userDecider, [...liveParticipants.mentor, ...additionalMatch(ID, 2, 'match-x', 1), mentorCapacitySet(ID, 4)]) as User;
    const programState = fold(programDecider, program);
    expect(programState.status === 'CREATED' && mentorCapacity(mentor, programState)).toBe(4);
    expect(liveMentorPersonas(mentor, 'prog-2025').map((p) => p.personaId)).toEqual([MENTOR_P1, persona(ID, 2)]);
    expect(liveMentorPersonas(mentor, 'prog-other')).toEqual([]);
  });
});

describe('the match stream', () => {
  it('folds created → activated → closed → reopened', () => {
    const states = [created[0]!, created[1]!, closedMatch('YES', 'MAYBE'), { type: 'MatchReopened', data: pair } as MatchEvent].map(
      (_, i, all) => foldMatch(all.slice(0, i + 1)).status,
    );
    expect(states).toEqual(['STAGED', 'ACTIVE', 'CLOSED', 'ACTIVE']);
    expect(foldMatch([...created, closedMatch('YES', 'MAYBE')])).toMatchObject({
      closure: { closureReason: 'Mentor withdrew', mentorRematchIntent: 'YES', menteeRematchIntent: 'MAYBE' },
    });
  });

  it('reads matches recorded before sources and end dates existed', () =>
    expect(
      foldMatch([
        { type: 'MatchCreated', data: { matchId: M, programId: 'prog-2025', mentorUserId: ID, mentorPersonaId: MENTOR_P1, menteeUserId: TEEN, menteePersonaId: MENTEE_P1 } },
        { type: 'MatchActivated', data: pair },
      ]),
    ).toMatchObject({ status: 'ACTIVE', source: 'ADMIN', score: null, endsAt: null }));

  it('ignores events before the match exists', () =>
    expect(foldMatch([closedMatch(), { type: 'MatchReopened', data: pair }])).toEqual({ status: 'NONE' }));

  it('names the streams a command on an existing match needs', () => {
    expect(matchParticipants(foldMatch(created), M)).toEqual({ programId: 'prog-2025', mentorUserId: ID, menteeUserId: TEEN });
    expect(matchParticipants(foldMatch([requested(['MENTOR'], ['MENTOR'])]), M)).toEqual({ programId: 'prog-2025', mentorUserId: ID, menteeUserId: TEEN });
    expect(() => matchParticipants(matchDecider.initialState(), M)).toThrow('does not exist');
  });

  it('refuses a wiring mistake loudly rather than as a refusal', () => {
    const mentee = fold(userDecider, liveParticipants.mentee);
    expect(() =>
      decideCloseMatch(
        { type: 'CloseMatch', data: { matchId: M, closureReason: 'Other', mentorRematchIntent: 'NO', menteeRematchIntent: 'NO' } },
        { match: foldMatch(created), program: fold(programDecider, program), mentor: mentee, mentee },
      ),
    ).toThrow(`Loaded user stream of ${TEEN} where ${ID} was expected.`);
  });
});
