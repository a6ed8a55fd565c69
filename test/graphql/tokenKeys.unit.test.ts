import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTokenCli } from '../../src/cli/token';
import { ConfigError, MISSING_KEYS_MESSAGE, OIDC_ONLY_MESSAGE, TOKEN_KEY_FILE, loadConfig, tokenKeysFromEnv, withTokenKeys } from '../../src/config';
import { verifyToken } from '../../src/graphql/auth';

const freshDir = () => mkdtempSync(join(tmpdir(), 'token-keys-'));
const longSecret = (c: string) => c.repeat(40);

describe('token keys in the configuration', () => {
  it('has no key unless one is configured (no secret in the code)', () => {
    expect(loadConfig({}).tokenKeys).toBeNull();
    expect(loadConfig({ NODE_ENV: 'development' }).tokenKeys).toBeNull();
  });

  it('reads AUTH_TOKEN_SECRET as one key and AUTH_TOKEN_KEYS as several, the first or the named one signing', () => {
    expect(tokenKeysFromEnv({ AUTH_TOKEN_SECRET: longSecret('a') })!.signing).toEqual({ kid: 'default', secret: longSecret('a') });
    const ring = tokenKeysFromEnv({ AUTH_TOKEN_KEYS: `new:${longSecret('n')}, old:${longSecret('o')}` })!;
    expect(ring.verifying.map((key) => key.kid)).toEqual(['new', 'old']);
    expect(ring.signing.kid).toBe('new');
    expect(tokenKeysFromEnv({ AUTH_TOKEN_KEYS: `new:${longSecret('n')},old:${longSecret('o')}`, AUTH_TOKEN_SIGNING_KID: 'old' })!.signing.kid).toBe('old');
  });

  it.each([
    [{ AUTH_TOKEN_SECRET: 'short' }, 'AUTH_TOKEN_SECRET must be at least 32 characters long.'],
    [{ AUTH_TOKEN_KEYS: 'nocolon' }, 'AUTH_TOKEN_KEYS entry 1 must read "<key id>:<secret>".'],
    [{ AUTH_TOKEN_KEYS: 'a:short' }, 'AUTH_TOKEN_KEYS key "a" must be at least 32 characters long.'],
    [{ AUTH_TOKEN_KEYS: `a:${longSecret('a')}`, AUTH_TOKEN_SECRET: longSecret('b') }, 'Set AUTH_TOKEN_KEYS or AUTH_TOKEN_SECRET, not both.'],
    [{ AUTH_TOKEN_SIGNING_KID: 'a' }, 'AUTH_TOKEN_SIGNING_KID names a key, but no AUTH_TOKEN_KEYS are set.'],
  ])('refuses %p', (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message));
  });

  it.each([
    ['PostgreSQL', { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x' }],
    ['KurrentDB', { EVENTSTORE_CONNECTION_STRING: 'esdb://127.0.0.1:2113?tls=false' }],
  ])('refuses to start on %s without a configured key, in one line saying what to set', (_store, env) => {
    const dataDir = freshDir();
    expect(() => withTokenKeys(loadConfig({ ...env, DATA_DIR: dataDir }))).toThrow(new ConfigError(MISSING_KEYS_MESSAGE));
    expect(MISSING_KEYS_MESSAGE).not.toContain('\n');
    expect(MISSING_KEYS_MESSAGE).toContain('AUTH_TOKEN_SECRET');
  });

  const OIDC = {
    OIDC_ISSUER: 'https://idp.example.test/realms/mentoring',
    OIDC_AUDIENCE: 'mentoring-api',
    OIDC_JWKS_URL: 'https://idp.example.test/certs',
    OIDC_ROLE_MAP: '{"mentoring-admins":"admin"}',
  };

  it.each([
    ['PostgreSQL', { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x' }],
    ['KurrentDB', { EVENTSTORE_CONNECTION_STRING: 'esdb://127.0.0.1:2113?tls=false' }],
  ])('starts on %s with an identity provider and no local key: the provider\'s tokens only, no key file made', (_store, env) => {
    const dataDir = freshDir();
    const config = withTokenKeys(loadConfig({ ...env, ...OIDC, DATA_DIR: dataDir }));
    expect(config.tokenKeys).toBeNull();
    expect(config.tokens.oidc?.issuer).toBe(OIDC.OIDC_ISSUER);
    expect(() => statSync(join(dataDir, TOKEN_KEY_FILE))).toThrow(/ENOENT/);
  });

  it('creates a random key in DATA_DIR (mode 0600) on the first embedded start and reuses it afterwards', () => {
    const dataDir = freshDir();
    const first = withTokenKeys(loadConfig({ DATA_DIR: dataDir })).tokenKeys!;
    const file = join(dataDir, TOKEN_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    expect(stored.keys).toEqual([{ kid: first.signing.kid, secret: first.signing.secret, createdAt: expect.any(String) }]);
    expect(Buffer.from(first.signing.secret, 'base64url').length).toBe(32);
    expect(withTokenKeys(loadConfig({ DATA_DIR: dataDir })).tokenKeys).toEqual(first);
    // Another install gets another key.
    expect(withTokenKeys(loadConfig({ DATA_DIR: freshDir() })).tokenKeys!.signing.secret).not.toBe(first.signing.secret);
  });

  it('says what to do with a damaged key file instead of making a new key over it', () => {
    const dataDir = freshDir();
    writeFileSync(join(dataDir, TOKEN_KEY_FILE), '{ not json', { mode: 0o600 });
    expect(() => withTokenKeys(loadConfig({ DATA_DIR: dataDir }))).toThrow(/is damaged .*delete it to make a new key/);
  });
});

describe('token CLI and the key file', () => {
  const run = async (argv: string[], env: Record<string, string>) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runTokenCli(argv, env, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('signs with the key the first embedded start created, so the README commands work', async () => {
    const dataDir = freshDir();
    const keys = withTokenKeys(loadConfig({ DATA_DIR: dataDir })).tokenKeys!;
    const { code, out, err } = await run(['--role', 'admin', '--subject', 'alice'], { DATA_DIR: dataDir });
    expect(code).toBe(0);
    expect(err).toBe('');
    await expect(verifyToken(keys, out)).resolves.toEqual({ id: 'alice', role: 'admin', expiresAt: expect.any(Date), issuedAt: expect.any(Date), subject: 'alice', issuer: 'mentoring-lifecycle', tokenId: expect.any(String), keyId: expect.any(String) });
  });

  it('says a server with only an identity provider has no key to mint with, and mints nothing', async () => {
    const { code, out, err } = await run(['--role', 'admin', '--subject', 'alice'], {
      DATA_DIR: freshDir(),
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x',
      OIDC_ISSUER: 'https://idp.example.test/realms/mentoring',
    });
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe(OIDC_ONLY_MESSAGE);
  });

  it('refuses to mint without any key, saying how to get one', async () => {
    const dataDir = freshDir();
    const { code, out, err } = await run(['--role', 'admin', '--subject', 'alice'], { DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toContain('No signing key: set AUTH_TOKEN_SECRET or AUTH_TOKEN_KEYS');
  });

  it('signs with the configured signing key and names it', async () => {
    const env = { AUTH_TOKEN_KEYS: `new:${longSecret('n')},old:${longSecret('o')}` };
    const { code, out } = await run(['--role', 'auditor', '--subject', 'ann'], env);
    expect(code).toBe(0);
    expect(JSON.parse(Buffer.from(out.split('.')[0]!, 'base64url').toString('utf8')).kid).toBe('new');
    await expect(verifyToken(tokenKeysFromEnv(env)!, out)).resolves.toEqual({ id: 'ann', role: 'auditor', expiresAt: expect.any(Date), issuedAt: expect.any(Date), subject: 'ann', issuer: 'mentoring-lifecycle', tokenId: expect.any(String), keyId: expect.any(String) });
  });
});
