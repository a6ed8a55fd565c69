import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { mintToken, type TokenRole } from '../../src/graphql/auth';
import { TOKEN_REVOKED_CLOSE_CODE } from '../../src/http/server';
import { announcePostgresSkip, sqlBackends, type TestDatabase } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';
import { JwksServer, makeKey, segment, signJwt } from '../support/identityProvider';

/**
 * Tokens from an identity provider (OIDC) and the revocation list, against the composed server: a
 * JWKS served over real HTTP by this test, keys made here, a real graphql-ws client for sockets.
 */

announcePostgresSkip('OIDC tokens and revocation');

const ISSUER = 'https://idp.example.test/realms/mentoring';
const AUDIENCE = 'mentoring-api';
const ROLE_MAP = { 'mentoring-admins': 'admin', 'mentoring-auditors': 'auditor', mentors: 'mentor', mentees: 'mentee', 'team-leads': 'manager' };

describe.each(sqlBackends())('identity-provider tokens and revocation on $name', ({ open }) => {
  const rsa = makeKey('rsa-1', 'RS256');
  const ec = makeKey('ec-1', 'ES256');
  const jwks = new JwksServer();
  let database: TestDatabase;
  let t: TestApp;
  let admin: string;
  let programId: string;
  let mayaId: string;
  let noahId: string;
  const clients: Client[] = [];

  const nowSeconds = () => Math.floor(t.clock.now.getTime() / 1000);

  /** Claims of a valid token (one hour, issued now by the test clock), with `overrides`. */
  const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: ISSUER,
    aud: [AUDIENCE, 'account'],
    sub: 'idp-subject-1',
    iat: nowSeconds(),
    exp: nowSeconds() + 3600,
    jti: randomUUID(),
    groups: ['mentoring-admins'],
    email: 'staff@example.org',
    email_verified: true,
    ...overrides,
  });

  const localToken = (role: TokenRole, subject: string, extra: { expiresIn?: string; audience?: string } = {}) =>
    mintToken({ secret: t.app.config.tokenKeys!, subject, role, expiresIn: extra.expiresIn ?? '1h', now: t.clock.now, ...(extra.audience ? { audience: extra.audience } : {}) });

  const me = (token: string) => t.gql(`{ me { id } }`, {}, { token });
  const revocations = (token: string) => t.gql(`{ tokenRevocations(first: 100) { id kind tokenId subject issuedBefore revokedAt revokedBy { id role } reason } }`, {}, { token });

  /** The refusal's message, asserting it is an UNAUTHENTICATED 401. */
  const refusal = async (token: string): Promise<string> => {
    const response = await revocations(token);
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    return response.errors![0]!.message;
  };
  const accepted = async (token: string) => {
    const response = await revocations(token);
    expect(response.errors).toBeUndefined();
    expect(response.status).toBe(200);
  };

  beforeAll(async () => {
    await jwks.start();
    jwks.published = [rsa, ec];
    database = await open();
    t = await startTestApp(database, '2026-01-05T09:00:00.000Z', {
      env: {
        OIDC_ISSUER: ISSUER,
        OIDC_AUDIENCE: AUDIENCE,
        OIDC_JWKS_URL: jwks.url,
        OIDC_ROLE_CLAIM: 'groups',
        OIDC_ROLE_MAP: JSON.stringify(ROLE_MAP),
        OIDC_USER_CLAIM: 'email',
        OIDC_JWKS_REFRESH: '10m',
        OIDC_JWKS_MIN_REFETCH_SECONDS: '60',
        AUTH_MAX_TOKEN_LIFETIME: '1h',
        AUTH_CLOCK_SKEW_SECONDS: '30',
        REVOCATION_POLL_MS: '200',
      },
    });
    admin = await localToken('admin', 'alice.admin');
    const program = await t.gql(`mutation { createProgram(input: { name: "OIDC", timeZone: "Europe/Paris" }) { program { id } } }`, {}, { token: admin });
    programId = program.data!.createProgram.program.id;
    const register = async (email: string, role: 'MENTOR' | 'MENTEE') => {
      const response = await t.gql(
        `mutation ($input: RegisterUserInput!) { registerUser(input: $input) { errors { code message } user { id } } }`,
        { input: { programId, email, name: email.split('@')[0], role } },
        { token: admin },
      );
      expect(response.data!.registerUser.errors).toEqual([]);
      return response.data!.registerUser.user.id as string;
    };
    mayaId = await register('Maya@Example.org', 'MENTOR');
    noahId = await register('noah@example.org', 'MENTEE');
  });

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await t?.close();
    await jwks.stop();
  });

  test('RS256 and ES256 tokens of the provider are accepted, with the role its group maps to', async () => {
    await accepted(signJwt(rsa, claims()));
    await accepted(signJwt(ec, claims()));
    await accepted(signJwt(ec, claims({ groups: ['other-app', 'mentoring-auditors'] })));
    // A mentee's group gives no right to the auditors' query: the mapped role is what counts.
    const mentee = await t.gql(`{ tokenRevocations { id } }`, {}, { token: signJwt(rsa, claims({ groups: ['mentees'], email: 'noah@example.org' })) });
    expect(mentee.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await refusal(signJwt(rsa, claims({ groups: ['somebody-else'] })))).toMatch(/"groups" claim gives no role/);
    expect(await refusal(signJwt(rsa, claims({ groups: undefined })))).toMatch(/gives no role/);
  });

  test('the header cannot choose how a token is verified: none, HS256, the wrong key type and unknown kids are refused', async () => {
    const unsigned = `${segment({ alg: 'none', typ: 'JWT', kid: 'rsa-1' })}.${segment(claims())}.`;
    expect(await refusal(unsigned)).toMatch(/not a JWT|signed with "none"/);
    const hs = `${segment({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' })}.${segment(claims())}.${Buffer.alloc(32).toString('base64url')}`;
    expect(await refusal(hs)).toMatch(/signed with "HS256"; tokens of the identity provider must be signed with RS256 or ES256/);
    // An ES256 header naming the RSA key: refused before any signature check.
    expect(await refusal(signJwt(ec, claims(), { kid: 'rsa-1' }))).toMatch(/says ES256, but the key "rsa-1" is for RS256/);
    // Signed by another key under a published kid.
    const impostor = makeKey('ec-1', 'ES256');
    expect(await refusal(signJwt(impostor, claims()))).toMatch(/signature does not match/);
    expect(await refusal(signJwt(rsa, claims(), { kid: undefined }))).toMatch(/does not name its signing key/);
    expect(await refusal(signJwt(rsa, claims({ iss: 'https://evil.example' })))).toMatch(/issued by "https:\/\/evil.example"; this server trusts tokens from/);
  });

  test('each claim check refuses with its own reason; the skew is allowed', async () => {
    const now = nowSeconds();
    expect(await refusal(signJwt(rsa, claims({ aud: 'another-api' })))).toMatch(/meant for \["another-api"\] \("aud" check\)/);
    expect(await refusal(signJwt(rsa, claims({ aud: undefined })))).toMatch(/names no audience/);
    expect(await refusal(signJwt(rsa, claims({ nbf: now + 120 })))).toMatch(/not valid before .* \("nbf" check\)/);
    await accepted(signJwt(rsa, claims({ nbf: now + 20 })));
    expect(await refusal(signJwt(rsa, claims({ iat: now + 120, exp: now + 1800 })))).toMatch(/"iat" check, 30 s of skew allowed/);
    await accepted(signJwt(rsa, claims({ iat: now + 20 })));
    expect(await refusal(signJwt(rsa, claims({ iat: now, exp: now + 7200 })))).toMatch(/valid for 7200 s .* longer than the 3600 s .* \(lifetime check\)/);
    expect(await refusal(signJwt(rsa, claims({ iat: now - 3000, exp: now - 60 })))).toMatch(/expired at .* \("exp" check\)/);
    await accepted(signJwt(rsa, claims({ iat: now - 3000, exp: now - 20 })));
    expect(await refusal(signJwt(rsa, claims({ exp: undefined })))).toMatch(/no expiry/);
    expect(await refusal(signJwt(rsa, claims({ iat: undefined })))).toMatch(/"iat" claim/);
  });

  test('the same checks hold for this server\'s own tokens', async () => {
    expect(await refusal(await localToken('admin', 'alice.admin', { expiresIn: '2h' }))).toMatch(/longer than the 3600 s/);
    expect(await refusal(await localToken('admin', 'alice.admin', { audience: 'another-api' }))).toMatch(/"aud" check/);
    const ahead = await mintToken({ secret: t.app.config.tokenKeys!, subject: 'alice', role: 'admin', expiresIn: '30m', now: new Date(t.clock.now.getTime() + 600_000) });
    expect(await refusal(ahead)).toMatch(/"iat" check/);
    await accepted(admin);
  });

  test('a participant is the user our records give for the e-mail; a token cannot name someone else', async () => {
    const maya = signJwt(rsa, claims({ sub: 'idp-maya', groups: ['mentors'], email: 'maya@example.org' }));
    const answer = await me(maya);
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.me.id).toBe(mayaId);
    // Naming its own user is fine; naming another user is refused, whoever it is.
    expect((await me(signJwt(rsa, claims({ sub: 'idp-maya', groups: ['mentors'], email: 'maya@example.org', userId: mayaId })))).data!.me.id).toBe(mayaId);
    expect(await refusal(signJwt(rsa, claims({ sub: 'idp-maya', groups: ['mentors'], email: 'maya@example.org', userId: noahId })))).toMatch(
      /names user .* maps to another user/,
    );
    // Staff tokens may not smuggle a user id either.
    expect(await refusal(signJwt(rsa, claims({ userId: noahId })))).toMatch(/names user .* maps to no user/);
    expect(await refusal(signJwt(rsa, claims({ groups: ['mentors'], email: 'stranger@example.org' })))).toMatch(/names no user of this server/);
    expect(await refusal(signJwt(rsa, claims({ groups: ['mentors'], email: 'noah@example.org' })))).toMatch(/does not take part as a mentor/);
    expect(await refusal(signJwt(rsa, claims({ groups: ['mentors'], email: 'maya@example.org', email_verified: false })))).toMatch(/not verified/);
    expect(await refusal(signJwt(rsa, claims({ groups: ['mentors'], email: undefined })))).toMatch(/has no "email" claim/);
    // A manager is known by a verified e-mail; staff by their subject, whatever their address.
    const programs = (token: string) => t.gql(`{ programs { id } }`, {}, { token });
    expect((await programs(signJwt(rsa, claims({ groups: ['team-leads'], email: 'lead@example.org' })))).errors).toBeUndefined();
    const unverifiedManager = await programs(signJwt(rsa, claims({ groups: ['team-leads'], email: 'lead@example.org', email_verified: false })));
    expect(unverifiedManager.errors?.[0]?.message).toMatch(/not verified/);
    await accepted(signJwt(rsa, claims({ email_verified: false })));
  });

  test('key rotation: a new kid is fetched on first sight (rate-limited); a withdrawn kid stops verifying', async () => {
    await accepted(signJwt(rsa, claims()));
    // The last fetch was under a minute ago (by the server's clock): move past the refetch limit.
    t.clock.advance(61_000);
    const before = jwks.fetches;
    const rsa2 = makeKey('rsa-2', 'RS256');
    jwks.published = [rsa, rsa2, ec];
    await accepted(signJwt(rsa2, claims()));
    expect(jwks.fetches).toBe(before + 1);

    // Within a minute of that fetch, another unknown kid does not fetch again: it is refused.
    const rsa3 = makeKey('rsa-3', 'RS256');
    jwks.published = [rsa2, rsa3, ec];
    expect(await refusal(signJwt(rsa3, claims()))).toMatch(/"rsa-3", which the identity provider does not publish/);
    expect(await refusal(signJwt(makeKey('made-up', 'RS256'), claims()))).toMatch(/does not publish/);
    expect(jwks.fetches).toBe(before + 1);
    // rsa-1 was withdrawn, but the cache has not been refreshed yet.
    await accepted(signJwt(rsa, claims()));

    t.clock.advance(61_000);
    await accepted(signJwt(rsa3, claims()));
    expect(jwks.fetches).toBe(before + 2);
    // That fetch dropped rsa-1: its tokens are refused from now on.
    expect(await refusal(signJwt(rsa, claims()))).toMatch(/"rsa-1", which the identity provider does not publish \(withdrawn/);

    // The periodic refresh (10 minutes) also picks up a withdrawal without an unknown kid asking.
    jwks.published = [rsa3, ec];
    t.clock.advance(10 * 60_000 + 1000);
    expect(await refusal(signJwt(rsa2, claims()))).toMatch(/"rsa-2", which the identity provider does not publish/);
    jwks.published = [rsa, ec];
    t.clock.advance(10 * 60_000 + 1000);
    await accepted(signJwt(rsa, claims()));
  });

  test('revocation by token id and by subject over HTTP, recorded with who, when and why', async () => {
    const jti = randomUUID();
    const revoked = signJwt(ec, claims({ jti, sub: 'idp-carol', groups: ['mentoring-auditors'] }));
    const sibling = signJwt(ec, claims({ sub: 'idp-carol', groups: ['mentoring-auditors'] }));
    await accepted(revoked);
    const revoke = (input: Record<string, unknown>, token = admin) =>
      t.gql(`mutation ($input: RevokeTokensInput!) { revokeTokens(input: $input) { errors { code message field } revocation { id kind tokenId subject issuedBefore revokedBy { id role } reason } } }`, { input }, { token });

    const count = async () => (await revocations(admin)).data!.tokenRevocations.length as number;
    const before = await count();
    // Bad input: a clear refusal, nothing recorded.
    expect((await revoke({ reason: 'nothing named' })).data!.revokeTokens.errors[0]).toMatchObject({ code: 'VALIDATION_FAILED', field: 'tokenId' });
    expect((await revoke({ tokenId: jti, subject: 'idp-carol', reason: 'both' })).data!.revokeTokens.errors[0]).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await revoke({ subject: 'idp-carol', issuedBefore: '2030-01-01T00:00:00Z', reason: 'future' })).data!.revokeTokens.errors[0]).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'issuedBefore',
    });
    // A NUL character is stopped at the gate, before the resolver.
    const nul = await revoke({ tokenId: jti, reason: 'x\u0000y' });
    expect(nul.errors?.[0]?.extensions?.code ?? nul.data?.revokeTokens.errors[0].code).toBe('VALIDATION_FAILED');
    const auditorTry = await revoke({ tokenId: jti, reason: 'not mine to do' }, sibling);
    expect(auditorTry.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await count()).toBe(before);

    const byId = await revoke({ tokenId: jti, reason: 'laptop stolen' });
    expect(byId.data!.revokeTokens).toMatchObject({ errors: [], revocation: { kind: 'TOKEN', tokenId: jti, revokedBy: { id: 'alice.admin', role: 'admin' }, reason: 'laptop stolen' } });
    expect(await refusal(revoked)).toMatch(/it was revoked \(token/);
    await accepted(sibling);

    // By subject: every token issued before now; one issued afterwards is accepted.
    const localAuditor = await localToken('auditor', 'dave.auditor');
    await accepted(localAuditor);
    expect((await revoke({ subject: 'idp-carol', reason: 'left the organisation' })).data!.revokeTokens.errors).toEqual([]);
    expect((await revoke({ subject: 'dave.auditor', reason: 'left the organisation' })).data!.revokeTokens.errors).toEqual([]);
    expect(await refusal(sibling)).toMatch(/every token of its subject issued before/);
    expect(await refusal(localAuditor)).toMatch(/every token of its subject issued before/);
    t.clock.advance(2000);
    await accepted(signJwt(ec, claims({ sub: 'idp-carol', groups: ['mentoring-auditors'] })));
    await accepted(await localToken('auditor', 'dave.auditor'));

    const audit = (await revocations(admin)).data!.tokenRevocations;
    expect(audit.slice(0, 3)).toMatchObject([
      { kind: 'SUBJECT', subject: 'dave.auditor', reason: 'left the organisation', revokedBy: { id: 'alice.admin' } },
      { kind: 'SUBJECT', subject: 'idp-carol' },
      { kind: 'TOKEN', tokenId: jti, reason: 'laptop stolen' },
    ]);
    // The exports (plain HTTP) apply the same list.
    const csv = await fetch(`${t.http.url}/exports/matches.csv?programId=${programId}`, { headers: { authorization: `Bearer ${sibling}` } });
    expect(csv.status).toBe(401);
  });

  const connect = (url: string, token: string) => {
    const client = createClient({ url: url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0, lazy: true });
    clients.push(client);
    return client;
  };

  /** Subscribes and resolves with how the socket ended (close code and reason). */
  const openSubscription = async (client: Client) => {
    let connected!: () => void;
    const isConnected = new Promise<void>((resolve) => (connected = resolve));
    client.on('connected', () => connected());
    const ended = new Promise<{ code: number; reason: string }>((resolve, reject) => {
      client.subscribe(
        { query: `subscription { events { id type } }` },
        {
          next: () => undefined,
          error: (error) => resolve(error as { code: number; reason: string }),
          complete: () => reject(new Error('the subscription completed instead of being closed')),
        },
      );
    });
    await isConnected;
    return ended;
  };

  test('an open socket closes with 4403 when its token is revoked, on this instance and on another one', async () => {
    const revoke = (input: Record<string, unknown>) =>
      t.gql(`mutation ($input: RevokeTokensInput!) { revokeTokens(input: $input) { errors { code } } }`, { input }, { token: admin });

    // Revoked here: closed at once.
    const jti = randomUUID();
    const here = openSubscription(connect(t.http.url, signJwt(rsa, claims({ jti, sub: 'idp-erin', groups: ['mentoring-auditors'] }))));
    const untouched = openSubscription(connect(t.http.url, signJwt(rsa, claims({ sub: 'idp-frank', groups: ['mentoring-auditors'] }))));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const revokedAt = Date.now();
    expect((await revoke({ tokenId: jti, reason: 'session ended by admin' })).data!.revokeTokens.errors).toEqual([]);
    await expect(here).resolves.toMatchObject({ code: TOKEN_REVOKED_CLOSE_CODE, reason: 'Token revoked' });
    expect(Date.now() - revokedAt).toBeLessThan(2000);

    // A second instance on the same database sees the revocation when it next reads the list (every 200 ms here).
    const other = await startTestApp({ db: database.db, close: async () => undefined }, t.clock.now.toISOString(), {
      env: {
        OIDC_ISSUER: ISSUER,
        OIDC_AUDIENCE: AUDIENCE,
        OIDC_JWKS_URL: jwks.url,
        OIDC_ROLE_CLAIM: 'groups',
        OIDC_ROLE_MAP: JSON.stringify(ROLE_MAP),
        AUTH_MAX_TOKEN_LIFETIME: '1h',
        REVOCATION_POLL_MS: '200',
        // Fetched every second even when no token asks, so a withdrawn key ends its sockets quickly.
        OIDC_JWKS_REFRESH: '1',
      },
    });
    try {
      // A key the provider withdraws ends the sockets its tokens opened.
      const temporary = makeKey('rsa-temporary', 'RS256');
      jwks.published = [...jwks.published, temporary];
      const byWithdrawnKey = openSubscription(connect(other.http.url, signJwt(temporary, claims({ sub: 'idp-hal', groups: ['mentoring-auditors'] }))));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const withdrawnAt = Date.now();
      jwks.published = jwks.published.filter((key) => key !== temporary);
      await expect(byWithdrawnKey).resolves.toMatchObject({ code: TOKEN_REVOKED_CLOSE_CODE });
      expect(Date.now() - withdrawnAt).toBeLessThan(3000);

      const there = openSubscription(connect(other.http.url, await localToken('auditor', 'gina.auditor')));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const subjectRevokedAt = Date.now();
      t.clock.advance(1000);
      expect((await revoke({ subject: 'gina.auditor', reason: 'account closed' })).data!.revokeTokens.errors).toEqual([]);
      await expect(there).resolves.toMatchObject({ code: TOKEN_REVOKED_CLOSE_CODE });
      expect(Date.now() - subjectRevokedAt).toBeLessThan(3000);
      // And HTTP on that instance refuses the token too.
      const response = await other.gql(`{ tokenRevocations { id } }`, {}, { token: await mintToken({ secret: t.app.config.tokenKeys!, subject: 'gina.auditor', role: 'auditor', expiresIn: '1h', now: new Date(t.clock.now.getTime() - 5000) }) });
      expect(response.errors?.[0]?.message).toMatch(/every token of its subject issued before/);
    } finally {
      await other.app.stop();
    }

    // The socket nobody revoked is still open.
    const still = await Promise.race([untouched.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('open'), 300))]);
    expect(still).toBe('open');
  });
});
