import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { createApp, type App } from '../src/app';
import { ReadAuditLog, type ReadEntry, type ReadRecorder } from '../src/audit/readAudit';
import { execute, parse } from 'graphql';
import type { CommandContext } from '../src/commands/pipeline';
import { loadConfig, type Config } from '../src/config';
import { mintToken } from '../src/graphql/auth';
import { createContextFactory } from '../src/graphql/context';
import { startHttpServer, type RunningHttpServer } from '../src/http/server';
import { createLogger } from '../src/log';
import { openPglite } from '../src/sql/pglite';
import { openPostgres } from '../src/sql/postgres';
import type { SqlDatabase } from '../src/sql/sqlDatabase';
import type { Benchmark, BenchmarkReport } from './benchmark';

/**
 * Who read what (issue 15, part 5): what recording staff reads costs the history query. One app,
 * one database, two HTTP front doors on the same schema and services in the same process: one
 * records reads (as the server does), the other hands them to a recorder that drops them. The
 * history query (`userHistory(first: 20)` of a user with many entries, by an admin, over HTTP) is
 * sent to both, interleaved call by call, so both see the same machine noise and the same
 * background flushes of the recorder.
 */

const HISTORY_P99_TARGET_MS = 20;
/** "No measurable change": within 10% of the p99 without recording, or within half a millisecond. */
const RATIO_LIMIT = 1.1;
const ABSOLUTE_SLACK_MS = 0.5;

const intFromEnv = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
};

const fmt = (value: number, digits = 0): string => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/**
 * The configuration of an app a benchmark composes in its process: an ephemeral port on loopback, warnings
 * only, no background jobs, a token key made for this run only (nothing is kept), and no rate limits
 * (thousands of requests from one token are the point). `extra` adds or overrides settings.
 */
export const benchAppConfig = (extra: Readonly<Record<string, string>> = {}): Config =>
  loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    BACKGROUND_JOBS: 'false',
    AUTH_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    RATE_LIMIT_READS_PER_MINUTE: '0',
    RATE_LIMIT_WRITES_PER_MINUTE: '0',
    RATE_LIMIT_ADDRESS_PER_MINUTE: '0',
    ...extra,
  });

/** A database for the run: a fresh schema on DATABASE_URL (dropped afterwards), else the embedded store in memory. */
export const openBenchDatabase = async (pool: { max?: number; idleTimeoutMillis?: number } = {}): Promise<{ db: SqlDatabase; label: string; close: () => Promise<void> }> => {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = await openPglite();
    return { db, label: 'embedded store (PGlite, in memory)', close: () => db.close() };
  }
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const admin = openPostgres(url, { max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = openPostgres(url, { ...pool, options: `-c search_path=${schema}` });
  return {
    db,
    label: 'PostgreSQL (DATABASE_URL, a fresh schema)',
    close: async () => {
      await db.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
};

const HISTORY_QUERY = `query ($userId: ID!) { userHistory(userId: $userId, first: 20) {
  totalCount edges { cursor node { id summary occurredAt actor { id role } } } } }`;

/** A user with `entries` history entries: registered, application completed, then status changes back and forth. */
const seedHistory = async (app: App, entries: number): Promise<string> => {
  let tick = Date.parse('2026-01-05T09:00:00.000Z');
  const context = (): CommandContext => ({
    actor: { id: 'bench.admin', role: 'admin' },
    now: new Date((tick += 1000)).toISOString(),
    correlationId: `bench-${tick}`,
  });
  const { programId } = await app.services.commands.createProgram(context(), { name: 'Bench program', timeZone: 'UTC' });
  const { userId } = await app.services.commands.registerUser(context(), {
    email: 'heavy.reader.bench@example.org',
    name: 'Heavy History',
    programId,
    role: 'MENTEE',
    company: null,
    manager: null,
  });
  await app.services.commands.completeApplication(context(), userId);
  for (let i = 0; i < entries; i++) await app.services.commands.changeUserStatus(context(), userId, i % 2 === 0 ? 'IW' : 'SI');
  if (!(await app.services.catchUpProjections())) throw new Error('read-audit: the projections did not catch up with the seeded history');
  return userId;
};

export const readAudit: Benchmark = {
  name: 'read-audit',
  title: 'Who read what: the history query with and without recording staff reads',
  target: `history query p99 under ${HISTORY_P99_TARGET_MS} ms with reads recorded, and recording adds no measurable p99 (the median of the rounds' p99 ratios to the same query without it, same run, at most ${RATIO_LIMIT}×, or +${ABSOLUTE_SLACK_MS} ms)`,
  async run(log): Promise<BenchmarkReport> {
    const entries = intFromEnv('BENCH_READ_AUDIT_HISTORY', 1000);
    const calls = intFromEnv('BENCH_READ_AUDIT_CALLS', 2000);
    const rounds = intFromEnv('BENCH_READ_AUDIT_ROUNDS', 4);
    const warmup = Math.min(200, calls);
    const database = await openBenchDatabase();
    const logger = createLogger({ level: 'warn' });
    const config = benchAppConfig();
    const app = await createApp(config, { logger, db: database.db });
    let recording: RunningHttpServer | null = null;
    let plain: RunningHttpServer | null = null;
    try {
      recording = await app.start();
      let dropped = 0;
      const dropping: ReadRecorder = {
        record: (_entry: ReadEntry) => {
          dropped += 1;
        },
      };
      plain = await startHttpServer({
        schema: app.schema,
        contextFactory: createContextFactory({ secret: config.tokenKeys!, clock: () => new Date(), services: { ...app.services, readAudit: dropping }, logger }),
        port: 0,
        host: '127.0.0.1',
        logger,
        limits: { maxDepth: config.maxQueryDepth, maxCost: config.maxQueryCost },
      });
      log(`read-audit: ${database.label}; seeding a user with ${fmt(entries)} history entries`);
      const userId = await seedHistory(app, entries);
      const token = await mintToken({ secret: config.tokenKeys!, subject: 'bench.admin', role: 'admin', expiresIn: '1h' });
      const body = JSON.stringify({ query: HISTORY_QUERY, variables: { userId } });
      const check = (result: { data?: unknown; errors?: unknown }): void => {
        const edges = (result.data as { userHistory?: { edges: unknown[] } } | null | undefined)?.userHistory?.edges;
        if (result.errors || edges?.length !== 20) throw new Error(`read-audit: unexpected answer ${JSON.stringify(result).slice(0, 300)}`);
      };
      const overHttp = (server: RunningHttpServer) => async (): Promise<number> => {
        const started = process.hrtime.bigint();
        const response = await fetch(new URL('graphql', server.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body,
        });
        const result = (await response.json()) as { data?: unknown; errors?: unknown[] };
        const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
        check(result);
        return elapsed;
      };
      // The same query executed in process (context per call as the server makes it), without HTTP and JSON.
      const document = parse(HISTORY_QUERY);
      const inProcess = (services: typeof app.services) => {
        const contexts = createContextFactory({ secret: config.tokenKeys!, clock: () => new Date(), services, logger });
        return async (): Promise<number> => {
          const started = process.hrtime.bigint();
          const contextValue = await contexts({ headers: { authorization: `Bearer ${token}` } });
          const result = await execute({ schema: app.schema, document, contextValue, variableValues: { userId } });
          const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
          check(result);
          return elapsed;
        };
      };
      const sides = [
        { name: 'executed in process, reads recorded', call: inProcess(app.services), times: [] as number[] },
        { name: 'executed in process, reads not recorded', call: inProcess({ ...app.services, readAudit: dropping }), times: [] as number[] },
        { name: 'over HTTP, reads recorded', call: overHttp(recording), times: [] as number[] },
        { name: 'over HTTP, reads not recorded', call: overHttp(plain), times: [] as number[] },
      ];
      for (let i = 0; i < warmup; i++) for (const side of sides) await side.call();
      await app.services.readLog.flush();
      const before = await rowCount(database.db);
      log(`read-audit: ${fmt(calls)} calls a side, interleaved, in ${rounds} rounds`);
      const statsBefore = app.services.readLog.stats;
      const roundRatios: { inProcess: number; http: number }[] = [];
      for (let round = 0; round < rounds; round++) {
        const from = sides.map((side) => side.times.length);
        const steps = Math.ceil(calls / rounds);
        for (let i = 0; i < steps && sides[0]!.times.length < calls; i++) {
          // Rotate which side goes first, so none always follows another's work or the recorder's flush.
          for (let k = 0; k < sides.length; k++) {
            const side = sides[(i + k) % sides.length]!;
            side.times.push(await side.call());
          }
        }
        const p99Of = (index: number) => percentile([...sides[index]!.times.slice(from[index])].sort((a, b) => a - b), 99);
        roundRatios.push({ inProcess: p99Of(0) / p99Of(1), http: p99Of(2) / p99Of(3) });
        log(`  round ${round + 1}: p99 ratio recorded / not ${fmt(roundRatios.at(-1)!.inProcess, 2)} in process, ${fmt(roundRatios.at(-1)!.http, 2)} over HTTP`);
      }
      await app.services.readLog.flush();
      const recorded = (await rowCount(database.db)) - before;
      if (recorded !== 2 * calls) throw new Error(`read-audit: expected ${2 * calls} recorded reads, found ${recorded}`);
      const statsAfter = app.services.readLog.stats;
      const flushes = statsAfter.statements - statsBefore.statements;
      const flushMsTotal = statsAfter.statementMs - statsBefore.statementMs;

      // The recorder alone: what `record` costs the request, and what one flush of a full batch costs.
      const alone = await ReadAuditLog.create(database.db, { logger, flushIntervalMs: 3_600_000, maxBatch: 500 });
      const sample: ReadEntry = {
        readAt: new Date().toISOString(),
        actorId: 'bench.admin',
        actorRole: 'admin',
        kind: 'USER_HISTORY',
        objectId: userId,
        subjectUserId: userId,
        via: 'Query.userHistory',
        requestId: 'bench',
        correlationId: 'bench',
      };
      const recordStarted = process.hrtime.bigint();
      for (let i = 0; i < 499; i++) alone.record(sample);
      const recordNs = Number(process.hrtime.bigint() - recordStarted) / 499;
      const flushStarted = process.hrtime.bigint();
      await alone.flush();
      const flushMs = Number(process.hrtime.bigint() - flushStarted) / 1e6;
      await alone.stop();

      const stats = sides.map((side) => {
        const sorted = [...side.times].sort((a, b) => a - b);
        return { name: side.name, p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: mean(side.times) };
      });
      const [execWith, execWithout, httpWith, httpWithout] = stats as [Stat, Stat, Stat, Stat];
      const ratio = execWith.p99 / execWithout.p99;
      const httpRatio = httpWith.p99 / httpWithout.p99;
      const medianRatio = median(roundRatios.map((r) => r.inProcess));
      const unmeasurable = medianRatio <= RATIO_LIMIT || execWith.p99 - execWithout.p99 <= ABSOLUTE_SLACK_MS;
      const met = execWith.p99 < HISTORY_P99_TARGET_MS && unmeasurable;
      for (const stat of stats) log(`  ${stat.name}: p50 ${fmt(stat.p50, 2)} ms, p99 ${fmt(stat.p99, 2)} ms`);
      const row = (stat: Stat): string[] => [stat.name, fmt(stat.p50, 2), fmt(stat.p99, 2), fmt(stat.mean, 2)];
      const ratioRow = (name: string, a: Stat, b: Stat): string[] => [name, fmt(a.p50 / b.p50, 2), fmt(a.p99 / b.p99, 2), fmt(a.mean / b.mean, 2)];
      return {
        environment: [
          `Database: ${database.label}`,
          `A user with ${fmt(entries)} history entries; ${fmt(calls)} timed calls a side in ${rounds} rounds after ${fmt(warmup)} warm-up calls a side`,
          `Recorder as the server runs it: flush every ${database.db.kind === 'embedded' ? '2' : '1'} s or 500 reads, one INSERT a flush`,
        ],
        table: {
          columns: ['userHistory(first: 20) by an admin', 'p50 ms', 'p99 ms', 'mean ms'],
          rows: [
            row(execWith),
            row(execWithout),
            ratioRow('in process: ratio recorded / not', execWith, execWithout),
            row(httpWith),
            row(httpWithout),
            ratioRow('over HTTP: ratio recorded / not', httpWith, httpWithout),
          ],
        },
        result:
          `history query p99 ${fmt(execWith.p99, 2)} ms with reads recorded, ${fmt(execWithout.p99, 2)} ms without (${fmt(ratio, 2)}×; ` +
          `median of the ${rounds} rounds' ratios ${fmt(medianRatio, 2)}×), executed in process; over HTTP ${fmt(httpWith.p99, 2)} vs ${fmt(httpWithout.p99, 2)} ms (${fmt(httpRatio, 2)}×)`,
        targetMet: met,
        details: `
Method: \`bench/readAudit.ts\`. One composed app (\`createApp\`) on one database, four ways to send it the same
\`userHistory(first: 20)\` with an admin's token: executed in process (\`graphql.execute\` on the app's schema,
with a context made per call by the server's context factory: token check, resolver, access check, read model,
recording) with the app's recorder or with one that drops every read; and over HTTP to the app's own server
(recording) or to a second HTTP server in the same process on the same schema and services with the dropping
recorder (${fmt(dropped)} dropped in all). Each timed step calls the four in turn, rotating which goes first;
HTTP is timed in the client (\`fetch\`, JSON parsed). The target is judged on the in-process numbers: over HTTP
the client, Apollo's request pipeline and the JSON dominate and move with the machine's load. ${fmt(recorded)} reads
were written to \`audit_reads\` during the timed calls (one per recorded call, as each reads one user's history
once), by the recorder's background flushes, which share the database with the queries. The recorder alone:
\`record\` ${fmt(recordNs, 0)} ns a read (a push onto an array), and one flush of 500 reads, a single
\`INSERT ... SELECT FROM unnest(...)\`, ${fmt(flushMs, 2)} ms. During the timed calls the server's recorder ran ${fmt(flushes)}
statements (${fmt(flushMsTotal / Math.max(flushes, 1), 2)} ms each on average, ${fmt(flushMsTotal, 0)} ms in all, the longest of the run
${fmt(statsAfter.longestStatementMs, 2)} ms).

The p99 ratio of each round (recorded / not), in process: ${roundRatios.map((r) => fmt(r.inProcess, 2)).join(', ')}; over HTTP:
${roundRatios.map((r) => fmt(r.http, 2)).join(', ')}. "No measurable change" is judged on the median of the in-process ratios, because
a single p99 of a few thousand calls on a shared 2-core machine moves by tens of percent between runs whether or not
anything changed (compare the rounds; the load average was ${loadavg().map((l) => fmt(l, 1)).join(', ')} at the end of this run).
`,
      };
    } finally {
      if (plain) await plain.stop();
      await app.stop();
      await database.close();
    }
  },
};

interface Stat {
  readonly name: string;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;

const rowCount = async (db: SqlDatabase): Promise<number> =>
  Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM audit_reads')).rows[0]!.n);
