import { MATCH_STATUSES, MATCH_STATUS_MOVES, findMove, describeMovesFrom, type MatchStatus, type MatchStatusMoveVia } from './matchStatus';
import { accessFor, canBeMatched, canLogIn, canSeeCurriculum, personaAccess } from './access';
import type { PersonaStatus } from './user';
import { USER_STATUSES, USER_STATUS_TABLE, type LogInAccess, type UserStatus } from './userStatus';

describe('the user-status table (seed 000)', () => {
  it.each<[UserStatus, string, boolean, LogInAccess]>([
    ['A', 'Active', true, 'YES'],
    ['AI', 'Application Incomplete', false, 'APPLICATION_ONLY'],
    ['SI', 'Screening Incomplete', false, 'YES'],
    ['IW', 'Inactive Withdrawn', false, 'NO'],
    ['IR', 'Inactive Rejected', false, 'NO'],
    ['ID', 'Inactive Deleted', false, 'NO'],
  ])('%s is %s, can be matched: %s, can log in: %s', (status, name, matchable, logIn) => {
    expect(USER_STATUS_TABLE[status]).toMatchObject({ status, name, canBeMatched: matchable, logIn });
    expect(canBeMatched(status)).toBe(matchable);
  });
  it('has exactly the six statuses', () => expect(Object.keys(USER_STATUS_TABLE).sort()).toEqual([...USER_STATUSES].sort()));
});

describe('the match-status table (seeds 000, 001)', () => {
  /** [from, to, via, mentor?, mentee?] spelled out from the seeds, independently of MATCH_STATUS_MOVES. */
  const seed: readonly [MatchStatus, MatchStatus, MatchStatusMoveVia, boolean, boolean][] = [
    ['N/A', 'RTBM', 'USER_ACTIVATED', true, true],
    ['RTBM', 'MATCHED', 'MATCH', true, true],
    ['MATCHED', 'CLOSED', 'CLOSE_MATCH', true, true],
    ['CLOSED', 'MATCHED', 'OPEN_MATCH', true, true],
    ['RESCREENING', 'RTBM', 'MAKE_RTBM', true, true],
    ['RESCREENING', 'NOT_MATCHING', 'MAKE_NOT_MATCHING', false, true],
    ['NOT_MATCHING', 'RESCREENING', 'MAKE_RESCREENING', false, true],
  ];
  const vias = [...new Set(MATCH_STATUS_MOVES.map((move) => move.via))];
  const every = MATCH_STATUSES.flatMap((from) =>
    MATCH_STATUSES.flatMap((to) => vias.flatMap((via) => (['MENTOR', 'MENTEE'] as const).map((role) => ({ from, to, via, role })))),
  );
  const allowed = ({ from, to, via, role }: (typeof every)[number]) =>
    seed.some(([f, t, v, mentor, mentee]) => f === from && t === to && v === via && (role === 'MENTOR' ? mentor : mentee));

  it.each(every.filter(allowed))('$role $from → $to via $via is allowed', ({ from, to, via, role }) =>
    expect(findMove(from, to, role, via)).not.toBeNull());
  it.each(every.filter((c) => !allowed(c)))('$role $from → $to via $via is refused', ({ from, to, via, role }) =>
    expect(findMove(from, to, role, via)).toBeNull());

  it('describes the allowed moves for messages', () => {
    expect(describeMovesFrom('RTBM', 'MENTOR')).toBe('from RTBM it can only move to MATCHED (by matching it)');
    expect(describeMovesFrom('RESCREENING', 'MENTEE')).toBe('from RESCREENING it can only move to RTBM ("Make RTBM") or NOT_MATCHING ("Make Not Matching", mentees only)');
    expect(describeMovesFrom('NOT_MATCHING', 'MENTOR')).toContain('cannot move to any other match status');
  });
});

describe('can log in and see curriculum: user status × match status', () => {
  /** Seed 000: AI only to complete the application; IW/IR/ID no; A/SI yes; a CLOSED persona cannot. */
  const expected = (userStatus: UserStatus, matchStatus: MatchStatus): [LogInAccess, boolean] => {
    if (matchStatus === 'CLOSED') return ['NO', false];
    if (userStatus === 'A' || userStatus === 'SI') return ['YES', true];
    if (userStatus === 'AI') return ['APPLICATION_ONLY', false];
    return ['NO', false];
  };
  const grid = USER_STATUSES.flatMap((userStatus) => MATCH_STATUSES.map((matchStatus) => [userStatus, matchStatus] as const));

  it.each(grid)('%s with a %s persona', (userStatus, matchStatus) => {
    const [logIn, seeCurriculum] = expected(userStatus, matchStatus);
    expect(accessFor(userStatus, matchStatus)).toEqual({ logIn, seeCurriculum });
  });

  it('spot checks from the seed', () => {
    expect(accessFor('A', 'MATCHED')).toEqual({ logIn: 'YES', seeCurriculum: true });
    expect(accessFor('A', 'CLOSED')).toEqual({ logIn: 'NO', seeCurriculum: false });
    expect(accessFor('AI', 'N/A')).toEqual({ logIn: 'APPLICATION_ONLY', seeCurriculum: false });
    expect(accessFor('IW', 'MATCHED')).toEqual({ logIn: 'NO', seeCurriculum: false });
  });

  it('an inactive persona grants nothing', () =>
    expect(personaAccess('A', { personaStatus: 'INACTIVE', matchStatus: 'MATCHED' })).toEqual({ logIn: 'NO', seeCurriculum: false }));

  describe('for a user with several personas', () => {
    const closedAndRescreening: { personaStatus: PersonaStatus; matchStatus: MatchStatus }[] = [
      { personaStatus: 'ACTIVE', matchStatus: 'CLOSED' },
      { personaStatus: 'ACTIVE', matchStatus: 'RESCREENING' },
    ];
    it('logs in through any persona that allows it', () => {
      expect(canLogIn({ userStatus: 'A', personas: closedAndRescreening })).toBe('YES');
      expect(canSeeCurriculum({ userStatus: 'A', personas: closedAndRescreening })).toBe(true);
    });
    it('not when every active persona is CLOSED', () => {
      const personas: typeof closedAndRescreening = [{ personaStatus: 'ACTIVE', matchStatus: 'CLOSED' }, { personaStatus: 'INACTIVE', matchStatus: 'RTBM' }];
      expect(canLogIn({ userStatus: 'A', personas })).toBe('NO');
      expect(canSeeCurriculum({ userStatus: 'A', personas })).toBe(false);
    });
    it('an AI user logs in only to finish the application', () => {
      const personas: typeof closedAndRescreening = [{ personaStatus: 'ACTIVE', matchStatus: 'N/A' }];
      expect(canLogIn({ userStatus: 'AI', personas })).toBe('APPLICATION_ONLY');
      expect(canSeeCurriculum({ userStatus: 'AI', personas })).toBe(false);
    });
    it('an inactive user not at all', () => expect(canLogIn({ userStatus: 'IR', personas: closedAndRescreening })).toBe('NO'));
  });
});
