import { EMAIL_RESERVATION_STREAM_PREFIX, addressHolder, emailReservationDecider, type EmailReservationEvent } from '../domain/user/emailReservation';
import { userDecider, type UserState } from '../domain/user/user';
import { normalizeEmail, userIdForEmail } from '../domain/user/userId';
import { userStream } from '../domain/streams';
import type { EventStore } from '../eventstore/eventStore';
import type { EmailStreams } from '../identity/emailStreams';

const USER_STREAM_PREFIX = userStream('');

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

export interface UserCacheOptions {
  /** How long an answer is reused; a change made on another instance (or outside the app) is seen within it. */
  readonly ttlMs: number;
  /** Most answers kept per kind (addresses, users); the oldest goes first. */
  readonly maxEntries: number;
  readonly now: () => Date;
}

/** A directory that can be told a user or the address reservations changed (by this instance's own writes). */
export interface CachedUserDirectory extends UserDirectory {
  /** Events were appended to these streams: forget what they may have changed. */
  streamsChanged(streamIds: Iterable<string>): void;
}

/** A bounded map whose entries expire; insertion order is age order, so the first key is the oldest. */
class ExpiringMap<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly expiresAt: number }>();

  constructor(private readonly options: UserCacheOptions) {}

  get(key: string): { value: V } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.options.now().getTime()) {
      this.entries.delete(key);
      return undefined;
    }
    return { value: entry.value };
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.options.now().getTime() + this.options.ttlMs });
    while (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * The directory with each answer kept for a short time, so a participant's requests do not each
 * read one or two streams. Only the lookups are cached: the verifier still compares the user the
 * token's claim maps to with any `userId` it names, and checks status and role, on every request.
 *
 * This instance's own writes to a user or an address reservation drop the answers they touch at once
 * (`streamsChanged`, from the command pipeline); another instance's writes are seen within the TTL.
 * A lookup that started before such a drop does not store its (possibly older) answer.
 */
export const cachedUserDirectory = (inner: UserDirectory, options: UserCacheOptions): CachedUserDirectory => {
  const users = new ExpiringMap<Awaited<ReturnType<UserDirectory['user']>>>(options);
  const emails = new ExpiringMap<string | null>(options);
  let generation = 0;
  const cached = async <V>(map: ExpiringMap<V>, key: string, read: () => Promise<V>): Promise<V> => {
    const hit = map.get(key);
    if (hit) return hit.value;
    const started = generation;
    const value = await read();
    if (generation === started) map.set(key, value);
    return value;
  };
  return {
    user: (userId) => cached(users, userId, () => inner.user(userId)),
    userIdOfEmail: (email) => {
      const normalized = normalizeEmail(email);
      return cached(emails, normalized, () => inner.userIdOfEmail(normalized));
    },
    streamsChanged(streamIds) {
      for (const streamId of streamIds) {
        if (streamId.startsWith(USER_STREAM_PREFIX)) {
          generation += 1;
          users.delete(streamId.slice(USER_STREAM_PREFIX.length));
          // A new user, an address changed or released: which address names whom may have changed.
          emails.clear();
        } else if (streamId.startsWith(EMAIL_RESERVATION_STREAM_PREFIX)) {
          generation += 1;
          emails.clear();
        }
      }
    },
  };
};
