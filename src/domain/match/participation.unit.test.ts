import { CrossStreamSpecification } from '../shared/deciderSpecification';
import { fold } from '../shared/decider';
import { DEFAULT_PROGRAM_SETTINGS, programDecider, type ProgramSettings } from '../program/program';
import {
  MENTEE_ID as TEEN,
  MENTOR_ID as ID,
  PROGRAM_ID,
  matchStatusChanged,
  menteeInvited,
  mentorCapacitySet,
  persona,
  personaCreated,
  personaIn,
  personaMatchCompleted,
  programCreated,
  programWith,
  userIn,
} from '../shared/testEvents';
import { userDecider, type User, type UserEvent } from '../user/user';
import type { MatchStatus } from '../user/matchStatus';
import type { UserStatus } from '../user/userStatus';
import { decideInviteMenteeToMatch, decideSetMentorCapacity, MAX_MENTOR_CAPACITY, type InviteMenteeToMatch, type SetMentorCapacity } from './participation';

const streams = { user: userDecider, program: programDecider };
const inviting = CrossStreamSpecification.for(streams, decideInviteMenteeToMatch);
const setting = CrossStreamSpecification.for(streams, decideSetMentorCapacity);

const userLed = (more: Partial<ProgramSettings> = {}) => [programWith({ matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR'], ...more })];
const mentee = (status: UserStatus = 'A', matchStatus: MatchStatus = 'RTBM'): UserEvent[] => [...userIn(TEEN, 'MENTEE', status), ...personaIn(TEEN, 1, 'MENTEE', matchStatus, 'match-9')];

describe('InviteMenteeToMatch ("Submit Your Mentor Preferences")', () => {
  const invite = (overrides: Partial<InviteMenteeToMatch['data']> = {}): InviteMenteeToMatch => ({
    type: 'InviteMenteeToMatch',
    data: { userId: TEEN, personaId: persona(TEEN, 1), programId: PROGRAM_ID, ...overrides },
  });

  it('invites an unmatched (RTBM) mentee of a user-led program with approval', () =>
    inviting({ program: userLed(), user: mentee() }).when(invite()).then({ user: [menteeInvited(TEEN, 1)] }));
  it('invites in a user-led program without approval as well', () =>
    inviting({ program: [programWith({ matchingProcess: 'USER_LED' })], user: mentee() }).when(invite()).then({ user: [menteeInvited(TEEN, 1)] }));
  it('folds the invitation onto the persona', () =>
    expect((fold(userDecider, [...mentee(), menteeInvited(TEEN, 1)]) as User).personas[0]?.invited).toBe(true));

  it('refuses a second invitation with ALREADY_EXISTS (counted as "already invited")', () =>
    inviting({ program: userLed(), user: [...mentee(), menteeInvited(TEEN, 1)] })
      .when(invite())
      .thenThrows('ALREADY_EXISTS', 'Theo Mentee has already been invited to submit mentor preferences.'));
  it('refuses in an admin-led program', () =>
    inviting({ program: [programCreated()], user: mentee() })
      .when(invite())
      .thenThrows('RULE_VIOLATED', 'Program "Brooklyn 2025" is admin-led; mentees are invited to submit mentor preferences only in user-led programs.'));
  it('refuses while matching is off', () =>
    inviting({ program: userLed({ matchingEnabled: false }), user: mentee() })
      .when(invite())
      .thenThrows('RULE_VIOLATED', 'Matching is off in program "Brooklyn 2025"; turn matching on before inviting mentees.'));
  it.each<MatchStatus>(['MATCHED', 'CLOSED', 'RESCREENING', 'NOT_MATCHING'])('refuses a mentee who is %s, not RTBM', (status) =>
    inviting({ program: userLed(), user: mentee('A', status) })
      .when(invite())
      .thenThrows('RULE_VIOLATED', `Theo Mentee is ${status}, not ready to be matched (RTBM); only unmatched mentees are invited.`));
  it('refuses a user who is not Active', () =>
    inviting({ program: userLed(), user: mentee('SI', 'N/A') })
      .when(invite())
      .thenThrows('RULE_VIOLATED', 'is Screening Incomplete (SI); only Active (A) users can be invited to match. Change the user status to A first.'));
  it('refuses an inactive persona', () =>
    inviting({
      program: userLed(),
      user: [
        ...mentee(),
        personaCreated(TEEN, 2, 'MENTEE', 'RESCREENING', { kind: 'MADE_RESCREENING' }),
        { type: 'PersonaInactivated', data: { userId: TEEN, personaId: persona(TEEN, 1), matchStatus: 'RTBM', matchId: null, communicationCut: false, cause: { kind: 'CREATED_IN_ERROR' } } },
      ],
    })
      .when(invite())
      .thenThrows('RULE_VIOLATED', 'is inactive (created in error), so it cannot be invited to match'));
  it('refuses a mentor persona', () =>
    inviting({ program: userLed(), user: [...userIn(ID, 'MENTOR', 'A'), ...personaIn(ID, 1, 'MENTOR', 'RTBM')] })
      .when(invite({ userId: ID, personaId: persona(ID, 1) }))
      .thenThrows('RULE_VIOLATED', `Persona ${persona(ID, 1)} of Maria Mentor is not a mentee persona in program "Brooklyn 2025".`));
  it('refuses a persona of another program', () =>
    inviting({ program: [programWith({ matchingProcess: 'USER_LED' }, { programId: 'prog-other', name: 'Queens 2025' })], user: mentee() })
      .when(invite({ programId: 'prog-other' }))
      .thenThrows('RULE_VIOLATED', 'is not a mentee persona in program "Queens 2025"'));
  it('refuses an unknown program', () => inviting({ user: mentee() }).when(invite()).thenThrows('NOT_FOUND', `Program ${PROGRAM_ID} does not exist.`));
  it('refuses an unknown user', () => inviting({ program: userLed() }).when(invite()).thenThrows('NOT_FOUND', `User ${TEEN} does not exist.`));
  it('refuses an unknown persona', () =>
    inviting({ program: userLed(), user: mentee() }).when(invite({ personaId: persona(TEEN, 2) })).thenThrows('NOT_FOUND', `has no persona ${persona(TEEN, 2)}`));
});

describe('SetMentorCapacity', () => {
  const setCapacity = (capacity: number, overrides: Partial<SetMentorCapacity['data']> = {}): SetMentorCapacity => ({
    type: 'SetMentorCapacity',
    data: { userId: ID, programId: PROGRAM_ID, capacity, ...overrides },
  });
  const mentor = (matchStatus: MatchStatus = 'RTBM'): UserEvent[] => [...userIn(ID, 'MENTOR', 'A'), ...personaIn(ID, 1, 'MENTOR', matchStatus, 'match-1')];
  /** Live in match-1 through p1 and in match-2 through p2, created alongside it. */
  const twoLive: UserEvent[] = [
    ...mentor('MATCHED'),
    personaCreated(ID, 2, 'MENTOR', 'RTBM', { kind: 'ADDITIONAL_MATCH', matchId: 'match-2', alongsidePersonaId: persona(ID, 1) }),
    matchStatusChanged(ID, 2, 'RTBM', 'MATCHED', { kind: 'MATCH_ACTIVATED', matchId: 'match-2' }, 'match-2'),
  ];

  it('sets the mentor’s capacity in the program', () =>
    setting({ program: [programCreated()], user: mentor() }).when(setCapacity(3)).then({ user: [mentorCapacitySet(ID, 3)] }));
  it('records the previous capacity when it changes', () =>
    setting({ program: [programCreated()], user: [...mentor(), mentorCapacitySet(ID, 3)] }).when(setCapacity(2)).then({ user: [mentorCapacitySet(ID, 2, 3)] }));
  it('records nothing when the capacity is unchanged', () =>
    setting({ program: [programCreated()], user: [...mentor(), mentorCapacitySet(ID, 3)] }).when(setCapacity(3)).then({}));
  it('records the program’s default when set explicitly (the mentor keeps it if the default changes)', () =>
    setting({ program: [programCreated()], user: mentor() }).when(setCapacity(DEFAULT_PROGRAM_SETTINGS.mentorCapacity)).then({ user: [mentorCapacitySet(ID, 1)] }));
  it('folds per program', () =>
    expect((fold(userDecider, [...mentor(), mentorCapacitySet(ID, 3), mentorCapacitySet(ID, 2, null, 'prog-other')]) as User).mentorCapacities).toEqual({
      [PROGRAM_ID]: 3,
      'prog-other': 2,
    }));

  it('may equal the mentor’s live matches', () =>
    setting({ program: [programCreated()], user: [...twoLive, mentorCapacitySet(ID, 3)] }).when(setCapacity(2)).then({ user: [mentorCapacitySet(ID, 2, 3)] }));
  it('refuses lowering it below the mentor’s live matches', () =>
    setting({ program: [programCreated()], user: [...twoLive, mentorCapacitySet(ID, 2)] })
      .when(setCapacity(1))
      .thenThrows('RULE_VIOLATED', 'Maria Mentor has 2 live matches in program "Brooklyn 2025"; a capacity of 1 would be below that. Close a match first.'));
  it('does not count a completed match as live', () =>
    setting({ program: [programCreated()], user: [...twoLive, mentorCapacitySet(ID, 2), personaMatchCompleted(ID, 2, 'match-2')] })
      .when(setCapacity(1))
      .then({ user: [mentorCapacitySet(ID, 1, 2)] }));
  it.each([0, -1, 1.5, MAX_MENTOR_CAPACITY + 1, Number.NaN])('refuses a capacity of %s', (capacity) =>
    setting({ program: [programCreated()], user: mentor() })
      .when(setCapacity(capacity))
      .thenThrows('VALIDATION_FAILED', `Mentor capacity must be a whole number from 1 to ${MAX_MENTOR_CAPACITY}`));
  it('refuses a user who is not a mentor in the program', () =>
    setting({ program: [programCreated()], user: [...userIn(TEEN, 'MENTEE', 'A'), ...personaIn(TEEN, 1, 'MENTEE', 'RTBM')] })
      .when(setCapacity(2, { userId: TEEN }))
      .thenThrows('RULE_VIOLATED', 'Theo Mentee is not a mentor in program "Brooklyn 2025".'));
  it('refuses a mentor of another program', () =>
    setting({ program: [programCreated({ programId: 'prog-other', name: 'Queens 2025' })], user: mentor() })
      .when(setCapacity(2, { programId: 'prog-other' }))
      .thenThrows('RULE_VIOLATED', 'Maria Mentor is not a mentor in program "Queens 2025".'));
  it('refuses an unknown program', () => setting({ user: mentor() }).when(setCapacity(2)).thenThrows('NOT_FOUND', `Program ${PROGRAM_ID} does not exist.`));
  it('refuses an unknown user', () => setting({ program: [programCreated()] }).when(setCapacity(2)).thenThrows('NOT_FOUND', `User ${ID} does not exist.`));
});
