import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import type { GraphQLSchema } from 'graphql';
import { serverProjections } from '../projections';
import { SqlLifecycleReadModel } from '../projections/lifecycle/lifecycle.queries';
import { SqlMatchingReadModel } from '../projections/matching/matching.queries';
import { SqlAutoMatchingQueries } from '../projections/matching/autoMatching.queries';
import { SqlManagerReportQueries } from '../projections/managerReport/managerReport.queries';
import { SqlMeetingReadModel } from '../projections/meetings/meetings.queries';
import { MeetingCommands } from './application/meetingCommands';
import type { MeetingServices } from './graphql/meetings';
import { LiveEventHub } from './live/liveEvents';
import type { AuditServices } from './graphql/audit';
import { SqlEventLog, migrateAuditIndexes, type EventLogReader } from './audit/eventLog';
import { BACKGROUND_COMPONENT, serverMigrationSets } from './schemaMigrations';
import { forgetMigrationRecords, migrationStatus, readMigrationRecords } from './sql/migrations';
import { IndexedEventLog } from './audit/indexedEventLog';
import { eventLogIndexProjection } from '../projections/eventLogIndex/eventLogIndex.projection';
import { ReadAuditLog } from './audit/readAudit';
import type { LiveServices } from './graphql/live/live.resolver';
import type { TokenServices } from './graphql/tokens/tokens.resolver';
import { SqlInitiativeReadModel } from '../projections/registrations/registrations.queries';
import { Pseudonyms } from './audit/pseudonyms';
import { InitiativeCommands } from './application/initiativeCommands';
import { RegistrationReminderScheduler } from './scheduler/registrationReminders';
import { ManagerReportScheduler } from './scheduler/managerReports';
import { participationDatesExportRoute, registrationsExportRoute } from './http/registrationRoutes';
import { managerReportRoute } from './http/managerReportRoute';
import type { IncomingMessage } from 'node:http';
import { AutoMatchingService } from './application/autoMatching';
import { createNotificationWorker, listOutbox, type NotificationWorker } from './notifications';
import { MatchingScheduler } from './scheduler/matchingScheduler';
import { matchesExportRoute, type RouteCaller } from './http/routes';
import { bearerToken } from './graphql/auth';
import { createAuthenticator, type Authenticator } from './auth/authenticator';
import { TokenRevocations } from './auth/revocations';
import { cachedUserDirectory, eventStoreUserDirectory, type CachedUserDirectory } from './auth/userDirectory';
import { usersImportRoute } from './http/importRoutes';
import { OneClickLinks } from './links/oneClickLinks';
import { mailFinishing } from './links/mailFinishing';
import { linkRoutes } from './http/linkRoutes';
import { BulkRegistration } from './application/bulkRegistration';
import type { ImportServices } from './graphql/imports/bulkRegistration.resolver';
import { LifecycleCommands } from './application/lifecycleCommands';
import { loadEmailStreams } from './identity/emailStreams';
import { CommandPipeline } from './commands/pipeline';
import { ConfigError, MISSING_KEYS_MESSAGE, type Config } from './config';
import { userDecider, userStream, type UserState } from './domain';
import { START, comparePositions, formatPosition, type EventStore, type GlobalPosition } from './eventstore/eventStore';
import { DomainError } from './domain/shared/decider';
import { SqlEventStore } from './eventstore/sqlEventStore';
import { createContextFactory } from './graphql/context';
import type { HealthReport } from './graphql/health.type';
import type { LifecycleServices } from './graphql/lifecycle';
import { buildApiSchema } from './graphql/schema';
import { startHttpServer, type RunningHttpServer } from './http/server';
import type { Logger } from './log';
import { ProjectionRunner } from './projectionEngine/runner';
import { openPglite } from './sql/pglite';
import type { SqlDatabase } from './sql/sqlDatabase';
import { createMetrics, type Metrics, type ProjectionLag } from './observability/metrics';
import { NO_TRACING, startTracing, tracedDatabase, tracedEventStore } from './observability/tracing';
import type { ReadinessReport } from './http/server';

export interface AppDependencies {
  readonly logger: Logger;
  /** The clock every command and request reads (tests pass a controlled one). */
  readonly clock?: () => Date;
  /** Use this database instead of the one the configuration names (tests); the caller closes it. */
  readonly db?: SqlDatabase;
  /** Use this event store instead of the one the configuration names (tests); the app closes it. */
  readonly store?: EventStore;
  /** How long a read waits for the projections to include a client's own write. */
  readonly consistencyTimeoutMs?: number;
}

export interface App {
  readonly config: Config;
  readonly db: SqlDatabase;
  readonly store: EventStore;
  readonly runner: ProjectionRunner;
  readonly services: LifecycleServices & MeetingServices & LiveServices & AuditServices & TokenServices & ImportServices;
  readonly schema: GraphQLSchema;
  /** Every door's token check: local keys, the identity provider, the revocation list. */
  readonly authenticator: Authenticator;
  /** Prometheus metrics (also served at `/metrics` when METRICS is on). */
  readonly metrics: Metrics;
  /** What `/health/ready` answers: store reachable, projections within the lag bound, schema in place. */
  readiness(): Promise<ReadinessReport>;
  /** How far each read model is behind the log. */
  projectionLag(): Promise<readonly ProjectionLag[]>;
  /**
   * The background jobs: the notification worker and the matching scheduler. `start()` runs them
   * when the configuration says so (BACKGROUND_JOBS); tests drive them by hand.
   */
  readonly jobs: {
    readonly notifications: NotificationWorker;
    readonly scheduler: MatchingScheduler;
    readonly registrationReminders: RegistrationReminderScheduler;
    readonly managerReports: ManagerReportScheduler;
  };
  /** Starts the projection runner and the HTTP server. */
  start(): Promise<RunningHttpServer>;
  /** Stops taking requests, finishes those in flight and the projection batch in hand, closes stores. */
  stop(): Promise<void>;
}

/** Streams whose folded state the command pipeline keeps (a user's state is a few kB). */
const STATE_CACHE_STREAMS = 20_000;
/** How long a kept state is extended before its stream is read whole again (see StreamStateCacheOptions). */
const STATE_CACHE_MAX_AGE_MS = 5 * 60_000;

/** How long the runner lets appends gather before a round on the embedded store (no request waiting). */
const EMBEDDED_COALESCE_MS = 100;

/** How often the projection runner looks for new events when nothing woke it, on the embedded store. */
const EMBEDDED_IDLE_POLL_MS = 5_000;

const openDatabase = async (config: Config): Promise<SqlDatabase> => {
  // Each driver loaded only when it is the one configured (`pg` is ~40 ms of a start's module loading).
  if (config.databaseUrl) return (await import('./sql/postgres')).openPostgres(config.databaseUrl, { max: config.instances.databasePoolMax });
  mkdirSync(config.dataDir, { recursive: true });
  // V8 re-compiles PGlite's hot WASM functions with its optimizing compiler on background threads, by
  // default as many at once as it has threads: on a two-core machine they took the main thread's core
  // while the server was starting. One at a time leaves it a core; the same functions are optimized,
  // only later, so requests run as fast once warm (BENCHMARKS.md, embedded-rest). Set before PGlite
  // compiles its module.
  setFlagsFromString('--wasm-num-compilation-tasks=1');
  return openPglite(config.dataDir);
};

/** The composition root: picks adapters from configuration and wires everything once. */
export const createApp = async (config: Config, dependencies: AppDependencies): Promise<App> => {
  const { logger } = dependencies;
  const clock = dependencies.clock ?? (() => new Date());
  // Off unless configured: then nothing of the OpenTelemetry SDK is loaded and every seam calls straight through.
  const tracing = config.tracing ? await startTracing(config.tracing) : NO_TRACING;
  const untracedDb = dependencies.db ?? (await openDatabase(config));
  // Every SQL statement and event-store call of the service is a span (when tracing is on).
  const db = tracedDatabase(untracedDb, tracing);
  // One read of the migration record for every component created below (each checks its own list
  // against it instead of reading it again); forgotten once they are all created.
  await readMigrationRecords(db);
  const untracedStore: EventStore =
    dependencies.store ??
    (config.eventStoreConnectionString
      ? // Loaded only when configured: the KurrentDB client (gRPC) is a fifth of the server's module loading.
        (await import('./eventstore/kurrentEventStore')).KurrentEventStore.connect(config.eventStoreConnectionString)
      : await SqlEventStore.create(db));
  const logInDatabase = untracedStore instanceof SqlEventStore && (untracedStore.keepsLogIn(db) || untracedStore.keepsLogIn(untracedDb));
  const store = tracedEventStore(untracedStore, tracing);
  // The auditors' view of the log: the SQL store's own tables, or with KurrentDB an index of the log
  // that a projection keeps in the read-model database (projections/eventLogIndex/eventLogIndex.projection.ts).
  const eventLog: EventLogReader = logInDatabase ? new SqlEventLog(db) : new IndexedEventLog(db, store);
  const projections = logInDatabase ? serverProjections : [...serverProjections, eventLogIndexProjection];
  const pseudonyms = await Pseudonyms.load(db);
  // The audit indexes: on the embedded store now (a migration like the others); on PostgreSQL in the
  // background once the server listens (built CONCURRENTLY; a long log takes a minute to index).
  if (eventLog instanceof SqlEventLog && db.kind === 'embedded') await migrateAuditIndexes(db);
  const migrationSets = serverMigrationSets({ logInDatabase: eventLog instanceof SqlEventLog, projections });
  const stopIndexing = new AbortController();
  let indexing: Promise<void> | null = null;
  // Reads are recorded in the read-model database, apart from the domain log.
  const readLog = await ReadAuditLog.create(db, { logger });
  const runner = await ProjectionRunner.create(store, db, projections, {
    tracing,
    // Every append of this process wakes the runner (the pipeline's onAppended). The embedded store
    // has no other writer, so its idle poll is only a safety net and need not take its single
    // connection four times a second; on PostgreSQL other instances append, and the poll finds them.
    ...(db.kind === 'embedded' && !config.eventStoreConnectionString ? { idleMs: EMBEDDED_IDLE_POLL_MS } : {}),
    // The embedded store's one connection is the requests': gather appends into fewer rounds while no
    // request waits for the read models (one that does is served at once). BENCHMARKS.md, graphql-throughput.
    ...(db.kind === 'embedded' ? { coalesceMs: EMBEDDED_COALESCE_MS, soleRunner: true } : {}),
    onError: (error, projection, failure) => {
      metrics.projectionFailed(projection, failure?.event?.type ?? null);
      logger.error(
        { err: error, projection, ...(failure ? { event: failure.event, attempts: failure.attempts, failingSince: failure.since, retryAt: failure.retryAt } : {}) },
        failure?.event
          ? `Projection ${projection} failed on event ${failure.event.type} at ${failure.event.position} (try ${failure.attempts}); it stops there and tries again at ${failure.retryAt}`
          : `Projection ${projection} failed; it will be retried`,
      );
    },
    onRecovered: (projection, failure) =>
      logger.info({ projection, event: failure.event, attempts: failure.attempts, failingSince: failure.since }, `Projection ${projection} applies events again`),
  });
  // Signed with a key derived from the token keys. Without local keys (an identity provider only) there
  // are none: e-mails read "sign in to your dashboard" where a link would be, and /links says links are off.
  const oneClickLinks = config.tokenKeys
    ? new OneClickLinks(config.tokenKeys, config.mailExtras.publicUrl, config.mailExtras.oneClickLinkDays * 86_400_000)
    : null;
  // After the runner: the outbox table comes from the notifications projection's schema.
  const notifications = createNotificationWorker({
    db,
    tracing,
    smtpUrl: config.smtpUrl,
    mailboxFile: config.mailboxFile,
    from: config.mailFrom,
    clock,
    logger,
    worker: {
      pollMs: config.notificationPollMs,
      leaseMs: config.instances.notificationLeaseMs,
      maxAgeMs: config.notificationMaxAgeHours * 3_600_000,
      finish: mailFinishing({ links: oneClickLinks, adminNotificationEmail: config.mailExtras.adminNotificationEmail }),
    },
  });
  let scheduler: MatchingScheduler | null = null;
  const liveEvents = new LiveEventHub({ store, logger });

  /**
   * Per read model: events after its checkpoint and the age of the oldest. From the SQL log by count;
   * from KurrentDB by reading at most LAG_READ_LIMIT events (the count then says "at least").
   */
  const LAG_READ_LIMIT = 1000;
  const projectionLag = async (): Promise<ProjectionLag[]> => {
    const statuses = await runner.status();
    const now = Date.now();
    return Promise.all(
      statuses.map(async ({ projection, position }) => {
        if (eventLog) {
          // The age by the database's clock, which stamped recorded_at.
          const { rows } = await db.query<{ events: number; seconds: number | null }>(
            `SELECT count(*)::int AS events, extract(epoch FROM now() - min(recorded_at))::float8 AS seconds FROM es_events
              WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)`,
            [position.major.toString(), position.minor.toString()],
          );
          return { projection, events: Number(rows[0]?.events ?? 0), seconds: Math.max(0, Number(rows[0]?.seconds ?? 0)) };
        }
        const pending = await store.readAll({ after: position, maxCount: LAG_READ_LIMIT });
        const oldest = pending[0] ? Date.parse(pending[0].metadata.occurredAt) : null;
        return { projection, events: pending.length, seconds: oldest === null ? 0 : Math.max(0, (now - oldest) / 1000) };
      }),
    );
  };
  const metrics = createMetrics({
    projectionLag,
    projectionsFailing: () => {
      const failing = new Set(runner.failures().map((failure) => failure.projection));
      return runner.projections.map((projection) => ({ projection: projection.name, failing: failing.has(projection.name) }));
    },
    outbox: async () => {
      const { rows } = await db.query<{ state: string; count: number }>(`SELECT state, count(*)::int AS count FROM notification_outbox GROUP BY state`);
      return Object.fromEntries(rows.map((row) => [row.state, Number(row.count)]));
    },
  });
  /** Every table start-up creates; one missing means the schema is not (or no longer) in place. */
  const requiredTables = [
    ...(eventLog ? ['es_events', 'es_streams', 'es_idempotency', 'es_erased_subjects'] : []),
    'projection_checkpoints',
    'audit_reads',
    'audit_read_subjects',
    ...runner.projections.flatMap((projection) => projection.tables),
  ];
  const readiness = async (): Promise<ReadinessReport> => {
    const checks: Record<string, { ok: boolean; detail?: unknown }> = {};
    try {
      checks.eventStore = { ok: true, detail: { store: store.name, head: formatPosition(await store.readHead()) } };
    } catch (error) {
      checks.eventStore = { ok: false, detail: `${store.name} did not answer: ${error instanceof Error ? error.message : String(error)}` };
    }
    try {
      // Migrations done: every migration of this release recorded (the audit indexes may still be
      // building in the background: reported, not required), and the tables there. Migrations the
      // database records that this release does not have (a newer release's instance applied them
      // during a rolling upgrade) or with another script are reported but keep it ready: taking every
      // older instance out of service at once, as the first new one migrates, would help no one.
      const states = await migrationStatus(db, migrationSets);
      const wrong = states.filter((row) => row.state === 'pending' && row.component !== BACKGROUND_COMPONENT);
      const building = states.filter((row) => row.state === 'pending' && row.component === BACKGROUND_COMPONENT);
      const other = states.filter((row) => row.state === 'unknown' || row.state === 'changed');
      const { rows } = await db.query<{ name: string }>(`SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NULL`, [requiredTables]);
      checks.schema = {
        ok: wrong.length === 0 && rows.length === 0,
        detail: {
          migrations: states.filter((row) => row.state === 'applied').length,
          tables: requiredTables.length,
          ...(wrong.length > 0 ? { notApplied: wrong.map((row) => `${row.component}/${row.name}`) } : {}),
          ...(other.length > 0 ? { notThisRelease: other.map((row) => ({ migration: `${row.component}/${row.name}`, state: row.state })) } : {}),
          ...(building.length > 0 ? { buildingInBackground: building.map((row) => `${row.component}/${row.name}`) } : {}),
          ...(rows.length > 0 ? { missing: rows.map((row) => row.name) } : {}),
        },
      };
    } catch (error) {
      checks.schema = { ok: false, detail: `the read-model database did not answer: ${error instanceof Error ? error.message : String(error)}` };
    }
    try {
      const bound = config.operations.readyMaxProjectionLagSeconds;
      const lag = await projectionLag();
      const behind = lag.filter((row) => row.seconds > bound);
      // A read model that fails on an event stops there: not ready at once, whatever its lag says yet.
      const failing = runner.failures();
      checks.projections = {
        ok: behind.length === 0 && failing.length === 0,
        detail: {
          maxLagSeconds: bound,
          ...(behind.length > 0 ? { behind } : {}),
          ...(failing.length > 0 ? { failing } : {}),
          lag: Object.fromEntries(lag.map((row) => [row.projection, row.events])),
        },
      };
    } catch (error) {
      checks.projections = { ok: false, detail: `could not read the projections' lag: ${error instanceof Error ? error.message : String(error)}` };
    }
    return { ready: Object.values(checks).every((check) => check.ok), checks };
  };

  // The newest committed position seen (this instance's own appends, the log's head when asked); a
  // position at or before it needs no query to be known real.
  let committedHead: GlobalPosition = START;
  // Set once the e-mail streams are loaded, below; told of this instance's writes to users and addresses.
  let userDirectory: CachedUserDirectory | null = null;
  const pipeline = new CommandPipeline(store, {
    observer: metrics.commands,
    tracing,
    // A command on a stream of 10,000 events then reads only the events since its last command here
    // (BENCHMARKS.md, graphql-throughput). The SQL store reads a stream's tail and its revision in one
    // statement; KurrentDB would need two, so it reads streams whole as before.
    ...(store instanceof SqlEventStore ? { stateCache: { maxStreams: STATE_CACHE_STREAMS, maxAgeMs: STATE_CACHE_MAX_AGE_MS } } : {}),
    onAppended: (outcome) => {
      // Acknowledged, so committed: a read that names this position (the mutation's own payload, or the
      // client's next request) is not sent to the log to check it.
      if (comparePositions(outcome.position, committedHead) > 0) committedHead = outcome.position;
      runner.notify();
      userDirectory?.streamsChanged(outcome.events.map((event) => event.streamId));
      liveEvents.notify();
      // A match went live: the mentee's other requests and staged matches are withdrawn soon after.
      if (outcome.events.some((event) => event.type === 'MatchActivated')) scheduler?.sweepSoon();
    },
  });
  // The SQL store itself, not its tracing wrapper: with the log in this database a history page reads its
  // events in its own statement (which is a span when tracing), not through readAt.
  const readModel = new SqlLifecycleReadModel(db, logInDatabase ? untracedStore : store);
  const matching = new SqlMatchingReadModel(db);
  const meetingReadModel = new SqlMeetingReadModel(db);
  const managerReports = new SqlManagerReportQueries(db, (userIds, now, role) =>
    role === 'MENTOR' ? meetingReadModel.meetingCountsForMentors(userIds, now) : meetingReadModel.meetingCountsForMentees(userIds, now),
  );
  /**
   * Read-your-writes for X-Consistent-With. A position beyond the log's committed head was never
   * returned by a mutation: it is refused at once rather than parking the request until its deadline.
   */
  const waitForProjections = async (position: GlobalPosition): Promise<boolean> => {
    if (comparePositions(position, committedHead) > 0) {
      const head = await store.readCommittedHead();
      if (comparePositions(head, committedHead) > 0) committedHead = head;
      if (comparePositions(position, committedHead) > 0) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `X-Consistent-With names position ${formatPosition(position)}, beyond the last committed event (${formatPosition(committedHead)}). Send the position a mutation returned, or leave the header out.`,
          { field: 'X-Consistent-With', position: formatPosition(position), head: formatPosition(committedHead) },
        );
      }
    }
    return runner.waitFor(position, dependencies.consistencyTimeoutMs ?? 5000);
  };

  const health = async (): Promise<HealthReport> => {
    const [head, statuses] = await Promise.all([store.readHead(), runner.status()]);
    return {
      status: 'ok',
      eventStore: store.name,
      projectionsLag: statuses.map(({ projection, position }) => ({
        projection,
        checkpoint: position.major === 0n && position.minor === 0n ? null : formatPosition(position),
        caughtUp: comparePositions(position, head) >= 0,
      })),
    };
  };

  // From the SQL database, never the log; read once at start.
  const emailStreams = await loadEmailStreams(db);
  const initiativeReadModel = new SqlInitiativeReadModel(db);
  const revocations = await TokenRevocations.create(db, {
    now: clock,
    maxLifetimeSeconds: config.tokens.maxLifetimeSeconds,
    clockSkewSeconds: config.tokens.clockSkewSeconds,
    pollMs: config.tokens.revocationPollMs,
    logger,
  });
  forgetMigrationRecords(db);
  const directory = eventStoreUserDirectory(store, emailStreams);
  if (config.tokens.userCache.ttlSeconds > 0) {
    userDirectory = cachedUserDirectory(directory, {
      ttlMs: config.tokens.userCache.ttlSeconds * 1000,
      maxEntries: config.tokens.userCache.maxEntries,
      now: clock,
    });
  }
  const authenticator = createAuthenticator({
    localKeys: config.tokenKeys,
    settings: config.tokens,
    revocations,
    users: userDirectory ?? directory,
    now: clock,
    logger,
  });
  const commands = new LifecycleCommands(
    pipeline,
    store,
    randomUUID,
    emailStreams,
    (userId) => initiativeReadModel.registrationIdsOfUser(userId),
    async ({ email }) => {
      await revocations.eraseAddress(email);
    },
  );
  const bulkRegistration = new BulkRegistration(commands, store, { maxRows: config.imports.maxRows, concurrency: config.imports.concurrency });
  const services: LifecycleServices & MeetingServices & LiveServices & AuditServices & TokenServices & ImportServices = {
    revocations,
    bulkRegistration,
    eventLog,
    pseudonyms,
    readLog,
    readAudit: readLog,
    commands,
    liveEvents,
    meetings: new MeetingCommands(pipeline, store, randomUUID),
    initiatives: new InitiativeCommands(pipeline, store, randomUUID),
    initiativeReadModel,
    meetingReadModel,
    readModel,
    matching,
    managerReports,
    autoMatching: new AutoMatchingService(commands, store, matching, new SqlAutoMatchingQueries(db), randomUUID),
    outbox: (filter) => listOutbox(db, filter),
    waitForProjections,
    // Everything committed before now, not just what readers can see yet: a transaction still running
    // elsewhere on the cluster holds the visible head back, and "all" must not miss an event behind it.
    catchUpProjections: async () => waitForProjections(await store.readCommittedHead()),
    userAsOf: async (userId: string, at: Date): Promise<{ state: UserState; eventCount: number }> => {
      const { events } = await store.readStream(userStream(userId));
      const until = at.getTime();
      let state = userDecider.initialState();
      let eventCount = 0;
      for (const event of events) {
        if (Date.parse(event.metadata.occurredAt) > until) break;
        state = userDecider.evolve(state, event as Parameters<typeof userDecider.evolve>[1]);
        eventCount += 1;
      }
      return { state, eventCount };
    },
    health,
  };

  scheduler = new MatchingScheduler({
    commands: services.commands,
    queries: matching,
    clock,
    logger,
    onRun: metrics.jobRuns,
    intervalMs: config.schedulerIntervalMs,
    catchUp: async () => {
      await runner.waitFor(await store.readHead(), dependencies.consistencyTimeoutMs ?? 5000);
    },
  });
  const registrationReminders = new RegistrationReminderScheduler({
    commands: services.initiatives,
    queries: services.initiativeReadModel,
    clock,
    logger,
    intervalMs: config.jobSchedules.registrationRemindersIntervalMs,
    firstRunDelayMs: config.jobSchedules.firstRunDelayMs,
    onRun: metrics.jobRuns,
  });
  const managerReportScheduler = new ManagerReportScheduler({
    pipeline,
    reports: managerReports,
    clock,
    logger,
    intervalMs: config.jobSchedules.managerReportsIntervalMs,
    firstRunDelayMs: config.jobSchedules.firstRunDelayMs,
    onRun: metrics.jobRuns,
  });
  const jobs = { notifications, scheduler, registrationReminders, managerReports: managerReportScheduler };


  /** Bearer-token check for the plain HTTP routes (the GraphQL context does its own). */
  const authenticateRoute = async (request: IncomingMessage): Promise<RouteCaller | null> => {
    // The same reading of the header as /graphql (the scheme is case-insensitive, RFC 7235); a bad
    // token throws UNAUTHENTICATED with its reason, which the route answers with 401.
    const token = bearerToken(request.headers.authorization);
    if (token === null) return null;
    const actor = await authenticator.authenticate(token);
    return { id: actor.id, role: actor.role, ...(actor.permissions ? { permissions: actor.permissions } : {}) };
  };

  const routeReadAudit = { recorder: readLog, clock };
  const schema = await buildApiSchema();
  let http: RunningHttpServer | null = null;

  return {
    config,
    db,
    store,
    runner,
    services,
    schema,
    authenticator,
    jobs,
    metrics,
    readiness,
    projectionLag,
    async start() {
      // Some way to sign in: local keys, or an identity provider (its tokens only).
      if (!config.tokenKeys && !config.tokens.oidc) throw new ConfigError(MISSING_KEYS_MESSAGE);
      runner.start();
      readLog.start();
      authenticator.start();
      await liveEvents.start();
      http = await startHttpServer({
        schema,
        contextFactory: createContextFactory({ authenticate: (token) => authenticator.authenticate(token), clock, services, logger }),
        liveTokens: authenticator,
        port: config.port,
        host: config.host,
        logger,
        explorer: config.explorer,
        introspection: config.introspection,
        rateLimits: config.rateLimits,
        health,
        readiness,
        tracing,
        ...(config.operations.metrics ? { metrics } : {}),
        corsOrigins: config.operations.corsOrigins,
        limits: { maxDepth: config.maxQueryDepth, maxCost: config.maxQueryCost, maxAliases: config.maxQueryAliases, maxExpensiveFields: config.maxExpensiveFields },
        subscriptions: true,
        routes: [
          ...linkRoutes({
            links: oneClickLinks,
            initiatives: services.initiatives,
            store,
            clock,
            newId: randomUUID,
            onError: (error) => logger.error({ err: error }, 'One-click link failed'),
          }),
          usersImportRoute({
            bulk: bulkRegistration,
            authenticate: authenticateRoute,
            maxBytes: config.imports.maxBytes,
            clock,
            newId: randomUUID,
            onError: (error) => logger.error({ err: error }, 'User import failed'),
          }),
          matchesExportRoute({
            readModel: matching,
            clock,
            authenticate: authenticateRoute,
            readAudit: routeReadAudit,
            pseudonyms,
          }),
          managerReportRoute({ reports: managerReports, authenticate: authenticateRoute, clock, readAudit: routeReadAudit, pseudonyms }),
          registrationsExportRoute({ readModel: services.initiativeReadModel, clock, authenticate: authenticateRoute, readAudit: routeReadAudit, pseudonyms }),
          participationDatesExportRoute({
            readModel: services.initiativeReadModel,
            clock,
            authenticate: authenticateRoute,
            readAudit: routeReadAudit,
            pseudonyms,
          }),
        ],
        onShutdown: [
          () => authenticator.stop(),
          () => managerReportScheduler.stop(),
          () => liveEvents.stop(),
          () => jobs.scheduler.stop(),
          () => registrationReminders.stop(),
          () => notifications.close(),
          () => runner.stop(),
          // Last: every request has finished by now, so every read it recorded is in the buffer.
          () => readLog.stop(),
        ],
      });
      // Once listening: no request needs them, and their first rounds would queue before the first
      // requests on the embedded store's single connection.
      if (config.backgroundJobs) {
        notifications.start();
        scheduler?.start();
        registrationReminders.start();
        managerReportScheduler.start();
      }
      if (eventLog instanceof SqlEventLog && db.kind === 'postgres') {
        indexing = migrateAuditIndexes(db, stopIndexing.signal).then(
          (outcome) => {
            if (outcome === 'built') logger.info({ migrations: BACKGROUND_COMPONENT }, 'Audit indexes on es_events built and recorded');
          },
          (error: unknown) => {
            if (!stopIndexing.signal.aborted) {
              logger.error({ err: error }, 'Building the audit indexes on es_events failed; the event log answers without them (slower), and the next start tries again');
            }
          },
        );
      }
      return http;
    },
    async stop() {
      // An index build in hand is finished (a long one could take a while); the rest wait for the next start.
      stopIndexing.abort();
      await indexing;
      if (http) await http.stop();
      else await Promise.all([authenticator.stop(), jobs.scheduler.stop(), registrationReminders.stop(), managerReportScheduler.stop(), notifications.close(), runner.stop(), readLog.stop()]);
      await store.close();
      // An injected database belongs to whoever injected it.
      if (!dependencies.db) await db.close();
      // Last: the spans of the shutdown itself go out too.
      await tracing.shutdown();
    },
  };
};
