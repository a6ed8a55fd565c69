import { existsSync } from 'node:fs';
import type { Config } from '../config';
import { DomainError } from '../domain/shared/decider';
import { REPLAY_CONNECTIONS } from '../projections/replay';
import { openPglite } from '../sql/pglite';
import { openPostgres } from '../sql/postgres';
import type { SqlDatabase } from '../sql/sqlDatabase';

/**
 * The database the environment configures, for a tool. The embedded store must exist already
 * (PGlite would quietly create an empty one) and is refused while another process holds it.
 */
export const openConfiguredDatabase = async (config: Config, options: { readonly connections?: number } = {}): Promise<SqlDatabase> => {
  if (config.databaseUrl) return openPostgres(config.databaseUrl, { max: options.connections ?? REPLAY_CONNECTIONS });
  if (!existsSync(config.dataDir)) throw new DomainError('NOT_FOUND', `No embedded store at ${config.dataDir} (set DATA_DIR or DATABASE_URL).`);
  return openPglite(config.dataDir);
};

