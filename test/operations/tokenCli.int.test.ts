import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenRevocations, type TokenRevocation } from '../../src/auth/revocations';
import { createLogger } from '../../src/log';
import { openPglite } from '../../src/sql/pglite';
import { openPostgres } from '../../src/sql/postgres';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { announcePostgresSkip, postgresUrl } from '../support/databases';
import { builtTree } from '../support/builtTree';

/*
 * `mentoring-token revoke` and an identity-provider-only server as an operator runs them: real
 * processes of the built tree test/operations/cli.int.test.ts also runs (test/support/builtTree.ts), on the embedded store and
 * on PostgreSQL (a schema of this file's own, named in the URL the processes get).
 */

announcePostgresSkip('token CLI revoke and the OIDC-only server');

let tree: string;
const clean = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() };

const run = (args: readonly string[], env: Record<string, string>): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, [join(tree, 'bin', 'mentoring-token.js'), ...args], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 120_000 });

// One build shared with the other tests that run the built tree (test/support/builtTree.ts).
beforeAll(async () => {
  tree = await builtTree();
}, 960_000);

interface Store {
  readonly name: string;
  /** The environment naming the store, for the child processes. */
  env(): Record<string, string>;
  /** Opens it here (the child must have let go of an embedded store). */
  open(): Promise<SqlDatabase>;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
}

const embedded = (): Store => {
  let dataDir = '';
  return {
    name: 'the embedded store',
    env: () => ({ DATA_DIR: dataDir }),
    open: () => openPglite(dataDir),
    async setUp() {
      dataDir = mkdtempSync(join(tmpdir(), 'revoke-cli-'));
      await (await openPglite(dataDir)).close();
    },
    async tearDown() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

const postgres = (url: string): Store => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = openPostgres(url, { max: 1 });
  const scoped = () => {
    const parsed = new URL(url);
    parsed.searchParams.set('options', `-c search_path=${schema}`);
    return parsed.toString();
  };
  return {
    name: 'PostgreSQL',
    env: () => ({ DATABASE_URL: scoped() }),
    open: async () => openPostgres(url, { max: 2, options: `-c search_path=${schema}` }),
    async setUp() {
      await admin.query(`CREATE SCHEMA ${schema}`);
    },
    async tearDown() {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
};

const stores = (): Store[] => {
  const url = postgresUrl();
  return [embedded(), ...(url ? [postgres(url)] : [])];
};

const listed = async (store: Store): Promise<TokenRevocation[]> => {
  const db = await store.open();
  try {
    const list = await TokenRevocations.create(db, { now: () => new Date(), maxLifetimeSeconds: 86_400, clockSkewSeconds: 30, pollMs: 5000, logger: createLogger({ level: 'silent' }) });
    return await list.list(100);
  } finally {
    await db.close();
  }
};

describe.each(stores())('mentoring-token revoke on $name', (store) => {
  beforeAll(() => store.setUp());
  afterAll(() => store.tearDown());

  it('prints its usage with --help, on stdout, touching nothing', () => {
    const result = run(['revoke', '--help'], { DATA_DIR: join(tree, 'no-such-store') });
    expect(result.status).toBe(0);
    expect(result.stdout.startsWith('Usage: mentoring-token revoke')).toBe(true);
    expect(result.stderr).toBe('');
    // The main usage points to it.
    expect(run(['--help'], {}).stdout).toContain('mentoring-token revoke (--token-id <jti> | --subject <subject> [--issued-before <iso>]) --reason <text>');
  });

  it('records a token revocation and a subject revocation, the audited row of the mutation, and prints each as JSON', async () => {
    const byToken = run(['revoke', '--token-id', 'jti-123', '--reason', 'laptop stolen', '--by', 'ops.oncall'], store.env());
    expect(byToken.stderr).toBe('');
    expect(byToken.status).toBe(0);
    const printedToken = JSON.parse(byToken.stdout) as TokenRevocation;
    expect(byToken.stdout.trim().split('\n')).toHaveLength(1);

    const bySubject = run(['revoke', '--subject', 'maya@example.org', '--issued-before', '2026-01-05T09:00:00Z', '--reason', 'left the program'], store.env());
    expect(bySubject.stderr).toBe('');
    expect(bySubject.status).toBe(0);
    const printedSubject = JSON.parse(bySubject.stdout) as TokenRevocation;

    const rows = await listed(store);
    expect(rows).toEqual([printedSubject, printedToken]);
    expect(printedToken).toMatchObject({ kind: 'TOKEN', tokenId: 'jti-123', subject: null, issuedBefore: null, reason: 'laptop stolen', revokedBy: { id: 'ops.oncall', role: 'operator' } });
    expect(printedSubject).toMatchObject({
      kind: 'SUBJECT',
      tokenId: null,
      subject: 'maya@example.org',
      issuedBefore: '2026-01-05T09:00:00.000Z',
      reason: 'left the program',
      revokedBy: { role: 'operator' },
    });
    // Without --by: the operator's login and host.
    expect(printedSubject.revokedBy.id).toMatch(/^.+@.+$/);
  });

  it.each([
    [['revoke', '--reason', 'x'], /Give either --token-id \(one token\) or --subject/],
    [['revoke', '--token-id', 'a', '--subject', 'b', '--reason', 'x'], /Give either --token-id/],
    [['revoke', '--token-id', 'a'], /Missing --reason/],
    [['revoke', '--token-id', 'a', '--issued-before', '2026-01-05T09:00:00Z', '--reason', 'x'], /--issued-before goes with --subject/],
    [['revoke', '--subject', 'a', '--issued-before', 'yesterday', '--reason', 'x'], /--issued-before must be an ISO-8601 date-time with its zone/],
    [['revoke', '--subject', 'a', '--issued-before', '2026-01-05T09:00:00', '--reason', 'x'], /with its zone/],
    [['revoke', '--subject', 'a', '--issued-before', '2999-01-01T00:00:00Z', '--reason', 'x'], /VALIDATION_FAILED: issuedBefore \(2999-01-01T00:00:00.000Z\) is in the future/],
    [['revoke', '--token-id', 'a', '--reason', '   '], /VALIDATION_FAILED: reason must be 1 to 500 characters of plain text/],
    [['revoke', '--token-id', 'a', '--reason', 'bad\u0001byte'], /reason must be 1 to 500 characters of plain text/],
    [['revoke', '--token-id', 'a', '--reason', 'x', '--frobnicate'], /Unknown option '--frobnicate'/],
  ])('refuses %j with exit 2, a clear message on stderr, nothing on stdout, nothing recorded', async (args, message) => {
    const before = await listed(store);
    const result = run(args, store.env());
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await listed(store)).toEqual(before);
  });
});

describe('mentoring-token revoke without a store', () => {
  it('says there is no embedded store, exit 1, and creates none', () => {
    const dataDir = join(tree, 'no-such-store');
    const result = run(['revoke', '--token-id', 'a', '--reason', 'x'], { DATA_DIR: dataDir });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe(`No embedded store at ${dataDir} (set DATA_DIR or DATABASE_URL).`);
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('the server with an identity provider and no local key', () => {
  const url = postgresUrl();
  (url ? it : it.skip)('starts on PostgreSQL, answers /health, and its token CLI says it has nothing to sign with', async () => {
    const store = postgres(url!);
    await store.setUp();
    const env = {
      ...clean,
      ...store.env(),
      PORT: '0',
      HOST: '127.0.0.1',
      BACKGROUND_JOBS: 'false',
      OIDC_ISSUER: 'https://idp.example.test/realms/mentoring',
      OIDC_AUDIENCE: 'mentoring-api',
      OIDC_JWKS_URL: 'http://127.0.0.1:9/certs',
      OIDC_ROLE_MAP: '{"mentoring-admins":"admin"}',
    };
    const server = spawn(process.execPath, [join(tree, 'bin', 'mentoring-server.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const address = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`The server did not start:\n${stdout}${stderr}`)), 90_000);
        server.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const found = /GraphQL at (http:\/\/\S+)\/graphql/.exec(stdout);
          if (found) {
            clearTimeout(timer);
            resolve(found[1]!);
          }
        });
        server.on('exit', (code) => reject(new Error(`The server exited with ${code}:\n${stdout}${stderr}`)));
      });
      const startLine = JSON.parse(stdout.split('\n').find((line) => line.includes('GraphQL at'))!) as Record<string, unknown>;
      expect(startLine).toMatchObject({ identityProvider: 'https://idp.example.test/realms/mentoring', tokenKeyIds: null, signingKeyId: null });
      expect((await fetch(`${address}/health`)).status).toBe(200);
      // No token, or a token of this server's own kind: refused.
      const anonymous = await fetch(`${address}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ tokenRevocations { id } }' }) });
      expect(anonymous.status).toBe(401);

      const mintOidc = run(['--role', 'admin', '--subject', 'alice'], { ...store.env(), OIDC_ISSUER: env.OIDC_ISSUER });
      expect(mintOidc.status).toBe(1);
      expect(mintOidc.stdout).toBe('');
      expect(mintOidc.stderr).toMatch(/This server has no local token key: it accepts only the identity provider's tokens/);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => (server.exitCode !== null ? resolve(null) : server.on('exit', resolve)));
      await store.tearDown();
    }
    expect(stderr).toBe('');
  }, 180_000);
});
