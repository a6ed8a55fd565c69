import { join } from 'node:path';
import { DEVELOPMENT_TOKEN_SECRET } from './graphql/auth';

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
  readonly tokenSecret: string;
  /** True when the development token secret is in use (tokens minted from the README work). */
  readonly usingDevelopmentSecret: boolean;
  readonly logLevel: string;
  readonly maxQueryDepth: number;
  readonly maxQueryCost: number;
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
}


export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const integer = (env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}; got "${raw}".`);
  }
  return value;
};

const smtpUrl = (raw: string | undefined): string | undefined => {
  if (!raw) return undefined;
  if (!/^smtps?:\/\/[^/]+/.test(raw)) {
    throw new ConfigError(`SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465; got "${raw.replace(/:[^:@/]*@/, ':***@')}".`);
  }
  return raw;
};

const flag = (env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false; got "${raw}".`);
};

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const secret = env.AUTH_TOKEN_SECRET || undefined;
  if (!secret && env.NODE_ENV === 'production') {
    throw new ConfigError('AUTH_TOKEN_SECRET must be set in production (at least 32 characters); the development secret is public.');
  }
  if (secret && secret.length < 32) {
    throw new ConfigError('AUTH_TOKEN_SECRET must be at least 32 characters long.');
  }
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must be a postgres:// URL; got "${databaseUrl.replace(/:[^:@/]*@/, ':***@')}".`);
  }
  return {
    databaseUrl,
    eventStoreConnectionString: env.EVENTSTORE_CONNECTION_STRING || undefined,
    dataDir: env.DATA_DIR || './data',
    host: env.HOST || '127.0.0.1',
    port: integer(env, 'PORT', 4000, 0, 65535),
    tokenSecret: secret ?? DEVELOPMENT_TOKEN_SECRET,
    usingDevelopmentSecret: !secret,
    logLevel: env.LOG_LEVEL || 'info',
    maxQueryDepth: integer(env, 'MAX_QUERY_DEPTH', 12, 2, 100),
    maxQueryCost: integer(env, 'MAX_QUERY_COST', 5000, 10, 10_000_000),
    smtpUrl: smtpUrl(env.SMTP_URL),
    mailFrom: env.MAIL_FROM || 'Mentoring Programs <no-reply@mentoring.localhost>',
    mailboxFile: env.MAILBOX_FILE || join(env.DATA_DIR || './data', 'mailbox.mbox'),
    notificationPollMs: integer(env, 'NOTIFICATION_POLL_MS', 5000, 50, 3_600_000),
    notificationMaxAgeHours: integer(env, 'NOTIFICATION_MAX_AGE_HOURS', 168, 1, 87_600),
    schedulerIntervalMs: integer(env, 'SCHEDULER_INTERVAL_MS', 30_000, 100, 86_400_000),
    backgroundJobs: flag(env, 'BACKGROUND_JOBS', true),
  };
};
