import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { ConfigError, OIDC_ONLY_MESSAGE, TOKEN_KEY_FILE, loadConfig, readTokenKeyFile, tokenKeysFromEnv } from '../config';
import { DomainError } from '../domain/shared/decider';
import { runTool, warnAboutNpmBanner } from './common';
import { TOKEN_ROLES, isTokenRole, mintToken, parseDuration, type TokenKeyRing } from '../graphql/auth';

const USAGE = `Usage: mentoring-token --role <role> --subject <actor-id> [--user-id <id>] [--name <name>] [--permission <p>]... [--expires <duration>]
       mentoring-token revoke (--token-id <jti> | --subject <subject> [--issued-before <iso>]) --reason <text>
       (or: npm run -s token -- --role <role> --subject <actor-id> ...)

Prints a bearer token for the GraphQL API (send it as "Authorization: Bearer <token>").

  --role       one of ${TOKEN_ROLES.join(', ')}
  --subject    the actor id recorded in events (e.g. a login name)
  --user-id    the domain user a mentor, mentee or manager token belongs to
  --name       a display name
  --permission an extra right (repeatable): personal-data:raw lets an analyst read names and e-mails
  --expires    lifetime: seconds or 30m, 12h, 7d, 2w (default 12h; at most AUTH_MAX_TOKEN_LIFETIME, 24h by default)

Each token carries a random id (its "jti" claim), by which an admin can revoke it (revokeTokens);
with AUTH_TOKEN_AUDIENCE set it names that audience, as the server then requires.

The token is signed with the server's signing key: AUTH_TOKEN_KEYS (the first key, or the one
AUTH_TOKEN_SIGNING_KID names) or AUTH_TOKEN_SECRET when set, otherwise the embedded store's key file
<DATA_DIR>/${TOKEN_KEY_FILE} (DATA_DIR defaults to ./data), which the first \`npm start\` creates.
A server with an identity provider (OIDC_ISSUER) and no local key accepts the provider's tokens only:
there is nothing to sign with, and the tool says so.

\`mentoring-token revoke --help\` describes revoking tokens.`;

const REVOKE_USAGE = `Usage: mentoring-token revoke --token-id <jti> --reason <text>
       mentoring-token revoke --subject <subject> [--issued-before <iso>] --reason <text>
       (or: npm run -s token -- revoke ...)

Revokes bearer tokens, as the revokeTokens mutation does, writing the same audited row in the
database the environment names (DATABASE_URL, or the embedded store in DATA_DIR, which must not be
held by a running server). Prints the recorded revocation as one JSON line on stdout.

  --token-id       one token, by its id (its "jti" claim)
  --subject        every token of this subject (the token's "sub", or the id it signs in as)
  --issued-before  with --subject: refuse its tokens issued before this ISO-8601 time (default: now; not in the future)
  --reason         why (kept with the revocation, for the audit)
  --by             who revokes, recorded as an operator (default: <login>@<host>)

Running servers apply it within REVOCATION_POLL_MS (5 s by default), open WebSocket subscriptions
included. Exit codes: 0 recorded, 1 failed (settings, database), 2 bad arguments (nothing recorded).`;


export interface TokenCliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly now?: () => Date;
}

/** Returns the exit code: 0 printed a token (or recorded a revocation), 1 no signing key (or failed), 2 bad arguments. */
export const runTokenCli = async (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: TokenCliIo,
): Promise<number> => {
  if (argv[0] === 'revoke') return runRevokeCli(argv.slice(1), env, io);
  const usageError = (problem: string): number => {
    io.err(`${problem}\n\n${USAGE}`);
    return 2;
  };
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        role: { type: 'string' },
        subject: { type: 'string' },
        'user-id': { type: 'string' },
        name: { type: 'string' },
        permission: { type: 'string', multiple: true },
        expires: { type: 'string', default: '12h' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const role = values.role;
  const subject = values.subject;
  const expires = values.expires as string;
  if (typeof role !== 'string') return usageError('Missing --role.');
  if (!isTokenRole(role)) return usageError(`--role must be one of ${TOKEN_ROLES.join(', ')}; got "${role}".`);
  if (typeof subject !== 'string' || subject.trim() === '') return usageError('Missing --subject.');
  const lifetime = parseDuration(expires);
  if (lifetime === null) return usageError(`--expires must be seconds or a duration such as 30m, 12h, 7d; got "${expires}".`);
  // The server refuses tokens living longer than AUTH_MAX_TOKEN_LIFETIME: do not print one it would refuse.
  const maxLifetime = env.AUTH_MAX_TOKEN_LIFETIME ? parseDuration(env.AUTH_MAX_TOKEN_LIFETIME) : 24 * 3600;
  if (maxLifetime !== null && lifetime > maxLifetime) {
    return usageError(`--expires ${expires} is longer than the ${maxLifetime} s the server accepts (AUTH_MAX_TOKEN_LIFETIME); choose a shorter one.`);
  }

  let keys: TokenKeyRing | null;
  const dataDir = env.DATA_DIR || './data';
  try {
    keys = tokenKeysFromEnv(env) ?? readTokenKeyFile(dataDir);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(error.message);
    return 1;
  }
  if (!keys && env.OIDC_ISSUER?.trim()) {
    io.err(OIDC_ONLY_MESSAGE);
    return 1;
  }
  if (!keys) {
    io.err(
      `No signing key: set AUTH_TOKEN_SECRET or AUTH_TOKEN_KEYS as the server has them, or start the embedded server once (npm start) so it creates ${join(dataDir, TOKEN_KEY_FILE)}.`,
    );
    return 1;
  }
  try {
    const token = await mintToken({
      secret: keys,
      subject,
      role,
      expiresIn: expires,
      ...(typeof values['user-id'] === 'string' ? { userId: values['user-id'] } : {}),
      ...(typeof values.name === 'string' ? { name: values.name } : {}),
      ...(Array.isArray(values.permission) ? { permissions: values.permission } : {}),
      ...(io.now ? { now: io.now() } : {}),
      ...(env.AUTH_TOKEN_AUDIENCE?.trim() ? { audience: env.AUTH_TOKEN_AUDIENCE.trim() } : {}),
    });
    io.out(token);
    return 0;
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
};

/**
 * `revoke`: the revocation list's own `revoke` (src/auth/revocations.ts), so the row, its checks and
 * its refusals are those of the mutation; the revoker is recorded as an operator.
 */
const runRevokeCli = async (argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: TokenCliIo): Promise<number> => {
  const usageError = (problem: string): number => {
    io.err(`${problem}\n\n${REVOKE_USAGE}`);
    return 2;
  };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'token-id': { type: 'string' },
        subject: { type: 'string' },
        'issued-before': { type: 'string' },
        reason: { type: 'string' },
        by: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    io.out(REVOKE_USAGE);
    return 0;
  }
  const tokenId = values['token-id'] as string | undefined;
  const subject = values.subject as string | undefined;
  const issuedBefore = values['issued-before'] as string | undefined;
  const reason = values.reason as string | undefined;
  if ((tokenId === undefined) === (subject === undefined)) return usageError('Give either --token-id (one token) or --subject (all its tokens), not both and not neither.');
  if (tokenId !== undefined && issuedBefore !== undefined) return usageError('--issued-before goes with --subject, not with --token-id.');
  if (reason === undefined) return usageError('Missing --reason: say why (it is kept with the revocation, for the audit).');
  let before: Date | undefined;
  if (issuedBefore !== undefined) {
    // An ISO-8601 date-time with its zone: a bare date or a local time would be read in the machine's zone.
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(issuedBefore) || Number.isNaN(Date.parse(issuedBefore))) {
      return usageError(`--issued-before must be an ISO-8601 date-time with its zone, such as 2026-01-05T09:00:00Z; got "${issuedBefore}".`);
    }
    before = new Date(issuedBefore);
  }
  const by = typeof values.by === 'string' && values.by.trim() !== '' ? values.by.trim() : `${userInfo().username}@${hostname()}`;

  const config = loadConfig(env as NodeJS.ProcessEnv);
  // Loaded when used: `--help` and usage errors answer without loading the database drivers.
  const [{ openConfiguredDatabase }, { TokenRevocations }, { createLogger }] = await Promise.all([
    import('./database'),
    import('../auth/revocations'),
    import('../log'),
  ]);
  let db;
  try {
    db = await openConfiguredDatabase(config);
  } catch (error) {
    // No embedded store there: nothing to record into (a failure, not a bad argument).
    if (!(error instanceof DomainError)) throw error;
    io.err(error.message);
    return 1;
  }
  try {
    const list = await TokenRevocations.create(db, {
      now: io.now ?? (() => new Date()),
      maxLifetimeSeconds: config.tokens.maxLifetimeSeconds,
      clockSkewSeconds: config.tokens.clockSkewSeconds,
      pollMs: config.tokens.revocationPollMs,
      logger: createLogger({ level: 'silent' }),
    });
    const request =
      tokenId !== undefined ? { kind: 'TOKEN' as const, tokenId } : { kind: 'SUBJECT' as const, subject: subject!, ...(before ? { issuedBefore: before } : {}) };
    const revocation = await list.revoke(request, { id: by, role: 'operator' }, reason);
    io.out(JSON.stringify(revocation));
    return 0;
  } catch (error) {
    if (error instanceof DomainError) {
      io.err(`${error.code}: ${error.message}`);
      return 2;
    }
    throw error;
  } finally {
    await db.close();
  }
};

/** The tool as a process: the token (or the usage asked for) on stdout, everything else on stderr. */
export const main = (argv: readonly string[] = process.argv.slice(2)): Promise<number> => {
  if (!argv.includes('--help') && !argv.includes('-h')) warnAboutNpmBanner(process.stdout, process.stderr, 'token');
  return runTokenCli(argv, process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
};

if (require.main === module) runTool(() => main());
