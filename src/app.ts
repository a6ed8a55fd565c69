import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { GraphQLSchema } from 'graphql';
import { lifecycleProjections } from '../projections';
import { SqlLifecycleReadModel } from '../projections/lifecycleQueries';
import { LifecycleCommands } from './application/lifecycleCommands';
import { CommandPipeline } from './commands/pipeline';
import type { Config } from './config';
import { userDecider, userStream, type UserState } from './domain';
import { comparePositions, formatPosition, type EventStore, type GlobalPosition } from './eventstore/eventStore';
import { KurrentEventStore } from './eventstore/kurrentEventStore';
import { SqlEventStore } from './eventstore/sqlEventStore';
import { createContextFactory } from './graphql/context';
import type { HealthReport } from './graphql/health.type';
import type { LifecycleServices } from './graphql/lifecycle';
import { buildApiSchema } from './graphql/schema';
import { startHttpServer, type RunningHttpServer } from './http/server';
import type { Logger } from './log';
import { ProjectionRunner } from './projections/runner';
import { openPglite } from './sql/pglite';
import { openPostgres } from './sql/postgres';
import type { SqlDatabase } from './sql/sqlDatabase';

export interface AppDependencies {
  readonly logger: Logger;
  /** The clock every command and request reads (tests pass a controlled one). */
  readonly clock?: () => Date;
  /** Use this database instead of the one the configuration names (tests); the caller closes it. */
  readonly db?: SqlDatabase;
  /** How long a read waits for the projections to include a client's own write. */
  readonly consistencyTimeoutMs?: number;
}

export interface App {
  readonly config: Config;
  readonly db: SqlDatabase;
  readonly store: EventStore;
  readonly runner: ProjectionRunner;
  readonly services: LifecycleServices;
  readonly schema: GraphQLSchema;
  /** Starts the projection runner and the HTTP server. */
  start(): Promise<RunningHttpServer>;
  /** Stops taking requests, finishes those in flight and the projection batch in hand, closes stores. */
  stop(): Promise<void>;
}

const openDatabase = async (config: Config): Promise<SqlDatabase> => {
  if (config.databaseUrl) return openPostgres(config.databaseUrl);
  mkdirSync(config.dataDir, { recursive: true });
  return openPglite(config.dataDir);
};

/** The composition root: picks adapters from configuration and wires everything once. */
export const createApp = async (config: Config, dependencies: AppDependencies): Promise<App> => {
  const { logger } = dependencies;
  const clock = dependencies.clock ?? (() => new Date());
  const db = dependencies.db ?? (await openDatabase(config));
  const store: EventStore = config.eventStoreConnectionString
    ? await KurrentEventStore.connect(config.eventStoreConnectionString)
    : await SqlEventStore.create(db);
  const runner = await ProjectionRunner.create(store, db, lifecycleProjections, {
    onError: (error, projection) => logger.error({ err: error, projection }, 'Projection batch failed; it will be retried'),
  });
  const pipeline = new CommandPipeline(store, { onAppended: () => runner.notify() });
  const readModel = new SqlLifecycleReadModel(db);

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

  const services: LifecycleServices = {
    commands: new LifecycleCommands(pipeline, store, randomUUID),
    readModel,
    waitForProjections: (position: GlobalPosition) => runner.waitFor(position, dependencies.consistencyTimeoutMs ?? 5000),
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

  const schema = await buildApiSchema();
  let http: RunningHttpServer | null = null;

  return {
    config,
    db,
    store,
    runner,
    services,
    schema,
    async start() {
      runner.start();
      http = await startHttpServer({
        schema,
        contextFactory: createContextFactory({ secret: config.tokenSecret, clock, services, logger }),
        port: config.port,
        host: config.host,
        logger,
        explorer: true,
        health,
        limits: { maxDepth: config.maxQueryDepth, maxCost: config.maxQueryCost },
        onShutdown: [() => runner.stop()],
      });
      return http;
    },
    async stop() {
      if (http) await http.stop();
      else await runner.stop();
      await store.close();
      // An injected database belongs to whoever injected it.
      if (!dependencies.db) await db.close();
    },
  };
};
