import { CrossStreamSpecification, DeciderSpecification } from '../shared/deciderSpecification';
import { fold } from '../shared/decider';
import { programDecider } from '../program/program';
import {
  MENTEE_ID as TEEN,
  MENTOR_ID as ID,
  matchStatusChanged,
  persona,
  personaCreated,
  personaIn,
  programCreated,
  reverted,
  statusChanged,
  userIn,
  userRegistered,
} from '../shared/testEvents';
import { MATCH_STATUSES, PARTICIPANT_ROLES, type MatchStatus, type ParticipantRole } from './matchStatus';
import {
  decideAssignPersonaToSite,
  decideErasePersonalData,
  decideRegisterUser,
  type ErasePersonalData,
  userDecider,
  type User,
  type UserCommand,
  type UserEvent,
} from './user';
import { emailReservationDecider } from './emailReservation';
import { userIdForEmail } from './userId';
import { USER_STATUSES, type UserStatus } from './userStatus';

const given = DeciderSpecification.for(userDecider);
const registration = CrossStreamSpecification.for(
  { user: userDecider, program: programDecider, reservation: emailReservationDecider, legacyUser: userDecider },
  decideRegisterUser,
);
const assignment = CrossStreamSpecification.for({ user: userDecider, program: programDecider }, decideAssignPersonaToSite);

const P1 = persona(ID, 1);
const P2 = persona(ID, 2);
const P3 = persona(ID, 3);
const change = (changeId: string, to: UserStatus): UserCommand => ({ type: 'ChangeUserStatus', data: { userId: ID, changeId, to } });
const revert = (changeId: string, revertedChangeId: string): UserCommand => ({
  type: 'RevertUserStatusChange',
  data: { userId: ID, changeId, revertedChangeId },
});
const activated = (n: number, changeId: string, userId = ID): UserEvent =>
  matchStatusChanged(userId, n, 'N/A', 'RTBM', { kind: 'USER_ACTIVATED', changeId });
const setMatchStatus = (personaId: string, to: MatchStatus): UserCommand => ({
  type: 'ChangePersonaMatchStatus',
  data: { userId: ID, personaId, to },
});
const inactivate = (personaId: string, confirmCutCommunication?: boolean): UserCommand => ({
  type: 'InactivatePersona',
  data: { userId: ID, personaId, ...(confirmCutCommunication !== undefined ? { confirmCutCommunication } : {}) },
});
const makeRs: UserCommand = { type: 'MakeUserRescreening', data: { userId: ID } };
/** A mentor in `status` whose only persona p1 is in `matchStatus`. */
const mentor = (status: UserStatus, matchStatus: MatchStatus, role: ParticipantRole = 'MENTOR'): UserEvent[] => [
  ...userIn(ID, role, status),
  ...personaIn(ID, 1, role, matchStatus),
];

describe('RegisterUser', () => {
  const userId = 'a7c5d1e2-3f4b-4c6d-8e9f-0a1b2c3d4e5f';
  const command = {
    type: 'RegisterUser',
    data: {
      userId,
      email: '  Maria.Mentor@Example.ORG ',
      name: 'Maria Mentor',
      programId: 'prog-2025',
      role: 'MENTOR',
      company: 'Acme',
      manager: { name: 'Mia Manager', email: 'mia@acme.example' },
    },
  } as const;
  const legacyId = userIdForEmail('maria.mentor@example.org');

  it('registers the user in AI with one N/A persona in the program and role', () =>
    registration({ program: [programCreated()] })
      .when(command)
      .then({
        user: [
          {
            type: 'UserRegistered',
            data: {
              userId,
              email: 'Maria.Mentor@Example.ORG',
              normalizedEmail: 'maria.mentor@example.org',
              name: 'Maria Mentor',
              programId: 'prog-2025',
              role: 'MENTOR',
              company: 'Acme',
              manager: { name: 'Mia Manager', email: 'mia@acme.example' },
              userStatus: 'AI',
            },
          },
          {
            type: 'PersonaCreated',
            data: {
              userId,
              personaId: `${userId}:p1`,
              programId: 'prog-2025',
              role: 'MENTOR',
              matchStatus: 'N/A',
              origin: { kind: 'REGISTRATION' },
            },
          },
        ],
        reservation: [{ type: 'EmailAddressReserved', data: { userId } }],
      }));

  it('keeps company and manager empty when not given', () => {
    const { user } = decideRegisterUser(
      { type: 'RegisterUser', data: { userId: 'u-2', email: 'teen@example.org', name: 'Theo', programId: 'prog-2025', role: 'MENTEE' } },
      {
        user: userDecider.initialState(),
        program: fold(programDecider, [programCreated()]),
        reservation: emailReservationDecider.initialState(),
        legacyUser: userDecider.initialState(),
      },
    );
    expect(user[0]).toMatchObject({ data: { company: null, manager: null, role: 'MENTEE' } });
  });

  it('refuses an e-mail reserved by another user, whatever its case', () =>
    registration({ program: [programCreated()], reservation: [{ type: 'EmailAddressReserved', data: { userId: 'someone-else' } }] })
      .when({ ...command, data: { ...command.data, email: 'MARIA.MENTOR@example.org' } })
      .thenThrows('ALREADY_EXISTS', 'already exists'));

  it('refuses an e-mail a legacy user (id from the address, no reservation stream) still has', () =>
    registration({
      program: [programCreated()],
      legacyUser: [{ type: 'UserRegistered', data: { ...userRegistered(legacyId, 'MENTOR').data, normalizedEmail: 'maria.mentor@example.org' } } as UserEvent],
    })
      .when(command)
      .thenThrows('ALREADY_EXISTS', `user ${legacyId}`));

  it('claims a released address again, even one a legacy user had', () => {
    const { user, reservation } = decideRegisterUser(command, {
      user: userDecider.initialState(),
      program: fold(programDecider, [programCreated()]),
      reservation: fold(emailReservationDecider, [
        { type: 'EmailAddressReserved', data: { userId: legacyId } },
        { type: 'EmailAddressReleased', data: { userId: legacyId } },
      ]),
      // The legacy user moved on to another address: the released reservation decides.
      legacyUser: fold(userDecider, [userRegistered(legacyId, 'MENTOR')]),
    });
    expect(user.map((event) => event.type)).toEqual(['UserRegistered', 'PersonaCreated']);
    expect(reservation).toEqual([{ type: 'EmailAddressReserved', data: { userId } }]);
  });

  it('refuses a NUL byte in the name', () =>
    registration({ program: [programCreated()] })
      .when({ ...command, data: { ...command.data, name: 'Maria\u0000' } })
      .thenThrows('VALIDATION_FAILED', 'control characters'));

  it('refuses an unknown program', () => registration({}).when(command).thenThrows('NOT_FOUND', 'prog-2025'));
  it('refuses a malformed e-mail', () =>
    registration({ program: [programCreated()] })
      .when({ ...command, data: { ...command.data, email: 'maria at example' } })
      .thenThrows('VALIDATION_FAILED', 'not an e-mail'));
  it('refuses a malformed manager e-mail', () =>
    registration({ program: [programCreated()] })
      .when({ ...command, data: { ...command.data, manager: { name: 'Mia', email: 'mia' } } })
      .thenThrows('VALIDATION_FAILED', 'Manager e-mail'));
  it('refuses an empty name', () =>
    registration({ program: [programCreated()] })
      .when({ ...command, data: { ...command.data, name: '  ' } })
      .thenThrows('VALIDATION_FAILED', 'Name'));
  it('refuses an unknown role', () =>
    registration({ program: [programCreated()] })
      .when({ ...command, data: { ...command.data, role: 'COACH' as ParticipantRole } })
      .thenThrows('VALIDATION_FAILED', 'MENTOR or MENTEE'));
});

describe('commands on a user who does not exist', () => {
  it.each<UserCommand>([
    change('c1', 'A'),
    revert('c2', 'c1'),
    { type: 'CompleteApplication', data: { userId: ID, changeId: 'c1' } },
    setMatchStatus(P1, 'RTBM'),
    makeRs,
    inactivate(P1),
  ])('$type is refused with NOT_FOUND', (command) => given([]).when(command).thenThrows('NOT_FOUND', ID));
});

describe('CompleteApplication', () => {
  const complete: UserCommand = { type: 'CompleteApplication', data: { userId: ID, changeId: 'c1' } };

  it('moves the user from AI to SI automatically', () =>
    given(userIn(ID, 'MENTOR', 'AI')).when(complete).then([
      { type: 'ApplicationCompleted', data: { userId: ID } },
      {
        type: 'UserStatusChanged',
        data: { userId: ID, changeId: 'c1', from: 'AI', to: 'SI', automatic: true, trigger: 'APPLICATION_COMPLETED' },
      },
    ]));

  it.each(USER_STATUSES.filter((status) => status !== 'AI'))('is refused for a user in %s', (status) =>
    given(userIn(ID, 'MENTOR', status)).when(complete).thenThrows('ILLEGAL_TRANSITION', 'only a user whose application is incomplete (AI)'));

  it('can complete again after the automatic move was reverted', () =>
    given([...userIn(ID, 'MENTOR', 'AI'), statusChanged(ID, 'c1', 'AI', 'SI', true), reverted(ID, 'c2', 'c1', 'SI', 'AI')])
      .when({ type: 'CompleteApplication', data: { userId: ID, changeId: 'c3' } })
      .then([
        { type: 'ApplicationCompleted', data: { userId: ID } },
        {
          type: 'UserStatusChanged',
          data: { userId: ID, changeId: 'c3', from: 'AI', to: 'SI', automatic: true, trigger: 'APPLICATION_COMPLETED' },
        },
      ]));

  it('refuses a change id already used', () =>
    given([...userIn(ID, 'MENTOR', 'SI'), reverted(ID, 'r1', 'c-setup', 'SI', 'AI')])
      .when({ type: 'CompleteApplication', data: { userId: ID, changeId: 'c-setup' } })
      .thenThrows('ALREADY_EXISTS', 'c-setup'));
});

describe('ChangeUserStatus: every pair of the six statuses, against the direct moves an admin may make', () => {
  const pairs = USER_STATUSES.flatMap((from) => USER_STATUSES.map((to) => [from, to] as const));
  /**
   * "All of these status changes need to be made manually on the platform (except when a mentor
   * finishes their application - they are automatically moved to Screening Incomplete)" (seed 001).
   * A direct move never skips the application or the screening; leaving (IW, IR, ID) is always
   * possible; a user who left before finishing the application comes back to AI.
   */
  const DIRECT: Readonly<Record<UserStatus, readonly UserStatus[]>> = {
    AI: ['IW', 'IR', 'ID'],
    SI: ['A', 'IW', 'IR', 'ID'],
    A: ['SI', 'IW', 'IR', 'ID'],
    IW: ['AI', 'IR', 'ID'],
    IR: ['AI', 'IW', 'ID'],
    ID: ['AI', 'IW', 'IR'],
  };
  const allowedPairs = pairs.filter(([from, to]) => DIRECT[from].includes(to));
  const refusedPairs = pairs.filter(([from, to]) => from !== to && !DIRECT[from].includes(to));

  it.each(allowedPairs.filter(([, to]) => to !== 'A'))('%s → %s is recorded with from and to', (from, to) =>
    given([...userIn(ID, 'MENTOR', from), ...personaIn(ID, 1, 'MENTOR', 'N/A')])
      .when(change('c1', to))
      .then([{ type: 'UserStatusChanged', data: { userId: ID, changeId: 'c1', from, to, automatic: false, trigger: 'MANUAL' } }]));

  it.each(allowedPairs.filter(([, to]) => to === 'A'))('%s → %s also makes the N/A persona RTBM', (from, to) =>
    given([...userIn(ID, 'MENTOR', from), ...personaIn(ID, 1, 'MENTOR', 'N/A')])
      .when(change('c1', to))
      .then([
        { type: 'UserStatusChanged', data: { userId: ID, changeId: 'c1', from, to, automatic: false, trigger: 'MANUAL' } },
        activated(1, 'c1'),
      ]));

  it.each(refusedPairs)('%s → %s is refused, naming the moves an admin may make', (from, to) =>
    given([...userIn(ID, 'MENTOR', from), ...personaIn(ID, 1, 'MENTOR', 'N/A')])
      .when(change('c1', to))
      .thenThrows('ILLEGAL_TRANSITION', `From ${from} an admin may move them to:`, (error) => {
        expect(error.details).toMatchObject({ from, to, allowed: DIRECT[from] });
        for (const allowed of DIRECT[from]) expect(error.message).toContain(`(${allowed})`);
      }));

  it('AI → A is refused: it would skip the application and the screening', () =>
    given(userIn(ID, 'MENTOR', 'AI'))
      .when(change('c1', 'A'))
      .thenThrows('ILLEGAL_TRANSITION', 'would skip the application and the screening'));

  it('a user who left after being Active may come back to SI or straight to A', () =>
    given([
      ...userIn(ID, 'MENTOR', 'AI'),
      { type: 'ApplicationCompleted', data: { userId: ID } },
      statusChanged(ID, 'c-app', 'AI', 'SI', true),
      statusChanged(ID, 'c-a', 'SI', 'A'),
      statusChanged(ID, 'c-iw', 'A', 'IW'),
    ])
      .when(change('c1', 'A'))
      .then([{ type: 'UserStatusChanged', data: { userId: ID, changeId: 'c1', from: 'IW', to: 'A', automatic: false, trigger: 'MANUAL' } }]));

  it('a user who left during screening comes back to SI, not straight to A', () =>
    given([...userIn(ID, 'MENTOR', 'AI'), { type: 'ApplicationCompleted', data: { userId: ID } }, statusChanged(ID, 'c-app', 'AI', 'SI', true), statusChanged(ID, 'c-iw', 'SI', 'IW')])
      .when(change('c1', 'A'))
      .thenThrows('ILLEGAL_TRANSITION', 'never screened', (error) => expect(error.details).toMatchObject({ allowed: ['SI', 'IR', 'ID'] })));

  it.each(pairs.filter(([from, to]) => from === to))('%s → %s is refused: nothing would change', (from, to) =>
    given(userIn(ID, 'MENTOR', from)).when(change('c1', to)).thenThrows('ILLEGAL_TRANSITION', 'already'));

  it('refuses a status that is not one of the six', () =>
    given(userIn(ID, 'MENTOR', 'SI')).when(change('c1', 'X' as UserStatus)).thenThrows('VALIDATION_FAILED', 'A, AI, SI, IW, IR, ID'));

  it('refuses a change id already used', () =>
    given(userIn(ID, 'MENTOR', 'SI')).when(change('c-setup', 'A')).thenThrows('ALREADY_EXISTS', 'c-setup'));

  it('knows the change ids of each state folded from a shared one, whichever was folded first', () => {
    // The command pipeline decides on a kept state and, after a conflict, on one read again: two
    // states grown from the same one, each with changes the other lacks (the same id at other places).
    const shared = fold(userDecider, [...userIn(ID, 'MENTOR', 'SI'), statusChanged(ID, 'c1', 'SI', 'A')]);
    const one = [statusChanged(ID, 'c2', 'A', 'IW'), statusChanged(ID, 'c3', 'IW', 'A')].reduce(userDecider.evolve, shared);
    const other = [statusChanged(ID, 'c3', 'A', 'SI'), statusChanged(ID, 'c4', 'SI', 'A'), statusChanged(ID, 'c2', 'A', 'IW')].reduce(userDecider.evolve, shared);
    const refusal = (state: typeof shared, changeId: string): string | undefined => {
      try {
        userDecider.decide(change(changeId, state.status === 'REGISTERED' && state.userStatus === 'A' ? 'IW' : 'A'), state);
        return undefined;
      } catch (error) {
        return (error as { code?: string }).code;
      }
    };
    for (const id of ['c-setup', 'c1', 'c2', 'c3']) expect([id, refusal(one, id)]).toEqual([id, 'ALREADY_EXISTS']);
    for (const id of ['c-setup', 'c1', 'c2', 'c3', 'c4']) expect([id, refusal(other, id)]).toEqual([id, 'ALREADY_EXISTS']);
    expect(refusal(one, 'c4')).toBeUndefined();
    expect(refusal(shared, 'c2')).toBeUndefined();
    // A revert finds its target in its own state, not where the other state has that id.
    given([...userIn(ID, 'MENTOR', 'SI'), statusChanged(ID, 'c1', 'SI', 'A'), statusChanged(ID, 'c3', 'A', 'SI'), statusChanged(ID, 'c4', 'SI', 'A'), statusChanged(ID, 'c2', 'A', 'IW')])
      .when(revert('r1', 'c2'))
      .then([reverted(ID, 'r1', 'c2', 'IW', 'A')]);
    expect(userDecider.decide(revert('r1', 'c2'), other)).toEqual([reverted(ID, 'r1', 'c2', 'IW', 'A')]);
  });
});

describe('activation: N/A → RTBM for every N/A persona, and only those', () => {
  it.each(MATCH_STATUSES.filter((status) => status !== 'N/A'))('a %s persona is left as it is', (status) =>
    given([...userIn(ID, 'MENTEE', 'SI'), ...personaIn(ID, 1, 'MENTEE', status)])
      .when(change('c1', 'A'))
      .then([{ type: 'UserStatusChanged', data: { userId: ID, changeId: 'c1', from: 'SI', to: 'A', automatic: false, trigger: 'MANUAL' } }]));

  it('moves every active N/A persona, but not an inactive one', () =>
    given([
      ...userIn(ID, 'MENTOR', 'SI'),
      personaCreated(ID, 1, 'MENTOR'),
      personaCreated(ID, 2, 'MENTOR'),
      personaCreated(ID, 3, 'MENTOR'),
      { type: 'PersonaInactivated', data: { userId: ID, personaId: P3, matchStatus: 'N/A', matchId: null, communicationCut: false, cause: { kind: 'CREATED_IN_ERROR' } } },
    ])
      .when(change('c1', 'A'))
      .then([
        { type: 'UserStatusChanged', data: { userId: ID, changeId: 'c1', from: 'SI', to: 'A', automatic: false, trigger: 'MANUAL' } },
        activated(1, 'c1'),
        activated(2, 'c1'),
      ]));
});

describe('RevertUserStatusChange', () => {
  const history = [...userIn(ID, 'MENTOR', 'SI'), personaCreated(ID, 1, 'MENTOR'), statusChanged(ID, 'c1', 'SI', 'IW')];

  it('restores the status before the change, naming the change', () =>
    given(history).when(revert('r1', 'c1')).then([reverted(ID, 'r1', 'c1', 'IW', 'SI')]));

  it('reverts an automatic AI → SI move back to AI', () =>
    given([...userIn(ID, 'MENTOR', 'AI'), statusChanged(ID, 'c1', 'AI', 'SI', true)])
      .when(revert('r1', 'c1'))
      .then([reverted(ID, 'r1', 'c1', 'SI', 'AI')]));

  it('a revert can itself be reverted, restoring the status the revert replaced', () =>
    given([...history, reverted(ID, 'r1', 'c1', 'IW', 'SI')]).when(revert('r2', 'r1')).then([reverted(ID, 'r2', 'r1', 'SI', 'IW')]));

  it('and so on: the revert of the revert of the revert', () =>
    given([...history, reverted(ID, 'r1', 'c1', 'IW', 'SI'), reverted(ID, 'r2', 'r1', 'SI', 'IW')])
      .when(revert('r3', 'r2'))
      .then([reverted(ID, 'r3', 'r2', 'IW', 'SI')]));

  it('refuses a change that is no longer the latest, naming the later change', () =>
    given([...history, statusChanged(ID, 'c2', 'IW', 'IR')])
      .when(revert('r1', 'c1'))
      .thenThrows('REVERT_AMBIGUOUS', 'c2 (IW → IR)', (error) => {
        expect(error.message).toContain('Revert c2 first');
        expect(error.details).toEqual({ userId: ID, changeId: 'c1', laterChangeIds: ['c2'] });
      }));

  it('"You can always revert any user status changes you make" (seed 000): once the later change was itself reverted, the older one can be', () =>
    given([...history, statusChanged(ID, 'c2', 'IW', 'IR'), reverted(ID, 'r1', 'c2', 'IR', 'IW')])
      .when(revert('r2', 'c1'))
      .then([reverted(ID, 'r2', 'c1', 'IW', 'SI')]));

  it('the later change stands in the way again once its revert was reverted', () =>
    given([...history, statusChanged(ID, 'c2', 'IW', 'IR'), reverted(ID, 'r1', 'c2', 'IR', 'IW'), reverted(ID, 'r2', 'r1', 'IW', 'IR')])
      .when(revert('r3', 'c1'))
      .thenThrows('REVERT_AMBIGUOUS', 'change c2 (IW → IR)', (error) => expect(error.details).toMatchObject({ laterChangeIds: ['c2'] })));

  it('a later change still in effect stands in the way even when another later one was reverted', () =>
    given([...history, statusChanged(ID, 'c2', 'IW', 'IR'), reverted(ID, 'r1', 'c2', 'IR', 'IW'), statusChanged(ID, 'c3', 'IW', 'ID')])
      .when(revert('r2', 'c1'))
      .thenThrows('REVERT_AMBIGUOUS', 'change c3 (IW → ID)', (error) => expect(error.message).toContain('Revert c3 first')));

  it('refuses a change already reverted, pointing at the revert', () =>
    given([...history, reverted(ID, 'r1', 'c1', 'IW', 'SI')]).when(revert('r2', 'c1')).thenThrows('RULE_VIOLATED', 'already reverted by r1'));

  it('refuses a revert already reverted', () =>
    given([...history, reverted(ID, 'r1', 'c1', 'IW', 'SI'), reverted(ID, 'r2', 'r1', 'SI', 'IW')])
      .when(revert('r3', 'r1'))
      .thenThrows('RULE_VIOLATED', 'already reverted by r2'));

  it('refuses reverting the original change again after its revert was reverted, pointing at the latest revert', () =>
    given([...history, reverted(ID, 'r1', 'c1', 'IW', 'SI'), reverted(ID, 'r2', 'r1', 'SI', 'IW')])
      .when(revert('r3', 'c1'))
      .thenThrows('RULE_VIOLATED', 'revert r2'));

  it('refuses an unknown change', () => given(history).when(revert('r1', 'nope')).thenThrows('NOT_FOUND', 'nope'));
  it('refuses a revert id already used', () => given(history).when(revert('c1', 'c1')).thenThrows('ALREADY_EXISTS'));

  describe('with activation', () => {
    const activation = [...userIn(ID, 'MENTOR', 'SI'), personaCreated(ID, 1, 'MENTOR'), statusChanged(ID, 'c1', 'SI', 'A'), activated(1, 'c1')];

    it('reverting an activation leaves the personas RTBM, as a direct A → SI does (seed 001 has no move back from RTBM)', () =>
      given(activation).when(revert('r1', 'c1')).then([reverted(ID, 'r1', 'c1', 'A', 'SI')]));

    it('a direct A → SI gives the same personas', () =>
      given(activation)
        .when(change('c2', 'SI'))
        .then([{ type: 'UserStatusChanged', data: { userId: ID, changeId: 'c2', from: 'A', to: 'SI', automatic: false, trigger: 'MANUAL' } }]));

    it('a persona matched since keeps its match', () =>
      given([...activation, matchStatusChanged(ID, 1, 'RTBM', 'MATCHED', { kind: 'MATCH_ACTIVATED', matchId: 'm1' }, 'm1')])
        .when(revert('r1', 'c1'))
        .then([reverted(ID, 'r1', 'c1', 'A', 'SI')]));

    it('reverting that revert makes the user Active again; the persona is already RTBM', () =>
      given([...activation, reverted(ID, 'r1', 'c1', 'A', 'SI')])
        .when(revert('r2', 'r1'))
        .then([reverted(ID, 'r2', 'r1', 'SI', 'A')]));

    it('a log recorded before, with the RTBM → N/A undo, still folds: reverting that revert activates again', () =>
      given([
        ...activation,
        reverted(ID, 'r1', 'c1', 'A', 'SI'),
        matchStatusChanged(ID, 1, 'RTBM', 'N/A', { kind: 'ACTIVATION_REVERTED', changeId: 'r1', revertedChangeId: 'c1' }),
      ])
        .when(revert('r2', 'r1'))
        .then([reverted(ID, 'r2', 'r1', 'SI', 'A'), activated(1, 'r2')]));

    it('reverting a deactivation makes N/A personas RTBM again', () =>
      given([...userIn(ID, 'MENTOR', 'A'), personaCreated(ID, 1, 'MENTOR'), statusChanged(ID, 'c1', 'A', 'IW')])
        .when(revert('r1', 'c1'))
        .then([reverted(ID, 'r1', 'c1', 'IW', 'A'), activated(1, 'r1')]));
  });
});

describe('ChangePersonaMatchStatus: every (from, to) pair of the match-status table, for both roles', () => {
  /** The manual moves of the seeds' table (Make RTBM; RS ↔ NM for mentees). */
  const manual: Record<ParticipantRole, readonly string[]> = {
    MENTOR: ['RESCREENING→RTBM'],
    MENTEE: ['RESCREENING→RTBM', 'RESCREENING→NOT_MATCHING', 'NOT_MATCHING→RESCREENING'],
  };
  /** Moves in the table that other commands make. */
  const byOtherCommands: Record<string, string> = {
    'N/A→RTBM': "by changing the user's status to Active (A)",
    'RTBM→MATCHED': 'by matching it',
    'MATCHED→CLOSED': 'by closing its match',
    'CLOSED→MATCHED': 'by reopening its match',
  };
  /** What the refusal must name as allowed from each status. */
  const allowedFrom: Record<ParticipantRole, Record<MatchStatus, readonly MatchStatus[]>> = {
    MENTOR: { 'N/A': ['RTBM'], RTBM: ['MATCHED'], MATCHED: ['CLOSED'], CLOSED: ['MATCHED'], RESCREENING: ['RTBM'], NOT_MATCHING: [] },
    MENTEE: {
      'N/A': ['RTBM'],
      RTBM: ['MATCHED'],
      MATCHED: ['CLOSED'],
      CLOSED: ['MATCHED'],
      RESCREENING: ['RTBM', 'NOT_MATCHING'],
      NOT_MATCHING: ['RESCREENING'],
    },
  };
  const cases = PARTICIPANT_ROLES.flatMap((role) =>
    MATCH_STATUSES.flatMap((from) => MATCH_STATUSES.map((to) => ({ role, from, to, key: `${from}→${to}` }))),
  );

  it.each(cases.filter(({ role, key }) => manual[role].includes(key)))('$role $from → $to is allowed', ({ role, from, to }) =>
    given(mentor('A', from, role)).when(setMatchStatus(P1, to)).then([matchStatusChanged(ID, 1, from, to, { kind: 'ADMIN' })]));

  it.each(cases.filter(({ role, key }) => !manual[role].includes(key) && byOtherCommands[key]))(
    '$role $from → $to is refused here, naming the command that makes it',
    ({ role, from, to, key }) =>
      given(mentor('A', from, role)).when(setMatchStatus(P1, to)).thenThrows('ILLEGAL_TRANSITION', `it moves to ${to} only ${byOtherCommands[key]}`),
  );

  it.each(cases.filter(({ role, key }) => !manual[role].includes(key) && !byOtherCommands[key]))(
    '$role $from → $to is refused, naming the allowed moves',
    ({ role, from, to }) =>
      given(mentor('A', from, role))
        .when(setMatchStatus(P1, to))
        .thenThrows('ILLEGAL_TRANSITION', `Persona ${P1} is ${from}`, (error) => {
          expect(error.details['allowed']).toEqual(allowedFrom[role][from]);
          for (const allowed of allowedFrom[role][from]) expect(error.message).toContain(`${allowed} (`);
          if (allowedFrom[role][from].length === 0) expect(error.message).toContain('cannot move to any other match status');
        }),
  );

  it('gives the example message for RTBM', () =>
    given(mentor('A', 'RTBM')).when(setMatchStatus(P1, 'CLOSED')).thenThrows(
      'ILLEGAL_TRANSITION',
      `Persona ${P1} is RTBM; from RTBM it can only move to MATCHED (by matching it).`,
    ));

  it.each(USER_STATUSES.filter((status) => status !== 'A'))('Make RTBM needs an Active user (refused in %s)', (status) =>
    given(mentor(status, 'RESCREENING')).when(setMatchStatus(P1, 'RTBM')).thenThrows('RULE_VIOLATED', 'Change the user status to A first'));

  it('Make Not Matching does not need an Active user', () =>
    given(mentor('SI', 'RESCREENING', 'MENTEE')).when(setMatchStatus(P1, 'NOT_MATCHING')).then([
      matchStatusChanged(ID, 1, 'RESCREENING', 'NOT_MATCHING', { kind: 'ADMIN' }),
    ]));

  it('refuses an inactive persona', () =>
    given([
      ...mentor('A', 'CLOSED'),
      personaCreated(ID, 2, 'MENTOR', 'RESCREENING', { kind: 'MADE_RESCREENING' }),
      { type: 'PersonaInactivated', data: { userId: ID, personaId: P2, matchStatus: 'RESCREENING', matchId: null, communicationCut: false, cause: { kind: 'CREATED_IN_ERROR' } } },
    ])
      .when(setMatchStatus(P2, 'RTBM'))
      .thenThrows('RULE_VIOLATED', 'inactive'));

  it('refuses an unknown persona', () => given(mentor('A', 'RESCREENING')).when(setMatchStatus(P2, 'RTBM')).thenThrows('NOT_FOUND', P2));
});

describe('MakeUserRescreening ("Make RS")', () => {
  it('creates a RESCREENING persona when every active persona is CLOSED', () =>
    given(mentor('A', 'CLOSED')).when(makeRs).then([personaCreated(ID, 2, 'MENTOR', 'RESCREENING', { kind: 'MADE_RESCREENING' })]));

  it('also for a user who left the program, so the admin can bring them back', () =>
    given(mentor('IW', 'CLOSED')).when(makeRs).then([personaCreated(ID, 2, 'MENTOR', 'RESCREENING', { kind: 'MADE_RESCREENING' })]));

  it('continues the program and role of the latest closed persona', () =>
    given([
      ...userIn(ID, 'MENTOR', 'A'),
      ...personaIn(ID, 1, 'MENTOR', 'CLOSED', 'm1'),
      personaCreated(ID, 2, 'MENTOR', 'RESCREENING', { kind: 'REMATCH_REQUESTED', matchId: 'm1', rematchIntent: 'MAYBE' }, 'prog-2026'),
      matchStatusChanged(ID, 2, 'RESCREENING', 'RTBM', { kind: 'ADMIN' }),
      matchStatusChanged(ID, 2, 'RTBM', 'MATCHED', { kind: 'MATCH_ACTIVATED', matchId: 'm2' }, 'm2'),
      matchStatusChanged(ID, 2, 'MATCHED', 'CLOSED', { kind: 'MATCH_CLOSED', matchId: 'm2', closureReason: 'Other', rematchIntent: 'NO' }, 'm2'),
    ])
      .when(makeRs)
      .then([personaCreated(ID, 3, 'MENTOR', 'RESCREENING', { kind: 'MADE_RESCREENING' }, 'prog-2026')]));

  it.each(MATCH_STATUSES.filter((status) => status !== 'CLOSED'))('is refused while a persona is %s', (status) =>
    given([...mentor('A', 'CLOSED', 'MENTEE'), ...personaIn(ID, 2, 'MENTEE', status)])
      .when(makeRs)
      .thenThrows('RULE_VIOLATED', `already has persona ${P2} in ${status}`));

  it('tells the admin to move a NOT_MATCHING persona back instead', () =>
    given([...mentor('A', 'CLOSED', 'MENTEE'), ...personaIn(ID, 2, 'MENTEE', 'NOT_MATCHING')])
      .when(makeRs)
      .thenThrows('RULE_VIOLATED', 'move that persona back to RESCREENING'));

  it('ignores inactive personas', () =>
    given([
      ...mentor('A', 'CLOSED'),
      personaCreated(ID, 2, 'MENTOR', 'RESCREENING', { kind: 'MADE_RESCREENING' }),
      { type: 'PersonaInactivated', data: { userId: ID, personaId: P2, matchStatus: 'RESCREENING', matchId: null, communicationCut: false, cause: { kind: 'CREATED_IN_ERROR' } } },
    ])
      .when(makeRs)
      .then([personaCreated(ID, 3, 'MENTOR', 'RESCREENING', { kind: 'MADE_RESCREENING' })]));
});

describe('InactivatePersona', () => {
  const twoPersonas = (second: MatchStatus) => [...mentor('A', 'CLOSED'), ...personaIn(ID, 2, 'MENTOR', second, 'm2')];
  const inactivated = (personaId: string, matchStatus: MatchStatus, matchId: string | null, communicationCut: boolean): UserEvent => ({
    type: 'PersonaInactivated',
    data: { userId: ID, personaId, matchStatus, matchId, communicationCut, cause: { kind: 'CREATED_IN_ERROR' } },
  });

  it('inactivates a persona created in error', () =>
    given(twoPersonas('RESCREENING')).when(inactivate(P2)).then([inactivated(P2, 'RESCREENING', null, false)]));

  it('refuses a MATCHED persona without confirmation', () =>
    given(twoPersonas('MATCHED')).when(inactivate(P2)).thenThrows('CONFIRMATION_REQUIRED', 'confirmCutCommunication: true'));

  it('refuses a MATCHED persona when confirmation is false', () =>
    given(twoPersonas('MATCHED')).when(inactivate(P2, false)).thenThrows('CONFIRMATION_REQUIRED', 'stops the mentor and mentee from communicating'));

  it('on the user stream alone, refuses a confirmed MATCHED persona as matched meanwhile: its match must close with it (match.ts)', () =>
    given(twoPersonas('MATCHED')).when(inactivate(P2, true)).thenThrows('CONCURRENCY_CONFLICT', 'was matched'));

  it('refuses the last active persona, advising a user-status change', () =>
    given(mentor('A', 'RTBM')).when(inactivate(P1)).thenThrows('RULE_VIOLATED', 'change the user status instead'));

  it('counts only active personas when looking for the last one', () =>
    given([...twoPersonas('RESCREENING'), inactivated(P2, 'RESCREENING', null, false)]).when(inactivate(P1)).thenThrows('RULE_VIOLATED', 'last active persona'));

  it('refuses the last active persona even when MATCHED and confirmed', () =>
    given(mentor('A', 'MATCHED')).when(inactivate(P1, true)).thenThrows('RULE_VIOLATED', 'last active persona'));

  it('refuses a persona already inactive', () =>
    given([...twoPersonas('RESCREENING'), inactivated(P2, 'RESCREENING', null, false)]).when(inactivate(P2)).thenThrows('ILLEGAL_TRANSITION', 'already inactive'));

  it('refuses an unknown persona', () => given(twoPersonas('RESCREENING')).when(inactivate(P3)).thenThrows('NOT_FOUND', P3));
});

describe('AssignPersonaToSite', () => {
  const assign = (partnerSiteId: string, mentorSiteListId: string | null = 'list-1', personaId = P1) =>
    ({ type: 'AssignPersonaToSite', data: { userId: ID, personaId, programId: 'prog-2025', partnerSiteId, mentorSiteListId } }) as const;
  const program = [programCreated({ partnerSites: [{ id: 'site-1', name: 'PS 321' }, { id: 'site-2', name: 'PS 29' }] })];

  it('assigns a persona to a partner site and a mentor site list', () =>
    assignment({ user: mentor('A', 'RESCREENING'), program })
      .when(assign('site-1'))
      .then({
        user: [
          {
            type: 'PersonaAssignedToSite',
            data: {
              userId: ID,
              personaId: P1,
              programId: 'prog-2025',
              partnerSiteId: 'site-1',
              mentorSiteListId: 'list-1',
              previousPartnerSiteId: null,
              previousMentorSiteListId: null,
            },
          },
        ],
      }));

  const assigned: UserEvent = {
    type: 'PersonaAssignedToSite',
    data: { userId: ID, personaId: P1, programId: 'prog-2025', partnerSiteId: 'site-1', mentorSiteListId: 'list-1', previousPartnerSiteId: null, previousMentorSiteListId: null },
  };

  it('moves a persona to another site, recording where it was', () =>
    assignment({ user: [...mentor('A', 'RESCREENING'), assigned], program })
      .when(assign('site-2', null))
      .then({
        user: [
          {
            type: 'PersonaAssignedToSite',
            data: {
              userId: ID,
              personaId: P1,
              programId: 'prog-2025',
              partnerSiteId: 'site-2',
              mentorSiteListId: null,
              previousPartnerSiteId: 'site-1',
              previousMentorSiteListId: 'list-1',
            },
          },
        ],
      }));

  it('records nothing when the persona is already there', () =>
    assignment({ user: [...mentor('A', 'RESCREENING'), assigned], program }).when(assign('site-1')).then({}));

  it('refuses a partner site the program does not have, listing its sites', () =>
    assignment({ user: mentor('A', 'RTBM'), program }).when(assign('site-9')).thenThrows('NOT_FOUND', 'PS 321 (site-1), PS 29 (site-2)'));
  it('refuses a mentor site list the program does not have', () =>
    assignment({ user: mentor('A', 'RTBM'), program }).when(assign('site-1', 'list-9')).thenThrows('NOT_FOUND', 'no mentor site list list-9'));
  it('refuses an unknown program', () => assignment({ user: mentor('A', 'RTBM') }).when(assign('site-1')).thenThrows('NOT_FOUND', 'Program prog-2025'));
  it('refuses a persona of another program', () =>
    assignment({ user: [...mentor('A', 'CLOSED'), personaCreated(ID, 2, 'MENTOR', 'RESCREENING', { kind: 'MADE_RESCREENING' }, 'prog-other')], program })
      .when(assign('site-1', 'list-1', P2))
      .thenThrows('RULE_VIOLATED', 'belongs to program prog-other'));
  it('refuses an unknown persona', () => assignment({ user: mentor('A', 'RTBM'), program }).when(assign('site-1', 'list-1', P2)).thenThrows('NOT_FOUND', P2));
  it('refuses an unknown user', () => assignment({ program }).when(assign('site-1')).thenThrows('NOT_FOUND', ID));
});

describe('evolve', () => {
  it('folds a whole history into the user state', () => {
    const state = fold(userDecider, [
      ...userIn(ID, 'MENTOR', 'AI'),
      personaCreated(ID, 1, 'MENTOR'),
      { type: 'ApplicationCompleted', data: { userId: ID } },
      statusChanged(ID, 'c1', 'AI', 'SI', true),
      statusChanged(ID, 'c2', 'SI', 'A'),
      activated(1, 'c2'),
      reverted(ID, 'r1', 'c2', 'A', 'SI'),
    ]) as User;
    expect(state.userStatus).toBe('SI');
    expect(state.applicationCompleted).toBe(true);
    expect(state.statusChanges.map((c) => [c.changeId, c.from, c.to, c.reverts, c.revertedBy])).toEqual([
      ['c1', 'AI', 'SI', null, null],
      ['c2', 'SI', 'A', null, 'r1'],
      ['r1', 'A', 'SI', 'c2', null],
    ]);
    expect(state.personas).toEqual([
      expect.objectContaining({ personaId: P1, number: 1, matchStatus: 'RTBM', personaStatus: 'ACTIVE', matchId: null }),
    ]);
  });

  it('ignores events before registration and events it does not handle', () => {
    const before = fold(userDecider, mentor('A', 'RTBM'));
    expect(userDecider.evolve(before, { type: 'MatchClosed', data: {} } as unknown as UserEvent)).toBe(before);
    expect(fold(userDecider, [statusChanged(TEEN, 'c1', 'AI', 'SI')])).toEqual({ status: 'NOT_REGISTERED' });
  });
});

describe('ErasePersonalData', () => {
  const erase = (confirm: boolean, registrationIds: readonly string[] = ['r-1']): UserCommand => ({
    type: 'ErasePersonalData',
    data: { userId: ID, registrationIds, confirm },
  });
  const erased: UserEvent = { type: 'PersonalDataErased', data: { userId: ID, subjectIds: [ID, 'match:m-1', 'registration:r-1'] } };

  it('first says what it erases, and needs confirming', () =>
    given(mentor('A', 'MATCHED')).when(erase(false)).thenThrows('CONFIRMATION_REQUIRED', 'of their 1 match(es)'));
  it('erases the user and the match and registration they took part in', () =>
    given(mentor('A', 'MATCHED')).when(erase(true)).then([erased]));
  it('refuses a second erasure', () => given([...mentor('A', 'MATCHED'), erased]).when(erase(true)).thenThrows('RULE_VIOLATED', 'already erased'));
  it('refuses an unknown user', () => given([]).when(erase(true)).thenThrows('NOT_FOUND', ID));
  it('leaves the erased user in the lifecycle: a status change still works', () => {
    const events = userDecider.decide(change('c-9', 'IW'), fold(userDecider, [...mentor('A', 'RTBM'), erased]));
    expect(events[0]).toEqual({ type: 'UserStatusChanged', data: { userId: ID, changeId: 'c-9', from: 'A', to: 'IW', automatic: false, trigger: 'MANUAL' } });
  });
  it('folds to a user whose personal fields read as erased', () => {
    const user = fold(userDecider, [...mentor('A', 'MATCHED'), erased]) as User;
    expect(user).toMatchObject({ name: '[erased]', email: '[erased]', normalizedEmail: '[erased]', company: null, manager: null, profile: {}, personalDataErased: true });
    expect(user.personas[0]!.matchStatus).toBe('MATCHED');
  });
  it('releases the address the user held in the same decision, so a new user can register it', () => {
    const user = fold(userDecider, mentor('A', 'MATCHED'));
    const command = erase(true) as ErasePersonalData;
    const released = [{ type: 'EmailAddressReleased', data: { userId: ID } }];
    expect(decideErasePersonalData(command, { user, reservation: { status: 'RESERVED', userId: ID } })).toEqual({ user: [erased], reservation: released });
    // A legacy user (id from the address) never had a reservation stream: it is made, holding a release.
    expect(decideErasePersonalData(command, { user, reservation: { status: 'NEVER_RESERVED' } }).reservation).toEqual(released);
    expect(decideErasePersonalData(command, { user, reservation: { status: 'RESERVED', userId: 'someone-else' } }).reservation).toEqual([]);
  });
});
