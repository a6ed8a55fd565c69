import type { DomainEvent } from '../../eventstore/eventStore';
import { DomainError, assertNever, type Decider } from '../shared/decider';
import type { UserState } from './user';

/**
 * One stream per normalised e-mail address says which user holds it, so that uniqueness is decided
 * by the store: a registration or an e-mail change claims the address in the same atomic append as
 * its user event, with the reservation stream's expected revision, and of two concurrent claims
 * exactly one passes that check.
 *
 * The stream's name never contains the address (the log cannot be erased): it is
 * `email-<HMAC-SHA256(installation key, normalised address)>`, the key kept outside the log (see
 * src/identity/identityKey.ts). Its events carry the user id and no address.
 */

export const EMAIL_RESERVATION_STREAM_PREFIX = 'email-';

export type EmailAddressReserved = DomainEvent<'EmailAddressReserved', { readonly userId: string }>;
export type EmailAddressReleased = DomainEvent<'EmailAddressReleased', { readonly userId: string }>;
export type EmailReservationEvent = EmailAddressReserved | EmailAddressReleased;

export const EMAIL_RESERVATION_EVENT_TYPES = ['EmailAddressReserved', 'EmailAddressReleased'] as const satisfies readonly EmailReservationEvent['type'][];

export type EmailReservationState =
  /** No reservation stream: the address is free unless a legacy user holds it (`addressHolder`). */
  | { readonly status: 'NEVER_RESERVED' }
  | { readonly status: 'RESERVED'; readonly userId: string }
  /** Released by `userId`, its last holder: anyone may claim it. */
  | { readonly status: 'RELEASED'; readonly userId: string };

export type ReserveEmailAddress = { readonly type: 'ReserveEmailAddress'; readonly data: { readonly userId: string } };
export type ReleaseEmailAddress = { readonly type: 'ReleaseEmailAddress'; readonly data: { readonly userId: string } };
export type EmailReservationCommand = ReserveEmailAddress | ReleaseEmailAddress;

const evolve = (state: EmailReservationState, event: EmailReservationEvent): EmailReservationState => {
  switch (event.type) {
    case 'EmailAddressReserved':
      return { status: 'RESERVED', userId: event.data.userId };
    case 'EmailAddressReleased':
      return { status: 'RELEASED', userId: event.data.userId };
    default:
      return state;
  }
};

/**
 * The reservation stream alone: reserving an address someone holds is ALREADY_EXISTS (the code a
 * duplicate registration has always had); releasing is done only by its holder, or, for an address
 * a legacy user held without a reservation stream, by that user (`NEVER_RESERVED`).
 */
const decide = (command: EmailReservationCommand, state: EmailReservationState): EmailReservationEvent[] => {
  switch (command.type) {
    case 'ReserveEmailAddress':
      if (state.status === 'RESERVED') {
        if (state.userId === command.data.userId) return [];
        throw new DomainError('ALREADY_EXISTS', 'This e-mail address is already used by another user.', { userId: state.userId });
      }
      return [{ type: 'EmailAddressReserved', data: { userId: command.data.userId } }];
    case 'ReleaseEmailAddress':
      if (state.status === 'RELEASED') return [];
      if (state.status === 'RESERVED' && state.userId !== command.data.userId) {
        throw new DomainError('RULE_VIOLATED', `The e-mail address is held by user ${state.userId}, not ${command.data.userId}; only its holder releases it.`, {
          userId: command.data.userId,
        });
      }
      return [{ type: 'EmailAddressReleased', data: { userId: command.data.userId } }];
    default:
      return assertNever(command);
  }
};

export const emailReservationDecider: Decider<EmailReservationCommand, EmailReservationState, EmailReservationEvent> = {
  initialState: () => ({ status: 'NEVER_RESERVED' }),
  evolve,
  decide,
};

/**
 * The release a user leaving an address appends to its reservation stream: one when they hold it,
 * or when it never had a stream (a legacy user's address: the stream is made, holding the release);
 * none when someone else holds it or it is released already.
 */
export const releaseBy = (reservation: EmailReservationState, userId: string): EmailReservationEvent[] =>
  reservation.status === 'NEVER_RESERVED' || (reservation.status === 'RESERVED' && reservation.userId === userId)
    ? [{ type: 'EmailAddressReleased', data: { userId } }]
    : [];

/**
 * Who holds a normalised address, or null when it is free. The reservation stream decides once it
 * exists. Users registered before reservations existed (legacy ids: uuidv5 of their address) have
 * none: for them, the legacy stream `user-<uuidv5(address)>` holds the address while that user still
 * has it (a legacy user who changes address gets a reservation stream for the old one, with a
 * release, in the same append; so without a reservation stream the legacy user still has it).
 */
export const addressHolder = (reservation: EmailReservationState, legacyUser: UserState, normalizedEmail: string): string | null => {
  if (reservation.status === 'RESERVED') return reservation.userId;
  if (reservation.status === 'RELEASED') return null;
  return legacyUser.status === 'REGISTERED' && legacyUser.normalizedEmail === normalizedEmail ? legacyUser.userId : null;
};
