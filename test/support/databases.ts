import { randomBytes } from 'node:crypto';
import { comparePositions, type EventStore } from '../../src/eventstore/eventStore';
import { openPglite } from '../../src/sql/pglite';
import { openPostgres } from '../../src/sql/postgres';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';

export interface TestDatabase {
  readonly db: SqlDatabase;
  readonly close: () => Promise<void>;
}

export const postgresUrl = (): string | undefined => process.env.DATABASE_URL || undefined;

/**
 * A PostgreSQL database of its own for one test file: a fresh schema on DATABASE_URL, dropped at
 * the end, so test files running in parallel never see each other's rows.
 */
export const openTestPostgres = async (url: string, options: { max?: number } = {}): Promise<TestDatabase> => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = openPostgres(url, { max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = openPostgres(url, { max: options.max ?? 20, options: `-c search_path=${schema}` });
  return {
    db,
    close: async () => {
      await db.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
};

export const openTestPglite = async (): Promise<TestDatabase> => {
  const db = await openPglite();
  return { db, close: () => db.close() };
};

/** The two SQL back ends; PostgreSQL only when DATABASE_URL is set (a loud skip otherwise). */
export const sqlBackends = (): { name: string; open: () => Promise<TestDatabase> }[] => {
  const url = postgresUrl();
  const backends = [{ name: 'embedded (PGlite)', open: openTestPglite }];
  if (url) backends.push({ name: 'PostgreSQL', open: () => openTestPostgres(url) });
  return backends;
};

/** Call at the top of a test file that has a PostgreSQL part: says loudly when it is skipped. */
export const announcePostgresSkip = (suite: string): void => {
  if (!postgresUrl()) {
    console.warn(`\n*** ${suite}: PostgreSQL part SKIPPED because DATABASE_URL is unset. ***\n`);
    test.skip(`${suite} on PostgreSQL (skipped: DATABASE_URL is unset)`, () => undefined);
  }
};

export const kurrentConnectionString = (): string | undefined => process.env.EVENTSTORE_CONNECTION_STRING || undefined;

/** Where a composed server keeps its events and read models, and the settings that say so. */
export interface StoreBackend {
  readonly name: string;
  readonly open: () => Promise<TestDatabase>;
  /** More configuration for the server (the KurrentDB connection string). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The SQL back ends, and KurrentDB (events) with embedded read models when
 * EVENTSTORE_CONNECTION_STRING names a server (a loud skip otherwise: `announceKurrentSkip`). On a
 * shared server the log holds earlier runs' events too; the fresh read models catch up on them.
 */
export const storeBackends = (): StoreBackend[] => {
  const kurrent = kurrentConnectionString();
  return [
    ...sqlBackends().map((backend) => ({ ...backend, env: {} })),
    ...(kurrent ? [{ name: 'KurrentDB (events) with embedded read models', open: openTestPglite, env: { EVENTSTORE_CONNECTION_STRING: kurrent } }] : []),
  ];
};

/** Call at the top of a test file that has a KurrentDB part: says loudly when it is skipped. */
export const announceKurrentSkip = (suite: string): void => {
  if (!kurrentConnectionString()) {
    console.warn(`\n*** ${suite}: KurrentDB part SKIPPED because EVENTSTORE_CONNECTION_STRING is unset (e.g. kurrentdb://127.0.0.1:2113?tls=false). ***\n`);
    test.skip(`${suite} on KurrentDB (skipped: EVENTSTORE_CONNECTION_STRING is unset)`, () => undefined);
  }
};

/**
 * Waits until every event committed so far can be read with `readAll`. On PostgreSQL an event is
 * readable once every older transaction on the server has ended (the store's visibility rule), so
 * on a busy shared server (other test files, other databases) a read right after an append can
 * come back short.
 */
export const logVisible = async (store: EventStore, timeoutMs = 60_000): Promise<void> => {
  const committed = await store.readCommittedHead();
  const deadline = Date.now() + timeoutMs;
  while (comparePositions(await store.readHead(), committed) < 0) {
    if (Date.now() > deadline) throw new Error(`The log's committed events did not become readable within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};
