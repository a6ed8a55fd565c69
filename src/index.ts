import 'reflect-metadata';
import { createApp } from './app';
import { ConfigError, configErrorLines, loadConfig, withTokenKeys } from './config';
import { createLogger } from './log';
import { MigrationRefusedError } from './sql/migrations';
import { StoreLockedError } from './sql/storeLock';

const USAGE = `Usage: mentoring-server     (or: npm start, which builds first)

Runs the GraphQL server. Every setting comes from the environment (README, Configuration):
DATABASE_URL, EVENTSTORE_CONNECTION_STRING, DATA_DIR, PORT, HOST, AUTH_TOKEN_SECRET, LOG_LEVEL,
CORS_ORIGINS, METRICS, READY_MAX_PROJECTION_LAG_SECONDS, ... A bad setting stops it with one line
per problem and exit code 1. Routes: /graphql, /health, /health/live, /health/ready, /metrics, and
the explorer at / (EXPLORER; off with NODE_ENV=production unless EXPLORER=true).`;

/** Starts the server: configuration from the environment, then the composition root. */
const main = async () => {
  if (process.argv.slice(2).some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let config;
  try {
    config = withTokenKeys(loadConfig(process.env));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(configErrorLines(error));
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel as 'info' });
  const app = await createApp(config, { logger });
  const http = await app.start();
  logger.info(
    {
      url: http.url,
      eventStore: app.store.name,
      readModels: app.db.kind === 'embedded' ? `embedded (PGlite) in ${config.dataDir}` : 'PostgreSQL',
      // Null with an identity provider and no local key: only the provider's tokens are accepted.
      tokenKeyIds: config.tokenKeys?.verifying.map((key) => key.kid) ?? null,
      signingKeyId: config.tokenKeys?.signing.kid ?? null,
      identityProvider: config.tokens.oidc?.issuer ?? null,
      maxTokenLifetimeSeconds: config.tokens.maxLifetimeSeconds,
    },
    `GraphQL at ${http.url}/graphql, explorer at ${http.url}/`,
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'Stopping: finishing requests in flight and the projection batch in hand');
    app.stop().then(
      () => {
        logger.info('Stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'Stopped with errors');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
};

main().catch((error: unknown) => {
  if (error instanceof StoreLockedError || error instanceof MigrationRefusedError) {
    process.stderr.write(`Could not start: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`Could not start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
