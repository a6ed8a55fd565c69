import { createAuthenticator } from '../../src/auth/authenticator';
import type { TokenRevocations } from '../../src/auth/revocations';
import type { UserDirectory } from '../../src/auth/userDirectory';
import { mintToken, type AuthenticatedActor } from '../../src/graphql/auth';
import { createLogger } from '../../src/log';

/*
 * The authenticator remembers this server's tokens it verified, so a client's every request does not
 * check the signature again; a remembered token must still be refused exactly when the full check, or
 * the revocation list, would refuse it.
 */

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256-0123456789';
const ISSUED = new Date('2030-01-01T12:00:00.000Z');

const setUp = () => {
  let now = ISSUED;
  const revoked = new Set<string>();
  const revocations = {
    revokedReason: (actor: AuthenticatedActor) => (actor.tokenId !== undefined && revoked.has(actor.tokenId) ? `it was revoked (token ${actor.tokenId}).` : null),
    onChange: () => () => undefined,
    start: () => undefined,
    stop: () => undefined,
  } as unknown as TokenRevocations;
  const authenticator = createAuthenticator({
    localKeys: SECRET,
    settings: { maxLifetimeSeconds: 86_400, clockSkewSeconds: 30, oidc: null, revocationPollMs: 5000, userCache: { ttlSeconds: 0, maxEntries: 0 } },
    revocations,
    users: {} as UserDirectory,
    now: () => now,
    logger: createLogger({ level: 'silent' }),
  });
  return { authenticator, revoked, setNow: (at: Date) => (now = at) };
};

const token = (tokenId: string) => mintToken({ secret: SECRET, subject: 'alice.admin', role: 'admin', expiresIn: '1h', now: ISSUED, tokenId });

test('a remembered token is refused once it expires (past the clock skew), as the full check refuses it', async () => {
  const { authenticator, setNow } = setUp();
  const alice = await token('t-1');
  expect((await authenticator.authenticate(alice)).id).toBe('alice.admin');
  setNow(new Date(ISSUED.getTime() + 3600_000 + 20_000));
  // Past `exp` but within the skew: the full check still accepts it.
  expect((await authenticator.authenticate(alice)).id).toBe('alice.admin');
  setNow(new Date(ISSUED.getTime() + 3600_000 + 31_000));
  await expect(authenticator.authenticate(alice)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringContaining('expired') });
});

test('a remembered token is refused when the clock stands before its issue (beyond the skew)', async () => {
  const { authenticator, setNow } = setUp();
  const alice = await token('t-2');
  await authenticator.authenticate(alice);
  setNow(new Date(ISSUED.getTime() - 60_000));
  await expect(authenticator.authenticate(alice)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringContaining('"iat" check') });
});

test('a remembered token is refused once revoked', async () => {
  const { authenticator, revoked } = setUp();
  const alice = await token('t-3');
  await authenticator.authenticate(alice);
  revoked.add('t-3');
  await expect(authenticator.authenticate(alice)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringContaining('revoked') });
});

test('a token with a changed signature is not taken for a remembered one', async () => {
  const { authenticator } = setUp();
  const alice = await token('t-4');
  await authenticator.authenticate(alice);
  const last = alice.at(-2) === 'A' ? 'B' : 'A';
  const forged = `${alice.slice(0, -2)}${last}${alice.at(-1)}`;
  await expect(authenticator.authenticate(forged)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
});
