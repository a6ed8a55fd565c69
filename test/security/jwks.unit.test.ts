import { generateKeyPairSync } from 'node:crypto';
import { JwksCache, parseJwks } from '../../src/auth/jwks';
import { ConfigError, loadConfig } from '../../src/config';

const jwkOf = (kind: 'rsa' | 'rsa1024' | 'ec' | 'ec384', extra: Record<string, unknown>) => {
  const { publicKey } =
    kind === 'rsa' || kind === 'rsa1024'
      ? generateKeyPairSync('rsa', { modulusLength: kind === 'rsa' ? 2048 : 1024 })
      : generateKeyPairSync('ec', { namedCurve: kind === 'ec' ? 'P-256' : 'P-384' });
  return { ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), ...extra };
};

describe('the JWKS of an identity provider', () => {
  it('keeps only signing keys for RS256 (2048 bits or more) and ES256 (P-256) that carry a kid', () => {
    const keys = parseJwks({
      keys: [
        jwkOf('rsa', { kid: 'good-rsa', use: 'sig', alg: 'RS256' }),
        jwkOf('ec', { kid: 'good-ec' }),
        jwkOf('rsa', { kid: 'encryption', use: 'enc' }),
        jwkOf('rsa', { kid: 'claims-ps256', alg: 'PS256' }),
        jwkOf('rsa1024', { kid: 'too-short' }),
        jwkOf('ec384', { kid: 'p384' }),
        jwkOf('rsa', {}),
        { kty: 'oct', kid: 'hmac', k: 'c2VjcmV0' },
      ],
    });
    expect(keys.map((key) => [key.kid, key.alg])).toEqual([
      ['good-rsa', 'RS256'],
      ['good-ec', 'ES256'],
    ]);
  });

  it('refetches for an unknown kid at most once per interval, and keeps its keys while the provider is down', async () => {
    let now = new Date('2030-01-01T00:00:00Z');
    let calls = 0;
    let up = true;
    const document = { keys: [jwkOf('ec', { kid: 'a' })] };
    const cache = new JwksCache({
      url: 'https://idp.example/jwks',
      now: () => now,
      maxAgeMs: 600_000,
      minRefetchMs: 30_000,
      fetch: (async () => {
        calls += 1;
        if (!up) throw new Error('connection refused');
        return new Response(JSON.stringify(document));
      }) as typeof fetch,
    });
    expect((await cache.key('a'))?.alg).toBe('ES256');
    expect(await cache.key('b')).toBeNull();
    expect(calls).toBe(1);
    now = new Date(now.getTime() + 30_000);
    up = false;
    expect(await cache.key('b')).toBeNull();
    expect(calls).toBe(2);
    expect(cache.has('a')).toBe(true);
  });
});

describe('OIDC settings', () => {
  const base = { OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'api', OIDC_JWKS_URL: 'https://idp.example/jwks', OIDC_ROLE_MAP: '{"staff":"admin"}' };

  it('reads a complete provider', () => {
    expect(loadConfig(base).tokens.oidc).toMatchObject({ issuer: 'https://idp.example', roleClaim: 'roles', roleMap: [['staff', 'admin']], userClaim: 'email', userClaimKind: 'email' });
    expect(loadConfig({}).tokens).toMatchObject({ oidc: null, maxLifetimeSeconds: 86400, clockSkewSeconds: 30 });
  });

  it.each([
    [{ OIDC_AUDIENCE: undefined }, 'needs all of OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL'],
    [{ OIDC_JWKS_URL: 'http://idp.example/jwks' }, 'must use https'],
    [{ OIDC_ROLE_MAP: '{"staff":"system"}' }, 'not one of'],
    [{ OIDC_ROLE_MAP: 'staff=admin' }, 'JSON object'],
    [{ OIDC_USER_CLAIM_KIND: 'phone' }, 'email or user-id'],
    [{ AUTH_MAX_TOKEN_LIFETIME: 'forever' }, 'AUTH_MAX_TOKEN_LIFETIME must be seconds'],
  ])('refuses %p', (change, message) => {
    expect(() => loadConfig({ ...base, ...change } as NodeJS.ProcessEnv)).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...change } as NodeJS.ProcessEnv)).toThrow(message);
  });
});
