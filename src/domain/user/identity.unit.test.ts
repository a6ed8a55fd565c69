import { CrossStreamSpecification, DeciderSpecification } from '../shared/deciderSpecification';
import { MENTOR_ID as ID, userRegistered } from '../shared/testEvents';
import { emailReservationDecider, type EmailReservationEvent } from './emailReservation';
import { decideChangeUserEmail, userDecider, type ChangeUserEmail, type UserCommand, type UserEvent } from './user';
import { userIdForEmail } from './userId';

// userRegistered(ID, 'MENTOR'): mentor@example.org, Maria Mentor, Acme, manager Mia Manager <mia@acme.example>.
const given = DeciderSpecification.for(userDecider);
const change = CrossStreamSpecification.for(
  { user: userDecider, reservation: emailReservationDecider, legacyUser: userDecider, previousReservation: emailReservationDecider },
  decideChangeUserEmail,
);
const reservation = DeciderSpecification.for(emailReservationDecider);

const changeTo = (email: string, currentNormalizedEmail = 'mentor@example.org'): ChangeUserEmail => ({
  type: 'ChangeUserEmail',
  data: { userId: ID, email, currentNormalizedEmail },
});
const reserved = (userId: string): EmailReservationEvent => ({ type: 'EmailAddressReserved', data: { userId } });
const released = (userId: string): EmailReservationEvent => ({ type: 'EmailAddressReleased', data: { userId } });
const registeredAs = (userId: string, email: string): UserEvent => {
  const event = userRegistered(userId, 'MENTEE') as Extract<UserEvent, { type: 'UserRegistered' }>;
  return { ...event, data: { ...event.data, email, normalizedEmail: email.toLowerCase() } };
};

describe('ChangeUserEmail', () => {
  it('claims the new address and releases the old one (held by a reservation)', () =>
    change({ user: [userRegistered(ID, 'MENTOR')], previousReservation: [reserved(ID)] })
      .when(changeTo(' Maria.New@Example.org '))
      .then({
        user: [{ type: 'UserEmailChanged', data: { userId: ID, email: 'Maria.New@Example.org', normalizedEmail: 'maria.new@example.org', previousEmail: 'mentor@example.org' } }],
        reservation: [reserved(ID)],
        previousReservation: [released(ID)],
      }));

  it('releases a legacy user\'s old address, which had no reservation stream', () =>
    change({ user: [userRegistered(ID, 'MENTOR')] })
      .when(changeTo('maria.new@example.org'))
      .then({
        user: [{ type: 'UserEmailChanged', data: { userId: ID, email: 'maria.new@example.org', normalizedEmail: 'maria.new@example.org', previousEmail: 'mentor@example.org' } }],
        reservation: [reserved(ID)],
        previousReservation: [released(ID)],
      }));

  it('takes a released address', () =>
    change({ user: [userRegistered(ID, 'MENTOR')], reservation: [reserved('before'), released('before')], previousReservation: [reserved(ID)] })
      .when(changeTo('free@example.org'))
      .then({
        user: [{ type: 'UserEmailChanged', data: { userId: ID, email: 'free@example.org', normalizedEmail: 'free@example.org', previousEmail: 'mentor@example.org' } }],
        reservation: [reserved(ID)],
        previousReservation: [released(ID)],
      }));

  it('only respells the address when it differs in case: no reservation moves', () =>
    change({ user: [userRegistered(ID, 'MENTOR')], previousReservation: [reserved(ID)] })
      .when(changeTo('Mentor@Example.org'))
      .then({
        user: [{ type: 'UserEmailChanged', data: { userId: ID, email: 'Mentor@Example.org', normalizedEmail: 'mentor@example.org', previousEmail: 'mentor@example.org' } }],
      }));

  it('refuses an address reserved by someone else', () =>
    change({ user: [userRegistered(ID, 'MENTOR')], reservation: [reserved('other')] })
      .when(changeTo('taken@example.org'))
      .thenThrows('ALREADY_EXISTS', 'already exists'));

  it('refuses an address a legacy user still has', () =>
    change({ user: [userRegistered(ID, 'MENTOR')], legacyUser: [registeredAs(userIdForEmail('old@example.org'), 'Old@example.org')] })
      .when(changeTo('old@example.org'))
      .thenThrows('ALREADY_EXISTS', userIdForEmail('old@example.org')));

  it('refuses the address the user already has', () =>
    change({ user: [userRegistered(ID, 'MENTOR')] }).when(changeTo('mentor@example.org')).thenThrows('RULE_VIOLATED', 'Nothing to change'));

  it('refuses when the address changed since the command was built (it is built again)', () =>
    change({ user: [userRegistered(ID, 'MENTOR')] })
      .when(changeTo('new@example.org', 'someone.else@example.org'))
      .thenThrows('CONCURRENCY_CONFLICT', 'changed while', (error) => expect(error.details.emailChangedMeanwhile).toBe(true)));

  it('refuses a malformed address, or one with a control character', () => {
    change({ user: [userRegistered(ID, 'MENTOR')] }).when(changeTo('maria at example')).thenThrows('VALIDATION_FAILED', 'not an e-mail');
    change({ user: [userRegistered(ID, 'MENTOR')] }).when(changeTo('ma\u0000ria@example.org')).thenThrows('VALIDATION_FAILED', 'control characters');
  });

  it('refuses an unknown user', () => change({}).when(changeTo('new@example.org')).thenThrows('NOT_FOUND', ID));

  it('folds: the user has the new address', () => {
    const state = [
      userRegistered(ID, 'MENTOR'),
      { type: 'UserEmailChanged', data: { userId: ID, email: 'New@example.org', normalizedEmail: 'new@example.org', previousEmail: 'mentor@example.org' } } as UserEvent,
    ].reduce(userDecider.evolve, userDecider.initialState());
    expect(state).toMatchObject({ email: 'New@example.org', normalizedEmail: 'new@example.org' });
  });
});

describe('UpdateUserProfile', () => {
  const update = (data: Omit<Extract<UserCommand, { type: 'UpdateUserProfile' }>['data'], 'userId'>): UserCommand => ({
    type: 'UpdateUserProfile',
    data: { userId: ID, ...data },
  });

  it('records only the fields that change', () =>
    given([userRegistered(ID, 'MENTOR')])
      .when(update({ name: ' Maria Rivera ', company: 'Acme', managerEmail: 'mia.new@acme.example' }))
      .then([{ type: 'UserProfileUpdated', data: { userId: ID, name: 'Maria Rivera', managerEmail: 'mia.new@acme.example' } }]));

  it('clears company and manager with null', () =>
    given([userRegistered(ID, 'MENTOR')])
      .when(update({ company: null, managerName: null, managerEmail: null }))
      .then([{ type: 'UserProfileUpdated', data: { userId: ID, company: null, managerName: null, managerEmail: null } }]));

  it('sets a first manager only with both name and e-mail', () => {
    given([userRegistered(ID, 'MENTEE')]).when(update({ managerName: 'Bo' })).thenThrows('VALIDATION_FAILED', 'both a name and an e-mail');
    given([userRegistered(ID, 'MENTEE')])
      .when(update({ managerName: 'Bo', managerEmail: 'bo@example.org' }))
      .then([{ type: 'UserProfileUpdated', data: { userId: ID, managerName: 'Bo', managerEmail: 'bo@example.org' } }]);
  });

  it('refuses removing half a manager', () =>
    given([userRegistered(ID, 'MENTOR')]).when(update({ managerEmail: null })).thenThrows('VALIDATION_FAILED', 'set both managerName and managerEmail to null'));

  it('refuses a change to nothing, and an empty command', () => {
    given([userRegistered(ID, 'MENTOR')]).when(update({ name: 'Maria Mentor', company: 'Acme' })).thenThrows('RULE_VIOLATED', 'Nothing to change');
    given([userRegistered(ID, 'MENTOR')]).when(update({})).thenThrows('VALIDATION_FAILED', 'at least one');
  });

  it('refuses bad values', () => {
    given([userRegistered(ID, 'MENTOR')]).when(update({ name: '   ' })).thenThrows('VALIDATION_FAILED', 'Name must not be empty');
    given([userRegistered(ID, 'MENTOR')]).when(update({ name: 'x'.repeat(201) })).thenThrows('VALIDATION_FAILED', 'at most 200');
    given([userRegistered(ID, 'MENTOR')]).when(update({ company: 'Ac\u0000me' })).thenThrows('VALIDATION_FAILED', 'control characters');
    given([userRegistered(ID, 'MENTOR')]).when(update({ managerEmail: 'mia' })).thenThrows('VALIDATION_FAILED', 'Manager e-mail');
  });

  it('folds: name, company and manager as corrected', () => {
    const state = [
      userRegistered(ID, 'MENTOR'),
      { type: 'UserProfileUpdated', data: { userId: ID, name: 'Maria Rivera', managerEmail: 'mia.new@acme.example' } } as UserEvent,
      { type: 'UserProfileUpdated', data: { userId: ID, company: null } } as UserEvent,
    ].reduce(userDecider.evolve, userDecider.initialState());
    expect(state).toMatchObject({ name: 'Maria Rivera', company: null, manager: { name: 'Mia Manager', email: 'mia.new@acme.example' } });
  });
});

describe('email reservation', () => {
  it('reserves a new or released address', () => {
    reservation([]).when({ type: 'ReserveEmailAddress', data: { userId: 'u1' } }).then([reserved('u1')]);
    reservation([reserved('u0'), released('u0')]).when({ type: 'ReserveEmailAddress', data: { userId: 'u1' } }).then([reserved('u1')]);
  });
  it('refuses an address someone holds', () =>
    reservation([reserved('u0')]).when({ type: 'ReserveEmailAddress', data: { userId: 'u1' } }).thenThrows('ALREADY_EXISTS'));
  it('is released by its holder only', () => {
    reservation([reserved('u0')]).when({ type: 'ReleaseEmailAddress', data: { userId: 'u0' } }).then([released('u0')]);
    reservation([reserved('u0')]).when({ type: 'ReleaseEmailAddress', data: { userId: 'u1' } }).thenThrows('RULE_VIOLATED', 'only its holder');
  });
});
