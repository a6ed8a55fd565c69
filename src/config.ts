import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import type { RateLimitSettings } from './http/rateLimit';
import type { TracingSettings } from './observability/tracing';
import { TOKEN_ROLES, isTokenRole, keyRing, parseDuration, type TokenKey, type TokenKeyRing, type TokenRole } from './graphql/auth';

/**
 * All configuration, read from the environment in this one place (README lists every variable).
 */
export interface Config {
  /** PostgreSQL for events and read models; unset: the embedded store under `dataDir`. */
  readonly databaseUrl?: string;
  /** KurrentDB/EventStoreDB for events (read models stay in PostgreSQL or the embedded store). */
  readonly eventStoreConnectionString?: string;
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  /**
   * The keys bearer tokens are signed and verified with, from AUTH_TOKEN_KEYS or AUTH_TOKEN_SECRET;
   * `null` when none is configured (`withTokenKeys` then reads or creates the embedded store's key file).
   */
  readonly tokenKeys: TokenKeyRing | null;
  readonly logLevel: string;
  readonly maxQueryDepth: number;
  readonly maxQueryCost: number;
  /** Most aliased fields in one operation. */
  readonly maxQueryAliases: number;
  /** Most expensive fields (whole-log verification, as-of folds, reports, solver) in one request. */
  readonly maxExpensiveFields: number;
  /** SMTP server for the notification e-mails (smtp://user:pass@host:587); unset: written to `mailboxFile`. */
  readonly smtpUrl?: string;
  /** The From of every notification e-mail. */
  readonly mailFrom: string;
  /** Where e-mails go when no SMTP server is configured (mbox format). */
  readonly mailboxFile: string;
  /** How often the notification worker looks for e-mails to send (it is also woken by new ones). */
  readonly notificationPollMs: number;
  /**
   * E-mails for events older than this are not sent (marked FAILED with the reason): the first start
   * on an existing log must not mail its whole history.
   */
  readonly notificationMaxAgeHours: number;
  /** How often the matching scheduler expires requests and completes matches. */
  readonly schedulerIntervalMs: number;
  /** Whether this instance runs the notification worker and the scheduler (run them on at least one). */
  readonly backgroundJobs: boolean;
  /** Serve the offline GraphiQL explorer at `/`. */
  readonly explorer: boolean;
  /** Whether authenticated callers may introspect the schema (anonymous callers never may). */
  readonly introspection: boolean;
  /** Requests per minute per token subject (reads, writes) and per client address; 0 switches one off. */
  readonly rateLimits: RateLimitSettings;
  /** Token lifetime, clock skew, audience, an identity provider, and how often the revocation list is read. */
  readonly tokens: TokenSettings;
  /** When the hourly background jobs run (issue 18). */
  readonly jobSchedules: JobSchedules;
  /** E-mail extras (issue 18, item 4). */
  readonly mailExtras: {
    /** Where e-mails to the program's administrators go (a request waiting for admin approval); unset: not sent, FAILED saying so. */
    readonly adminNotificationEmail?: string;
    /** The service's address as a mail client reaches it, for links in e-mails (PUBLIC_URL). */
    readonly publicUrl: string;
    /** How long a one-click link in an e-mail works (ONE_CLICK_LINK_DAYS). */
    readonly oneClickLinkDays: number;
  };
  /** Bulk registration (`registerUsers`, `POST /imports/users.csv`): the same caps on every door. */
  readonly imports: {
    /** Most rows one call or file may carry (IMPORT_MAX_ROWS). */
    readonly maxRows: number;
    /** Largest CSV upload in bytes (IMPORT_MAX_BYTES). */
    readonly maxBytes: number;
    /** Rows registered at once (IMPORT_CONCURRENCY). */
    readonly concurrency: number;
  };
  /** Operators' settings: CORS, metrics, readiness (see `OperationsSettings`). */
  readonly operations: OperationsSettings;
  /** Several instances on one database (see `InstanceSettings`). */
  readonly instances: InstanceSettings;
  /** OpenTelemetry tracing; `null` (the default) when no exporter is configured: nothing of the SDK is loaded. */
  readonly tracing: TracingSettings | null;
}

/**
 * Work several instances share through leases in the database. NOTIFICATION_LEASE_MS (default
 * 300,000; 2,000 to 3,600,000): how long an e-mail claimed by one instance stays out of the others'
 * reach, so how long the e-mails an instance had in hand wait after it dies (`kill -9`, a lost
 * machine) before another sends them. Each send is cut off at half the lease, so a lease shorter
 * than twice the SMTP server's slowest answer turns slow sends into retries.
 *
 * DATABASE_POOL_MAX (default 20; 2 to 500): most PostgreSQL connections this instance opens. The
 * instances together (plus the CLIs: a rebuild opens up to 6) must stay under the server's
 * `max_connections` less its reserved ones.
 */
export interface InstanceSettings {
  readonly notificationLeaseMs: number;
  readonly databasePoolMax: number;
}

const instanceSettings = (env: NodeJS.ProcessEnv): InstanceSettings => ({
  notificationLeaseMs: integer(env, 'NOTIFICATION_LEASE_MS', 300_000, 2_000, 3_600_000),
  databasePoolMax: integer(env, 'DATABASE_POOL_MAX', 20, 2, 500),
});

/** What operators tune: which browser origins may call the API, metrics, and when the service is ready. */
export interface OperationsSettings {
  /** Browser origins (`https://app.example.org`) allowed to call the API cross-origin; empty: none. */
  readonly corsOrigins: readonly string[];
  /** Serve Prometheus metrics at `/metrics`. */
  readonly metrics: boolean;
  /** `/health/ready` answers 503 while a projection's oldest unapplied event is older than this. */
  readonly readyMaxProjectionLagSeconds: number;
}

// ---------------------------------------------------------------------------------------------
// OpenTelemetry: the standard OTEL_* variables, the subset this service acts on.

/** The OTLP/HTTP port collectors listen on, and the path of the traces signal under a base endpoint. */
const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';
const TRACES_PATH = 'v1/traces';

const otlpUrl = (name: string, raw: string): URL => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL such as http://collector:4318; got "${redact(raw)}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${name} must start with http:// or https:// (traces go out over OTLP/HTTP); got "${redact(raw)}".`);
  return url;
};

/** `key=value,key2=value2`, values percent-encoded (the OTLP exporter specification). */
const otlpHeaders = (name: string, raw: string | undefined): Record<string, string> => {
  const headers: Record<string, string> = {};
  for (const entry of (raw ?? '').split(',').map((part) => part.trim()).filter(Boolean)) {
    const equals = entry.indexOf('=');
    const key = equals > 0 ? entry.slice(0, equals).trim() : '';
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(key)) throw new ConfigError(`${name} must read key=value,key2=value2; "${entry.slice(0, 40)}" is not a header.`);
    let value: string;
    try {
      value = decodeURIComponent(entry.slice(equals + 1).trim());
    } catch {
      throw new ConfigError(`${name}: the value of "${key}" is not valid percent-encoding.`);
    }
    headers[key] = value;
  }
  return headers;
};

/**
 * Tracing is on when OTEL_TRACES_EXPORTER=otlp or an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT,
 * to which /v1/traces is added, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, used as it is); off when
 * neither is set, when OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true. Spans go out as OTLP
 * JSON over HTTP: a protocol setting other than http/json is refused rather than ignored.
 */
const tracingSettings = (env: NodeJS.ProcessEnv): TracingSettings | null => {
  if (flag(env, 'OTEL_SDK_DISABLED', false)) return null;
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || undefined;
  const baseEndpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  for (const exporter of exporters) {
    if (exporter !== 'otlp' && exporter !== 'none') throw new ConfigError(`OTEL_TRACES_EXPORTER must be otlp or none (this service exports OTLP only); got "${exporter}".`);
  }
  if (exporters.includes('none') || (exporters.length === 0 && !tracesEndpoint && !baseEndpoint)) return null;
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = env[name]?.trim();
    if (protocol && protocol !== 'http/json') {
      throw new ConfigError(`${name} must be http/json (spans are sent as OTLP JSON over HTTP, which collectors accept on port 4318); got "${protocol}".`);
    }
  }
  const url = tracesEndpoint
    ? otlpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint)
    : new URL(TRACES_PATH, `${otlpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', baseEndpoint ?? DEFAULT_OTLP_ENDPOINT).toString().replace(/\/?$/, '/')}`);
  return {
    tracesUrl: url.toString(),
    headers: { ...otlpHeaders('OTEL_EXPORTER_OTLP_HEADERS', env.OTEL_EXPORTER_OTLP_HEADERS), ...otlpHeaders('OTEL_EXPORTER_OTLP_TRACES_HEADERS', env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'mentoring-lifecycle',
    scheduleDelayMs: integer(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, 1, 600_000),
  };
};

// ---------------------------------------------------------------------------------------------
// Tokens: checks on every token, an OIDC identity provider beside the local keys, revocations.

/** How an identity provider's token names our user: by an e-mail address, or by our user id. */
export type OidcUserClaimKind = 'email' | 'user-id';

export interface OidcSettings {
  /** The provider's `iss`, exactly. */
  readonly issuer: string;
  /** The audience its tokens must name for this server (the client id, usually). */
  readonly audience: string;
  /** Where its signing keys are published (https, or http to this machine). */
  readonly jwksUrl: string;
  /** The claim holding the caller's groups or roles; a dotted path reads nested objects (`realm_access.roles`). */
  readonly roleClaim: string;
  /** Claim value → our role, in priority order: the first value the token carries decides. */
  readonly roleMap: readonly (readonly [string, TokenRole])[];
  /** The claim naming our user (`email`, or e.g. `sub` when the provider knows our user ids). */
  readonly userClaim: string;
  readonly userClaimKind: OidcUserClaimKind;
  /** The keys are fetched again at least this often (a key withdrawn from the JWKS stops verifying then). */
  readonly jwksRefreshSeconds: number;
  /** A token naming a key not in the cache fetches the JWKS again, at most this often. */
  readonly jwksMinRefetchSeconds: number;
}

export interface TokenSettings {
  /** Longest accepted `exp - iat` of any token, seconds. */
  readonly maxLifetimeSeconds: number;
  readonly clockSkewSeconds: number;
  /** The `aud` this server's own tokens carry and must carry; unset: they carry none and any `aud` is refused. */
  readonly localAudience?: string;
  readonly oidc: OidcSettings | null;
  /** How often each instance reads the revocation list (new entries from other instances, and open sockets re-checked). */
  readonly revocationPollMs: number;
  /** The identity provider's per-user lookups, kept briefly (see `userCacheSettings`). */
  readonly userCache: UserCacheSettings;
}

/**
 * AUTH_USER_CACHE_SECONDS (default 10; 0: no cache) and AUTH_USER_CACHE_ENTRIES (default 10,000):
 * how long and how many of the identity provider's user lookups (address to user, user's status and
 * personas) are reused. This instance's own changes take effect at once; another instance's within
 * the TTL.
 */
export interface UserCacheSettings {
  readonly ttlSeconds: number;
  readonly maxEntries: number;
}

const userCacheSettings = (env: NodeJS.ProcessEnv): UserCacheSettings => ({
  ttlSeconds: integer(env, 'AUTH_USER_CACHE_SECONDS', 10, 0, 3600),
  maxEntries: integer(env, 'AUTH_USER_CACHE_ENTRIES', 10_000, 1, 1_000_000),
});

const durationSetting = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const seconds = parseDuration(raw);
  if (seconds === null) throw new ConfigError(`${name} must be seconds or a duration such as 30m, 12h, 7d; got "${raw}".`);
  return seconds;
};

const isLocalHost = (hostname: string): boolean => ['localhost', '127.0.0.1', '[::1]', '::1'].includes(hostname);

const oidcSettings = (env: NodeJS.ProcessEnv): OidcSettings | null => {
  const issuer = env.OIDC_ISSUER?.trim() || undefined;
  const audience = env.OIDC_AUDIENCE?.trim() || undefined;
  const jwksUrl = env.OIDC_JWKS_URL?.trim() || undefined;
  if (!issuer && !audience && !jwksUrl) return null;
  if (!issuer || !audience || !jwksUrl) {
    throw new ConfigError('An identity provider needs all of OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL; set the missing ones or none.');
  }
  let url: URL;
  try {
    url = new URL(jwksUrl);
  } catch {
    throw new ConfigError(`OIDC_JWKS_URL must be a URL; got "${jwksUrl}".`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLocalHost(url.hostname))) {
    throw new ConfigError('OIDC_JWKS_URL must use https (plain http only to this machine): keys fetched in the clear can be replaced on the way.');
  }
  const rawMap = env.OIDC_ROLE_MAP?.trim();
  if (!rawMap) throw new ConfigError('OIDC_ROLE_MAP must say which claim values give which role, e.g. {"mentoring-admins":"admin","mentors":"mentor"}.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawMap);
  } catch {
    throw new ConfigError('OIDC_ROLE_MAP must be a JSON object of claim value to role, e.g. {"mentoring-admins":"admin"}.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.keys(parsed).length === 0) {
    throw new ConfigError('OIDC_ROLE_MAP must be a non-empty JSON object of claim value to role.');
  }
  const roleMap = Object.entries(parsed as Record<string, unknown>).map(([value, role]): [string, TokenRole] => {
    if (!isTokenRole(role)) throw new ConfigError(`OIDC_ROLE_MAP maps "${value}" to ${JSON.stringify(role)}, which is not one of ${TOKEN_ROLES.join(', ')}.`);
    return [value, role];
  });
  const kind = env.OIDC_USER_CLAIM_KIND?.trim() || 'email';
  if (kind !== 'email' && kind !== 'user-id') throw new ConfigError(`OIDC_USER_CLAIM_KIND must be email or user-id; got "${kind}".`);
  return {
    issuer,
    audience,
    jwksUrl: url.toString(),
    roleClaim: env.OIDC_ROLE_CLAIM?.trim() || 'roles',
    roleMap,
    userClaim: env.OIDC_USER_CLAIM?.trim() || 'email',
    userClaimKind: kind,
    jwksRefreshSeconds: durationSetting(env, 'OIDC_JWKS_REFRESH', 600),
    jwksMinRefetchSeconds: integer(env, 'OIDC_JWKS_MIN_REFETCH_SECONDS', 30, 0, 86_400),
  };
};

const tokenSettings = (env: NodeJS.ProcessEnv): TokenSettings => {
  const oidc = oidcSettings(env);
  return {
    maxLifetimeSeconds: durationSetting(env, 'AUTH_MAX_TOKEN_LIFETIME', 24 * 3600),
    clockSkewSeconds: integer(env, 'AUTH_CLOCK_SKEW_SECONDS', 30, 0, 600),
    ...(env.AUTH_TOKEN_AUDIENCE?.trim() ? { localAudience: env.AUTH_TOKEN_AUDIENCE.trim() } : {}),
    oidc,
    revocationPollMs: integer(env, 'REVOCATION_POLL_MS', 5000, 50, 600_000),
    userCache: userCacheSettings(env),
  };
};

// ---------------------------------------------------------------------------------------------
// Background job schedules (issue 18): service settings, the same for every program.

/**
 * The registration-reminder and manager-report jobs. Each is idempotent per period (one reminder a
 * month or quarter, one report per manager and two weeks), so the interval only says how soon after
 * a period opens it goes out; the first run comes `jobFirstRunDelayMs` after the start instead of a
 * whole interval later, so a restart does not hold reminders and reports back by an hour.
 */
export interface JobSchedules {
  /** REMINDER_JOB_INTERVAL_MS (default 3,600,000: hourly). */
  readonly registrationRemindersIntervalMs: number;
  /** MANAGER_REPORT_JOB_INTERVAL_MS (default 3,600,000: hourly). */
  readonly managerReportsIntervalMs: number;
  /** JOB_FIRST_RUN_DELAY_MS (default 60,000): from the start to each job's first run. */
  readonly firstRunDelayMs: number;
}

const jobSchedules = (env: NodeJS.ProcessEnv): JobSchedules => ({
  registrationRemindersIntervalMs: integer(env, 'REMINDER_JOB_INTERVAL_MS', 3_600_000, 1000, 604_800_000),
  managerReportsIntervalMs: integer(env, 'MANAGER_REPORT_JOB_INTERVAL_MS', 3_600_000, 1000, 604_800_000),
  firstRunDelayMs: integer(env, 'JOB_FIRST_RUN_DELAY_MS', 60_000, 0, 86_400_000),
});


/**
 * A setting the service cannot start with. `problems` holds one sentence per bad setting (the message
 * is them joined by line breaks): `loadConfig` reports every problem at once, not the first only.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(list.join('\n'));
    this.problems = list;
  }
}

/** A value parsed by a zod schema, or a ConfigError with the schema's first complaint, naming the variable. */
const parsed = <T>(name: string, schema: z.ZodType<T>, raw: string): T => {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(`${name} ${result.error.issues[0]?.message ?? 'is not valid'}; got "${raw}".`);
  return result.data;
};

const integer = (env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const message = `must be a whole number from ${min} to ${max}`;
  return parsed(name, z.string().trim().regex(/^-?\d+$/, message).transform(Number).pipe(z.number().int().min(min, message).max(max, message)), raw);
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const oneOf = <const T extends readonly [string, ...string[]]>(env: NodeJS.ProcessEnv, name: string, values: T, fallback: T[number]): T[number] => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  return parsed(name, z.enum(values, { error: `must be one of ${values.join(', ')}` }), raw.trim().toLowerCase());
};

/** The schemes the KurrentDB client takes (`esdb` is deprecated by it but still works). */
const EVENT_STORE_URL = /^(kurrentdb|kurrent|kdb|esdb)(\+discover)?:\/\/[^/\s]+/;

const eventStoreConnectionString = (raw: string | undefined): string | undefined => {
  if (!raw) return undefined;
  if (!EVENT_STORE_URL.test(raw)) {
    throw new ConfigError(
      `EVENTSTORE_CONNECTION_STRING must be a KurrentDB connection string such as kurrentdb://host:2113?tls=false (or kurrentdb+discover://, esdb://); got "${redact(raw)}".`,
    );
  }
  return raw;
};

/** An origin as browsers send it: scheme, host and port, nothing else. */
const corsOrigins = (raw: string | undefined): string[] => {
  const list = (raw ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of list) {
    let origin: string | null = null;
    try {
      origin = new URL(entry).origin;
    } catch {
      origin = null;
    }
    if (origin === null || origin === 'null' || origin !== entry.replace(/\/$/, '')) {
      throw new ConfigError(`CORS_ORIGINS must list origins such as https://app.example.org (scheme, host and port, no path), separated by commas; "${entry}" is not one.`);
    }
  }
  return list.map((entry) => entry.replace(/\/$/, ''));
};

/** A URL with its password masked, for messages. */
const redact = (url: string): string => url.replace(/:[^:@/]*@/, ':***@');

const smtpUrl = (raw: string | undefined): string | undefined => {
  if (!raw) return undefined;
  if (!/^smtps?:\/\/[^/]+/.test(raw)) {
    throw new ConfigError(`SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465; got "${redact(raw)}".`);
  }
  return raw;
};

const flag = (env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  return parsed(
    name,
    z
      .string()
      .transform((text) => text.trim().toLowerCase())
      .pipe(z.enum(['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'], { error: 'must be true or false' }))
      .transform((text) => ['1', 'true', 'yes', 'on'].includes(text)),
    raw,
  );
};

/** The name of the embedded store's key file in DATA_DIR. */
export const TOKEN_KEY_FILE = 'token-signing-key.json';

const MIN_SECRET_LENGTH = 32;

/**
 * `AUTH_TOKEN_KEYS=kid1:secret1,kid2:secret2` (several verify, the first or AUTH_TOKEN_SIGNING_KID
 * signs) or `AUTH_TOKEN_SECRET=<secret>` (one key, kid `default`); `null` when neither is set.
 */
export const tokenKeysFromEnv = (env: Readonly<Record<string, string | undefined>>): TokenKeyRing | null => {
  const list = env.AUTH_TOKEN_KEYS?.trim() || undefined;
  const secret = env.AUTH_TOKEN_SECRET || undefined;
  const signingKid = env.AUTH_TOKEN_SIGNING_KID?.trim() || undefined;
  if (list && secret) throw new ConfigError('Set AUTH_TOKEN_KEYS or AUTH_TOKEN_SECRET, not both.');
  let keys: TokenKey[];
  if (list) {
    keys = list.split(',').map((entry, index) => {
      const colon = entry.indexOf(':');
      const kid = colon > 0 ? entry.slice(0, colon).trim() : '';
      const value = colon > 0 ? entry.slice(colon + 1).trim() : '';
      if (!kid || !value) throw new ConfigError(`AUTH_TOKEN_KEYS entry ${index + 1} must read "<key id>:<secret>".`);
      if (value.length < MIN_SECRET_LENGTH) {
        throw new ConfigError(`AUTH_TOKEN_KEYS key "${kid}" must be at least ${MIN_SECRET_LENGTH} characters long.`);
      }
      return { kid, secret: value };
    });
  } else if (secret) {
    if (secret.length < MIN_SECRET_LENGTH) throw new ConfigError(`AUTH_TOKEN_SECRET must be at least ${MIN_SECRET_LENGTH} characters long.`);
    keys = [{ kid: 'default', secret }];
  } else {
    if (signingKid) throw new ConfigError('AUTH_TOKEN_SIGNING_KID names a key, but no AUTH_TOKEN_KEYS are set.');
    return null;
  }
  try {
    return keyRing(keys, signingKid);
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
};

interface KeyFile {
  readonly keys: readonly { readonly kid: string; readonly secret: string; readonly createdAt: string }[];
}

/** The key ring in `<dataDir>/token-signing-key.json`, or `null` when there is no such file. */
export const readTokenKeyFile = (dataDir: string): TokenKeyRing | null => {
  const path = join(dataDir, TOKEN_KEY_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`Cannot read the token key file ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as KeyFile;
    if (!Array.isArray(parsed.keys)) throw new Error('it has no "keys" list');
    return keyRing(parsed.keys.map(({ kid, secret }) => ({ kid, secret })));
  } catch (error) {
    throw new ConfigError(`The token key file ${path} is damaged (${(error as Error).message}); restore it, or delete it to make a new key (existing tokens stop working).`);
  }
};

/**
 * Creates `<dataDir>/token-signing-key.json` with one random key, readable by its owner only. Written
 * to a temporary file and hard-linked into place, so two starts racing never both win and a crash
 * never leaves half a file: the loser reads the winner's key.
 */
export const createTokenKeyFile = (dataDir: string, now: Date = new Date()): TokenKeyRing => {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, TOKEN_KEY_FILE);
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const key = { kid: `k-${now.toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`, secret: randomBytes(32).toString('base64url'), createdAt: now.toISOString() };
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ keys: [key] }, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readTokenKeyFile(dataDir)!;
};

/** Why a server will not start without keys; one line, naming what to set. */
export const MISSING_KEYS_MESSAGE =
  'No token signing key is configured: set AUTH_TOKEN_SECRET (at least 32 random characters, e.g. `openssl rand -base64 48`) or AUTH_TOKEN_KEYS=<kid>:<secret>,... for this store, or an identity provider (OIDC_ISSUER, OIDC_AUDIENCE, OIDC_JWKS_URL, OIDC_ROLE_MAP) to accept its tokens only.';

/**
 * The configuration with its token keys settled, for a server start: configured keys win; the
 * embedded store without any uses its key file, creating it on the first start; PostgreSQL and
 * KurrentDB setups without keys are refused (a ConfigError with `MISSING_KEYS_MESSAGE`) unless an
 * identity provider is configured: such a server accepts the provider's tokens only (`tokenKeys`
 * stays null), and what needs a local key says it is unavailable (the token CLI's `mint`; one-click
 * links in e-mails read "sign in to your dashboard" instead).
 */
export const withTokenKeys = (config: Config, now: Date = new Date()): Config => {
  if (config.tokenKeys) return config;
  if (config.databaseUrl || config.eventStoreConnectionString) {
    if (config.tokens.oidc) return config;
    throw new ConfigError(MISSING_KEYS_MESSAGE);
  }
  return { ...config, tokenKeys: readTokenKeyFile(config.dataDir) ?? createTokenKeyFile(config.dataDir, now) };
};

/** Said by whatever needs a local key on a server that accepts identity-provider tokens only. */
export const OIDC_ONLY_MESSAGE =
  'This server has no local token key: it accepts only the identity provider\'s tokens (OIDC_ISSUER). Sign in through the provider, or set AUTH_TOKEN_KEYS (or AUTH_TOKEN_SECRET) on the server and here to use this server\'s own tokens as well.';

const trustedProxies = (raw: string | undefined): string[] => {
  const list = (raw ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of list) {
    if (isIP(entry) === 0) throw new ConfigError(`TRUSTED_PROXIES must list IP addresses separated by commas; "${entry}" is not one.`);
  }
  return list;
};

const adminNotificationEmail = (raw: string | undefined): string | undefined => {
  const value = raw?.trim();
  if (!value) return undefined;
  if (!/^[^\s@,<>]+@[^\s@,<>]+\.[^\s@,<>]+$/.test(value)) {
    throw new ConfigError(`ADMIN_NOTIFICATION_EMAIL must be one e-mail address (a list's address for several people); got "${value}".`);
  }
  return value;
};

const publicUrl = (raw: string | undefined, host: string, port: string): string => {
  const value = raw?.trim() || `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an http(s) address such as https://mentoring.example.org; got "${value}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`PUBLIC_URL must start with http:// or https://; got "${value}".`);
  return value.replace(/\/+$/, '');
};

/**
 * The configuration, every variable checked. Bad settings are collected and reported together, one
 * sentence each (ConfigError's `problems`); the entry points print them one per line and exit 1.
 */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const problems: string[] = [];
  /** Reads one setting; a ConfigError is noted and the fallback stands in so the others are still checked. */
  const setting = <T>(read: () => T, fallback: T): T => {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return fallback;
    }
  };
  const tokenKeys = setting(() => tokenKeysFromEnv(env), null);
  const databaseUrl = setting(() => {
    const url = env.DATABASE_URL || undefined;
    if (url && !/^postgres(ql)?:\/\//.test(url)) throw new ConfigError(`DATABASE_URL must be a postgres:// URL; got "${redact(url)}".`);
    return url;
  }, undefined);
  const nodeEnv = setting(() => oneOf(env, 'NODE_ENV', ['production', 'development', 'test'], 'development'), 'development');
  // Read once: PUBLIC_URL's default is made from it (a bad PORT is reported once, not again through PUBLIC_URL).
  const eventStore = setting(() => eventStoreConnectionString(env.EVENTSTORE_CONNECTION_STRING), undefined);
  const port = setting(() => integer(env, 'PORT', 4000, 0, 65535), 4000);
  const config: Config = {
    databaseUrl,
    eventStoreConnectionString: eventStore,
    dataDir: env.DATA_DIR || './data',
    host: env.HOST || '127.0.0.1',
    port,
    tokenKeys,
    logLevel: setting(() => oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'), 'info'),
    maxQueryDepth: setting(() => integer(env, 'MAX_QUERY_DEPTH', 12, 2, 100), 12),
    maxQueryCost: setting(() => integer(env, 'MAX_QUERY_COST', 5000, 10, 10_000_000), 5000),
    maxQueryAliases: setting(() => integer(env, 'MAX_QUERY_ALIASES', 50, 0, 10_000), 50),
    maxExpensiveFields: setting(() => integer(env, 'MAX_EXPENSIVE_FIELDS', 2, 1, 1000), 2),
    smtpUrl: setting(() => smtpUrl(env.SMTP_URL), undefined),
    mailFrom: env.MAIL_FROM || 'Mentoring Programs <no-reply@mentoring.localhost>',
    mailboxFile: env.MAILBOX_FILE || join(env.DATA_DIR || './data', 'mailbox.mbox'),
    notificationPollMs: setting(() => integer(env, 'NOTIFICATION_POLL_MS', 5000, 50, 3_600_000), 5000),
    notificationMaxAgeHours: setting(() => integer(env, 'NOTIFICATION_MAX_AGE_HOURS', 168, 1, 87_600), 168),
    schedulerIntervalMs: setting(() => integer(env, 'SCHEDULER_INTERVAL_MS', 30_000, 100, 86_400_000), 30_000),
    backgroundJobs: setting(() => flag(env, 'BACKGROUND_JOBS', true), true),
    // The explorer is a developer's tool: off in production unless asked for.
    explorer: setting(() => flag(env, 'EXPLORER', nodeEnv !== 'production'), false),
    introspection: setting(() => flag(env, 'INTROSPECTION', true), true),
    rateLimits: {
      readsPerMinute: setting(() => integer(env, 'RATE_LIMIT_READS_PER_MINUTE', 600, 0, 10_000_000), 600),
      writesPerMinute: setting(() => integer(env, 'RATE_LIMIT_WRITES_PER_MINUTE', 120, 0, 10_000_000), 120),
      addressPerMinute: setting(() => integer(env, 'RATE_LIMIT_ADDRESS_PER_MINUTE', 3000, 0, 10_000_000), 3000),
      trustedProxies: setting(() => trustedProxies(env.TRUSTED_PROXIES), []),
    },
    operations: {
      corsOrigins: setting(() => corsOrigins(env.CORS_ORIGINS), []),
      metrics: setting(() => flag(env, 'METRICS', true), true),
      readyMaxProjectionLagSeconds: setting(() => integer(env, 'READY_MAX_PROJECTION_LAG_SECONDS', 60, 1, 86_400), 60),
    },
    tokens: setting(() => tokenSettings(env), tokenSettings({})),
    instances: setting(() => instanceSettings(env), instanceSettings({})),
    tracing: setting(() => tracingSettings(env), null),
    jobSchedules: setting(() => jobSchedules(env), jobSchedules({})),
    mailExtras: {
      ...setting(() => {
        const address = adminNotificationEmail(env.ADMIN_NOTIFICATION_EMAIL);
        return address === undefined ? {} : { adminNotificationEmail: address };
      }, {}),
      publicUrl: setting(() => publicUrl(env.PUBLIC_URL, env.HOST || '127.0.0.1', String(port)), 'http://127.0.0.1:4000'),
      oneClickLinkDays: setting(() => integer(env, 'ONE_CLICK_LINK_DAYS', 14, 1, 365), 14),
    },
    imports: {
      maxRows: setting(() => integer(env, 'IMPORT_MAX_ROWS', 20_000, 1, 1_000_000), 20_000),
      maxBytes: setting(() => integer(env, 'IMPORT_MAX_BYTES', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024), 8 * 1024 * 1024),
      concurrency: setting(() => integer(env, 'IMPORT_CONCURRENCY', 8, 1, 64), 8),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
};

/** How an entry point reports a ConfigError: one line per problem, on stderr, no stack. */
export const configErrorLines = (error: ConfigError): string => error.problems.map((problem) => `Configuration error: ${problem}\n`).join('');
