import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import type { Config } from '../config';
import { DomainError } from '../domain/shared/decider';
import { REPLAY_CONNECTIONS } from '../projectionEngine/replay';
import type { SqlDatabase } from '../sql/sqlDatabase';

/**
 * The database the environment configures, for a tool. The embedded store must exist already
 * (PGlite would quietly create an empty one) and is refused while another process holds it.
 */
export const openConfiguredDatabase = async (config: Config, options: { readonly connections?: number } = {}): Promise<SqlDatabase> => {
  // Each driver is loaded only when it is the one configured: `pg` and PGlite each take a few hundred
  // milliseconds to load, which a tool answering on the other store should not pay (bench cli-startup).
  if (config.databaseUrl) return (await import('../sql/postgres')).openPostgres(config.databaseUrl, { max: options.connections ?? REPLAY_CONNECTIONS });
  if (!existsSync(config.dataDir)) throw new DomainError('NOT_FOUND', `No embedded store at ${config.dataDir} (set DATA_DIR or DATABASE_URL).`);
  // V8 compiles PGlite's 8.7 MB of WASM twice: at once with its baseline compiler (Liftoff), then again
  // with its optimizing one (TurboFan) for the functions PostgreSQL's start runs hot. A tool pays that
  // second compile (~0.5 s of CPU) and never gets it back: without it a tool's open took half the CPU,
  // and even a 100,000-event export or rebuild took less (bench cli-startup, BENCHMARKS.md). The server,
  // which runs for hours, keeps the optimizing tier. Set before PGlite compiles its module.
  setFlagsFromString('--liftoff-only');
  return (await import('../sql/pglite')).openPglite(config.dataDir);
};

