import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { createApp, type App } from '../src/app';
import { migrateAuditIndexes } from '../src/audit/eventLog';
import { loadConfig, withTokenKeys } from '../src/config';
import { SqlEventStore } from '../src/eventstore/sqlEventStore';
import { createLogger } from '../src/log';
import { ProjectionRunner } from '../src/projectionEngine/runner';
import { openPostgres } from '../src/sql/postgres';
import type { SqlDatabase } from '../src/sql/sqlDatabase';
import { serverProjections } from '../projections';
import { fmt } from './appendThroughput';
import type { Benchmark } from './benchmark';
import { seed } from './eventLogScale';

/**
 * How long the server takes from `createApp` to answering `/health` on a long PostgreSQL log, with
 * the audit indexes on es_events built before it listens (the code before migrations: awaited in
 * `createApp`) against built in the background after it listens (now), and a restart with every
 * migration recorded. The log lives in a schema of its own in DATABASE_URL's database, seeded once
 * (BENCH_EVENTS events, default 1,000,000) and reused while it has that many.
 */
const SCHEMA = 'bench_server_startup';
const TARGET_SECONDS = 3;
const AUDIT_INDEXES = [
  'es_events_audit_correlation',
  'es_events_audit_causation',
  'es_events_audit_actor',
  'es_events_audit_type',
  'es_events_audit_occurred_at',
  'es_events_audit_stream_prefix',
];

const eventCount = async (db: SqlDatabase): Promise<number> => {
  const table = await db.query<{ found: string | null }>(`SELECT to_regclass('es_streams')::text AS found`);
  if (!table.rows[0]!.found) return 0;
  const { rows } = await db.query<{ events: string; streams: string }>(`SELECT (SELECT count(*) FROM es_events)::text AS events, (SELECT count(*) FROM es_streams)::text AS streams`);
  return Number(rows[0]!.streams) > 0 ? Number(rows[0]!.events) : 0;
};

/** The log as a server started by code without the audit indexes finds it: neither built nor recorded. */
const forgetAuditIndexes = async (db: SqlDatabase): Promise<void> => {
  for (const name of AUDIT_INDEXES) await db.query(`DROP INDEX IF EXISTS ${name}`);
  await db.query(`DELETE FROM schema_migrations WHERE component = 'event-log-indexes'`);
};

export const serverStartup: Benchmark = {
  name: 'server-startup',
  title: 'Server start-up on a long PostgreSQL log: /health after the audit indexes are built (before) or while they are built in the background (now)',
  target: `/health answers within ${TARGET_SECONDS} s of start on a 1M-event PostgreSQL log`,
  async run(log) {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('server-startup needs DATABASE_URL (its log goes into a schema of its own there)');
    const target = Number(process.env.BENCH_EVENTS ?? 1_000_000);
    const admin = openPostgres(url, { max: 1 });
    const db = openPostgres(url, { max: 10, options: `-c search_path=${SCHEMA}`, idleTimeoutMillis: 600_000 });
    const logger = createLogger({ level: 'silent' });
    try {
      let events = await eventCount(db).catch(() => 0);
      if (events < target) {
        await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
        await admin.query(`CREATE SCHEMA ${SCHEMA}`);
        await SqlEventStore.create(db);
        log(`server-startup: seeding ${fmt(target)} events into schema ${SCHEMA}`);
        await seed(db, target, 10_000, log);
        events = await eventCount(db);
      } else {
        log(`server-startup: reusing the ${fmt(events)} events in schema ${SCHEMA}`);
      }
      // The read models caught up, as a restarted server finds them (the runner catches up in the
      // background either way; this keeps its work out of the start-up being measured).
      const store = await SqlEventStore.create(db);
      const runner = await ProjectionRunner.create(store, db, serverProjections);
      const behind = await runner.status();
      if (behind.some((row) => row.position.major === 0n)) {
        log('  rebuilding the read models once');
        await runner.rebuild(...serverProjections.map((p) => p.name));
      }
      await runner.catchUp();

      const config = withTokenKeys(loadConfig({ DATABASE_URL: url, AUTH_TOKEN_SECRET: randomBytes(32).toString('base64url'), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', BACKGROUND_JOBS: 'false' }));
      /** One start: `createApp` to the first 200 from /health; `before` builds the audit indexes first, as the old start-up did. */
      const start = async (before: boolean): Promise<{ seconds: number; app: App }> => {
        const started = performance.now();
        const app = await createApp(config, { logger, db });
        if (before) await migrateAuditIndexes(db);
        const http = await app.start();
        const response = await fetch(new URL('health', `${http.url}/`));
        if (response.status !== 200) throw new Error(`/health answered ${response.status}`);
        return { seconds: (performance.now() - started) / 1000, app };
      };
      const rows: string[][] = [];
      const loads: string[] = [];

      await forgetAuditIndexes(db);
      await db.query('CHECKPOINT');
      const old = await start(true);
      await old.app.stop();
      loads.push(loadavg()[0]!.toFixed(1));
      log(`  indexes built before listening: /health after ${fmt(old.seconds, 2)} s`);
      rows.push(['audit indexes built before listening (the code before migrations)', fmt(old.seconds, 2), 'built', loads.at(-1)!]);

      await forgetAuditIndexes(db);
      await db.query('CHECKPOINT');
      const first = await start(false);
      const buildStarted = performance.now();
      // The background build, till recorded.
      for (;;) {
        const { rows: recorded } = await db.query(`SELECT 1 FROM schema_migrations WHERE component = 'event-log-indexes'`);
        if (recorded.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const background = (performance.now() - buildStarted) / 1000 + 0;
      await first.app.stop();
      loads.push(loadavg()[0]!.toFixed(1));
      log(`  indexes built in the background: /health after ${fmt(first.seconds, 2)} s; indexes recorded ${fmt(background, 1)} s later`);
      rows.push(['audit indexes missing, built in the background after listening (now)', fmt(first.seconds, 2), `recorded ${fmt(background, 1)} s after /health`, loads.at(-1)!]);

      const again: number[] = [];
      for (let i = 0; i < 3; i++) {
        const restart = await start(false);
        again.push(restart.seconds);
        await restart.app.stop();
      }
      again.sort((a, b) => a - b);
      loads.push(loadavg()[0]!.toFixed(1));
      const restart = again[1]!;
      log(`  restart, every migration recorded: /health after ${fmt(restart, 2)} s (median of 3)`);
      rows.push(['restart, every migration recorded (median of 3)', fmt(restart, 2), 'recorded', loads.at(-1)!]);
      const worst = Math.max(first.seconds, restart);
      return {
        table: { columns: ['start-up', 'seconds to /health', 'audit indexes', 'load average (1 min)'], rows },
        environment: [`${fmt(events)} events in es_events (PostgreSQL, schema ${SCHEMA} of DATABASE_URL's database); read models caught up before each start`],
        result: `/health after ${fmt(first.seconds, 2)} s on a first start with the indexes missing (was ${fmt(old.seconds, 2)} s: ${fmt(old.seconds / first.seconds, 1)}× faster), ${fmt(restart, 2)} s on a restart`,
        targetMet: worst <= TARGET_SECONDS,
        details:
          '**Method.** Each start times `createApp` (which applies the recorded migrations: one short transaction per component on an ' +
          'up-to-date database) through `app.start()` to the first 200 from `/health`, in this process, with the read models caught up. ' +
          'The "before" row drops the six audit indexes and their record, then awaits `migrateAuditIndexes` before listening, which is ' +
          'what the start-up did before migrations (`ensureIndexes` in `createApp`, CREATE INDEX CONCURRENTLY one index at a time). ' +
          'The "now" row drops them again and lets the server build them after it listens; the build time is how long until ' +
          '`schema_migrations` records them (the event log answers meanwhile, without them: slower filtered pages). ' +
          'Command: `DATABASE_URL=... npm run bench -- --only server-startup`.',
      };
    } finally {
      await db.close();
      await admin.close();
    }
  },
};
