import { addressHolder, emailReservationDecider, type EmailReservationEvent } from '../domain/user/emailReservation';
import { userDecider, type UserState } from '../domain/user/user';
import { normalizeEmail, userIdForEmail } from '../domain/user/userId';
import { userStream } from '../domain/streams';
import type { EventStore } from '../eventstore/eventStore';
import type { EmailStreams } from '../identity/emailStreams';

/**
 * Who an identity provider's token is in this server's own records: the user holding an e-mail
 * address (its reservation stream, as registration and e-mail changes decide it), or a user id that
 * must exist. Read from the event store, so it is exactly what the commands see.
 */
export interface UserDirectory {
  /** The user holding this address, or null. */
  userIdOfEmail(email: string): Promise<string | null>;
  /** The user with this id, or null when there is none. */
  user(userId: string): Promise<Extract<UserState, { status: 'REGISTERED' }> | null>;
}

export const eventStoreUserDirectory = (store: EventStore, emails: EmailStreams): UserDirectory => {
  const user = async (userId: string) => {
    const { events } = await store.readStream(userStream(userId));
    let state = userDecider.initialState();
    for (const event of events) state = userDecider.evolve(state, event as Parameters<typeof userDecider.evolve>[1]);
    return state.status === 'REGISTERED' ? state : null;
  };
  return {
    user,
    async userIdOfEmail(email) {
      const normalized = normalizeEmail(email);
      const { events } = await store.readStream(emails.reservationStream(normalized));
      let reservation = emailReservationDecider.initialState();
      for (const event of events) reservation = emailReservationDecider.evolve(reservation, event as EmailReservationEvent);
      // Only users registered before reservation streams existed need their legacy stream read.
      const legacy = reservation.status === 'NEVER_RESERVED' ? ((await user(userIdForEmail(normalized))) ?? userDecider.initialState()) : userDecider.initialState();
      return addressHolder(reservation, legacy, normalized);
    },
  };
};
