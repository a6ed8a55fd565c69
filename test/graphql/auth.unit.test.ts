import { createHmac } from 'node:crypto';
import { DomainError } from '../../src/domain/shared/decider';
import { bearerToken, keyRing, mintToken, parseDuration, verifyToken } from '../../src/graphql/auth';
import { TEST_TOKEN_SECRET } from '../support/tokens';

const secret = TEST_TOKEN_SECRET;
const now = new Date('2030-01-01T00:00:00Z');
const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const signed = (header: object, claims: object, key = secret) => {
  const input = `${segment(header)}.${segment(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
};
const validClaims = { iss: 'mentoring-lifecycle', sub: 'alice', role: 'admin', iat: now.getTime() / 1000, exp: now.getTime() / 1000 + 60 };

const refusal = async (token: string): Promise<DomainError> => {
  try {
    await verifyToken(secret, token, { now });
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('UNAUTHENTICATED');
    return error as DomainError;
  }
  throw new Error('the token was accepted');
};

describe('tokens', () => {
  it('round-trip subject, role, user id and name', async () => {
    const token = await mintToken({ secret, subject: 'bob', role: 'mentor', userId: 'user-7', name: 'Bob', expiresIn: '12h', now });
    await expect(verifyToken(secret, token, { now })).resolves.toEqual({ id: 'bob', role: 'mentor', userId: 'user-7', name: 'Bob', expiresAt: expect.any(Date), issuedAt: expect.any(Date), subject: 'bob', issuer: 'mentoring-lifecycle', tokenId: expect.any(String) });
  });

  it('expire after their lifetime', async () => {
    const token = await mintToken({ secret, subject: 'bob', role: 'mentor', expiresIn: '30m', now });
    await expect(verifyToken(secret, token, { now: new Date(now.getTime() + 29 * 60_000) })).resolves.toMatchObject({ id: 'bob' });
    await expect(verifyToken(secret, token, { now: new Date(now.getTime() + 31 * 60_000) })).rejects.toThrow(
      'The bearer token was refused: it expired at 2030-01-01T00:30:00.000Z ("exp" check). Get a new one.',
    );
  });

  it.each([
    ['alg none', () => `${segment({ alg: 'none' })}.${segment(validClaims)}.c2ln`, 'it is signed with "none"; only HS256'],
    ['an RS256 header', () => signed({ alg: 'RS256' }, validClaims), 'it is signed with "RS256"'],
    ['another secret', () => signed({ alg: 'HS256' }, validClaims, 'y'.repeat(32)), 'its signature does not match'],
    ['a tampered payload', () => {
      const [h, , s] = signed({ alg: 'HS256' }, validClaims).split('.');
      return `${h}.${segment({ ...validClaims, role: 'admin', sub: 'mallory' })}.${s}`;
    }, 'its signature does not match'],
    ['no expiry', () => signed({ alg: 'HS256' }, { ...validClaims, exp: undefined }), 'it has no expiry'],
    ['another issuer', () => signed({ alg: 'HS256' }, { ...validClaims, iss: 'elsewhere' }), 'it was issued by "elsewhere"'],
    ['the system role', () => signed({ alg: 'HS256' }, { ...validClaims, role: 'system' }), 'reserved for automatic moves'],
    ['an unknown role', () => signed({ alg: 'HS256' }, { ...validClaims, role: 'root' }), 'its role "root" is not one of admin, coordinator'],
    ['no subject', () => signed({ alg: 'HS256' }, { ...validClaims, sub: '' }), 'it names no actor'],
    ['a future nbf', () => signed({ alg: 'HS256' }, { ...validClaims, nbf: validClaims.iat + 3600 }), 'it is not valid before'],
    ['two parts', () => 'abc.def', 'it is not a JWT'],
    ['a header that is not JSON', () => `${Buffer.from('nope').toString('base64url')}.${segment(validClaims)}.c2ln`, 'its header is not base64url-encoded JSON'],
  ])('refuse %s', async (_case, make, reason) => {
    expect((await refusal(make())).message).toContain(reason);
  });

  it('refuse secrets too short to be safe', async () => {
    await expect(mintToken({ secret: 'short', subject: 'a', role: 'admin', expiresIn: 60 })).rejects.toThrow('at least 32 bytes');
  });

  it('refuse to mint the system role or a bad lifetime', async () => {
    await expect(mintToken({ secret, subject: 'a', role: 'system' as never, expiresIn: 60 })).rejects.toThrow('"system" is not one of them');
    await expect(mintToken({ secret, subject: 'a', role: 'admin', expiresIn: 'forever' })).rejects.toThrow('"forever" is not a token lifetime');
  });
});

describe('durations', () => {
  it.each([
    [90, 90], ['90', 90], ['30m', 1800], ['12h', 43200], ['7d', 604800], ['2w', 1209600],
    [0, null], [-5, null], ['0h', null], ['12x', null], ['', null], [1.5, null],
  ] as const)('%p → %p', (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });
});

describe('Authorization header', () => {
  it('is optional', () => {
    expect(bearerToken(undefined)).toBeNull();
    expect(bearerToken('  ')).toBeNull();
  });
  it('yields the bearer token, whatever the scheme case', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer   abc.def.ghi ')).toBe('abc.def.ghi');
  });
  it('refuses other schemes instead of treating the caller as anonymous', () => {
    expect(() => bearerToken('Basic YTpi')).toThrow('the Authorization header must read "Bearer <token>"');
    expect(() => bearerToken('Bearer')).toThrow(DomainError);
  });
});

describe('key ids and rotation', () => {
  const oldKey = { kid: 'k-2029', secret: 'o'.repeat(40) };
  const newKey = { kid: 'k-2030', secret: 'n'.repeat(40) };
  const header = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8'));

  it('name the signing key in the header, and verify with whichever key the header names', async () => {
    const before = keyRing([oldKey]);
    const during = keyRing([newKey, oldKey]);
    const oldToken = await mintToken({ secret: before, subject: 'bob', role: 'auditor', expiresIn: 60, now });
    const newToken = await mintToken({ secret: during, subject: 'eve', role: 'admin', expiresIn: 60, now });
    expect(header(oldToken).kid).toBe('k-2029');
    expect(header(newToken).kid).toBe('k-2030');
    await expect(verifyToken(during, oldToken, { now })).resolves.toMatchObject({ id: 'bob' });
    await expect(verifyToken(during, newToken, { now })).resolves.toMatchObject({ id: 'eve' });
  });

  it('refuse a token whose key was retired, naming the key', async () => {
    const oldToken = await mintToken({ secret: keyRing([oldKey]), subject: 'bob', role: 'auditor', expiresIn: 60, now });
    await expect(verifyToken(keyRing([newKey]), oldToken, { now })).rejects.toThrow('it names the key "k-2029", which this server does not trust');
  });

  it('refuse a token that names a trusted kid but was signed with another secret', async () => {
    const forged = signed({ alg: 'HS256', kid: 'k-2030' }, validClaims, 'f'.repeat(40));
    await expect(verifyToken(keyRing([newKey, oldKey]), forged, { now })).rejects.toThrow('its signature does not match');
  });

  it('let AUTH_TOKEN_SIGNING_KID-style choice pick the signing key', () => {
    expect(keyRing([newKey, oldKey], 'k-2029').signing).toBe(oldKey);
    expect(() => keyRing([newKey], 'k-1999')).toThrow('No key has the id "k-1999"');
    expect(() => keyRing([newKey, newKey])).toThrow('appears twice');
  });
});
