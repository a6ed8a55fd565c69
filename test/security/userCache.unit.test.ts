import { cachedUserDirectory, type UserDirectory } from '../../src/auth/userDirectory';

/** The cache in front of the identity provider's user lookups: its TTL, its bound, and what drops an answer. */

const counting = () => {
  const reads: string[] = [];
  let holder = 'u-1';
  let gate: Promise<void> = Promise.resolve();
  const inner: UserDirectory = {
    async userIdOfEmail(email) {
      reads.push(`email:${email}`);
      // Read first, answered later: what a slow stream read returns.
      const answer = email === 'maya@example.org' ? holder : null;
      await gate;
      return answer;
    },
    async user(userId) {
      reads.push(`user:${userId}`);
      return null;
    },
  };
  return {
    inner,
    reads,
    setHolder: (id: string) => (holder = id),
    hold: () => {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return () => {
        gate = Promise.resolve();
        release();
      };
    },
  };
};

describe('the user-lookup cache', () => {
  const clock = { now: new Date('2026-01-05T09:00:00Z') };
  const now = () => clock.now;
  const advance = (ms: number) => (clock.now = new Date(clock.now.getTime() + ms));

  it('reuses an answer until its TTL, then reads again; addresses are normalised first', async () => {
    const { inner, reads, setHolder } = counting();
    const cache = cachedUserDirectory(inner, { ttlMs: 10_000, maxEntries: 100, now });
    expect(await cache.userIdOfEmail(' Maya@Example.org ')).toBe('u-1');
    setHolder('u-2');
    advance(9_999);
    expect(await cache.userIdOfEmail('maya@example.org')).toBe('u-1');
    advance(1);
    expect(await cache.userIdOfEmail('maya@example.org')).toBe('u-2');
    expect(reads).toEqual(['email:maya@example.org', 'email:maya@example.org']);
  });

  it('keeps at most maxEntries answers, dropping the oldest', async () => {
    const { inner, reads } = counting();
    const cache = cachedUserDirectory(inner, { ttlMs: 60_000, maxEntries: 2, now });
    for (const id of ['a', 'b', 'c']) await cache.user(id);
    await cache.user('c');
    await cache.user('b');
    await cache.user('a');
    expect(reads).toEqual(['user:a', 'user:b', 'user:c', 'user:a']);
  });

  it('drops what a write to a user or an address reservation may have changed, and never stores an answer read before the write', async () => {
    const { inner, reads, setHolder, hold } = counting();
    const cache = cachedUserDirectory(inner, { ttlMs: 60_000, maxEntries: 100, now });
    await cache.user('u-1');
    await cache.userIdOfEmail('maya@example.org');
    cache.streamsChanged(['program-p1']);
    await cache.user('u-1');
    expect(reads).toHaveLength(2);
    cache.streamsChanged(['user-u-1']);
    await cache.user('u-1');
    await cache.userIdOfEmail('maya@example.org');
    expect(reads).toHaveLength(4);
    cache.streamsChanged(['email-3f2a']);
    await cache.user('u-1');
    await cache.userIdOfEmail('maya@example.org');
    expect(reads).toHaveLength(5);

    // A lookup in flight while the address moves: its (older) answer is returned but not kept.
    cache.streamsChanged(['email-3f2a']);
    const release = hold();
    const inFlight = cache.userIdOfEmail('maya@example.org');
    setHolder('u-9');
    cache.streamsChanged(['email-3f2a']);
    release();
    expect(await inFlight).toBe('u-1');
    expect(await cache.userIdOfEmail('maya@example.org')).toBe('u-9');
  });
});
