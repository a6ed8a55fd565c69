import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { ConfigError, TOKEN_KEY_FILE, readTokenKeyFile, tokenKeysFromEnv } from '../config';
import { runTool, warnAboutNpmBanner } from './common';
import { TOKEN_ROLES, isTokenRole, mintToken, parseDuration, type TokenKeyRing } from '../graphql/auth';

const USAGE = `Usage: mentoring-token --role <role> --subject <actor-id> [--user-id <id>] [--name <name>] [--permission <p>]... [--expires <duration>]
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
<DATA_DIR>/${TOKEN_KEY_FILE} (DATA_DIR defaults to ./data), which the first \`npm start\` creates.`;

export interface TokenCliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly now?: () => Date;
}

/** Returns the exit code: 0 printed a token, 1 no signing key, 2 bad arguments. */
export const runTokenCli = async (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: TokenCliIo,
): Promise<number> => {
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

/** The tool as a process: the token (or the usage asked for) on stdout, everything else on stderr. */
export const main = (argv: readonly string[] = process.argv.slice(2)): Promise<number> => {
  if (!argv.includes('--help') && !argv.includes('-h')) warnAboutNpmBanner(process.stdout, process.stderr, 'token');
  return runTokenCli(argv, process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
};

if (require.main === module) runTool(() => main());
