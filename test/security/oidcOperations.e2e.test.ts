import { randomUUID } from 'node:crypto';
import { LifecycleCommands } from '../../src/application/lifecycleCommands';
import { addressPseudonym } from '../../src/auth/revocations';
import { CommandPipeline } from '../../src/commands/pipeline';
import { mintToken } from '../../src/graphql/auth';
import { loadEmailStreams } from '../../src/identity/emailStreams';
import { announcePostgresSkip, sqlBackends, type TestDatabase } from '../support/databases';
import { JwksServer, makeKey, signJwt } from '../support/identityProvider';
import { startTestApp, type TestApp } from '../support/testApp';
import { TEST_TOKEN_SECRET } from '../support/tokens';

/**
 * What an operator of an identity-provider deployment meets (issue 16): a server with no local key
 * at all, the per-user lookups kept briefly, and an erasure reaching the token revocation list.
 * The composed server over real HTTP, a JWKS served here with keys made here.
 */

announcePostgresSkip('OIDC-only deployment, user lookups, erasure of revocations');

const ISSUER = 'https://idp.example.test/realms/mentoring';
const AUDIENCE = 'mentoring-api';
const ROLE_MAP = { 'mentoring-admins': 'admin', 'mentoring-auditors': 'auditor', mentors: 'mentor', mentees: 'mentee' };
const CACHE_SECONDS = 10;

describe.each(sqlBackends())('an identity-provider-only server on $name', ({ open }) => {
  const key = makeKey('rsa-1', 'RS256');
  const jwks = new JwksServer();
  let database: TestDatabase;
  let t: TestApp;
  let admin: string;
  let programId: string;
  let mayaId: string;
  let noahId: string;

  const nowSeconds = () => Math.floor(t.clock.now.getTime() / 1000);
  const idpToken = (overrides: Record<string, unknown> = {}) =>
    signJwt(key, {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'idp-admin-1',
      iat: nowSeconds(),
      exp: nowSeconds() + 3600,
      jti: randomUUID(),
      groups: ['mentoring-admins'],
      email: 'staff@example.org',
      email_verified: true,
      ...overrides,
    });
  const mentorToken = (overrides: Record<string, unknown> = {}) => idpToken({ sub: 'idp-maya', groups: ['mentors'], email: 'maya@example.org', ...overrides });
  const me = (token: string) => t.gql<{ me: { id: string } | null }>(`{ me { id } }`, {}, { token });

  const expectRefused = async (token: string, reason: RegExp) => {
    const response = await me(token);
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.errors?.[0]?.message).toMatch(reason);
  };
  const expectAccepted = async (token: string) => {
    const response = await me(token);
    expect(response.errors).toBeUndefined();
    expect(response.status).toBe(200);
    return response.data!.me;
  };

  const changeStatus = async (userId: string, status: string) => {
    const response = await t.gql(
      `mutation ($input: ChangeUserStatusInput!) { changeUserStatus(input: $input) { errors { code message } } }`,
      { input: { userId, status } },
      { token: admin },
    );
    expect(response.data?.changeUserStatus.errors).toEqual([]);
  };

  beforeAll(async () => {
    await jwks.start();
    jwks.published = [key];
    database = await open();
    t = await startTestApp(database, '2026-01-05T09:00:00.000Z', {
      env: {
        // No local key at all: the test harness's secret is taken away.
        AUTH_TOKEN_SECRET: '',
        OIDC_ISSUER: ISSUER,
        OIDC_AUDIENCE: AUDIENCE,
        OIDC_JWKS_URL: jwks.url,
        OIDC_ROLE_CLAIM: 'groups',
        OIDC_ROLE_MAP: JSON.stringify(ROLE_MAP),
        AUTH_MAX_TOKEN_LIFETIME: '1h',
        AUTH_USER_CACHE_SECONDS: String(CACHE_SECONDS),
        REVOCATION_POLL_MS: '200',
      },
    });
    admin = idpToken();
    const program = await t.gql(`mutation { createProgram(input: { name: "OIDC only", timeZone: "Europe/Paris" }) { program { id } } }`, {}, { token: admin });
    expect(program.errors).toBeUndefined();
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
    await t?.close();
    await jwks.stop();
  });

  test('starts without a local key and serves the provider\'s tokens; a locally signed token is refused, saying whom it trusts', async () => {
    expect(t.app.config.tokenKeys).toBeNull();
    // Staff have no user of their own here: `me` is null for them.
    expect(await expectAccepted(admin)).toBeNull();
    const local = await mintToken({ secret: TEST_TOKEN_SECRET, subject: 'alice', role: 'admin', expiresIn: '1h', now: t.clock.now });
    await expectRefused(local, /issued by "mentoring-lifecycle"; this server trusts tokens from "https:\/\/idp\.example\.test\/realms\/mentoring"\.$/);
  });

  test('one-click links are off and say so, pointing to the dashboard', async () => {
    const response = await fetch(new URL('/links?t=anything', t.http.url));
    expect(response.status).toBe(503);
    const page = await response.text();
    expect(page).toContain('Links are not available');
    expect(page).toContain('dashboard');
  });

  test('a status change forbidding sign-in made elsewhere takes effect within the cache TTL; this instance\'s own at once', async () => {
    await expectAccepted(mentorToken());
    // Another instance's write: the same command code over the same store, but not this server's pipeline.
    const elsewhere = new LifecycleCommands(new CommandPipeline(t.app.store), t.app.store, randomUUID, await loadEmailStreams(t.app.db));
    await elsewhere.changeUserStatus({ actor: { id: 'other-instance-admin', role: 'admin' }, now: t.clock.now.toISOString(), correlationId: randomUUID() }, mayaId, 'IW');
    // Within the TTL the lookup may still be the earlier one (this is the documented bound)...
    t.clock.advance((CACHE_SECONDS - 1) * 1000);
    await expectAccepted(mentorToken());
    // ...and past it the change holds.
    t.clock.advance(2000);
    await expectRefused(mentorToken(), /user .* may not sign in: their status is Inactive Withdrawn/);

    // Through this server: the cached answers are dropped with the write, no waiting.
    await changeStatus(mayaId, 'AI');
    expect(await expectAccepted(mentorToken())).toEqual({ id: mayaId });
    await changeStatus(mayaId, 'IR');
    await expectRefused(mentorToken(), /may not sign in: their status is Inactive Rejected/);
    await changeStatus(mayaId, 'AI');
    await expectAccepted(mentorToken());
  });

  test('with the lookups cached, a token still cannot name someone else\'s user id', async () => {
    await expectAccepted(mentorToken());
    await expectAccepted(idpToken({ sub: 'idp-noah', groups: ['mentees'], email: 'noah@example.org' }));
    await expectRefused(mentorToken({ userId: noahId }), /names user .* maps to another user; a token may only name its own user/);
    await expectRefused(idpToken({ sub: 'idp-noah', groups: ['mentees'], email: 'noah@example.org', userId: mayaId }), /maps to another user/);
    expect(await expectAccepted(mentorToken({ userId: mayaId }))).toEqual({ id: mayaId });
  });

  test('erasing a person pseudonymises the revocation rows naming their address, which keep refusing its tokens', async () => {
    const revoke = async (input: Record<string, unknown>) => {
      const response = await t.gql(
        `mutation ($input: RevokeTokensInput!) { revokeTokens(input: $input) { errors { code message } revocation { id } } }`,
        { input },
        { token: admin },
      );
      expect(response.data?.revokeTokens.errors).toEqual([]);
      return response.data!.revokeTokens.revocation.id as string;
    };
    t.clock.advance(5000);
    const bySubject = await revoke({ subject: 'MAYA@example.org', reason: 'maya@example.org reported a lost laptop' });
    const other = await revoke({ subject: 'someone@example.org', reason: 'unrelated' });
    t.clock.advance(5000);
    const erase = (confirm: boolean) =>
      t.gql(`mutation ($input: ErasePersonalDataInput!) { erasePersonalData(input: $input) { errors { code message } } }`, { input: { userId: mayaId, confirm } }, { token: admin });
    const rows = async () =>
      (await t.app.db.query<{ id: string; subject: string; reason: string; revoked_by: string }>(`SELECT id, subject, reason, revoked_by FROM auth_token_revocations ORDER BY seq`))
        .rows;

    // Refused (not confirmed): nothing changes here either.
    const before = await rows();
    expect((await erase(false)).data?.erasePersonalData.errors[0].code).toBe('CONFIRMATION_REQUIRED');
    expect(await rows()).toEqual(before);

    expect((await erase(true)).data?.erasePersonalData.errors).toEqual([]);
    const after = await rows();
    expect(JSON.stringify(after).toLowerCase()).not.toContain('maya@example.org');
    expect(after.find((row) => row.id === bySubject)).toMatchObject({ subject: addressPseudonym('maya@example.org'), reason: '[erased address] reported a lost laptop' });
    expect(after.find((row) => row.id === other)).toMatchObject({ subject: 'someone@example.org', reason: 'unrelated' });
    // The audit query shows the pseudonym too.
    const listed = await t.gql(`{ tokenRevocations(first: 100) { id subject reason } }`, {}, { token: admin });
    expect(listed.data!.tokenRevocations.find((row: { id: string }) => row.id === bySubject).subject).toMatch(/^erased:sha256:[0-9a-f]{64}$/);

    // Still in effect under the pseudonym: a token of that subject issued before the revocation is refused, a later one not.
    const local = t.app.services.revocations.revokedReason({ id: 'Maya@Example.org', role: 'auditor', issuedAt: new Date(t.clock.now.getTime() - 60_000) });
    expect(local).toMatch(/every token of its subject issued before/);
    expect(t.app.services.revocations.revokedReason({ id: 'Maya@Example.org', role: 'auditor', issuedAt: new Date(t.clock.now.getTime() + 1000) })).toBeNull();
  });
});
