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
  };
};
