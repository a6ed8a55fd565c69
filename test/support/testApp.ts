import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { mintToken, type TokenRole } from '../../src/graphql/auth';
import type { RunningHttpServer } from '../../src/http/server';
import { createLogger } from '../../src/log';
import type { DestinationStream } from 'pino';
import type { TestDatabase } from './databases';
import type { EventStore } from '../../src/eventstore/eventStore';
import { TEST_TOKEN_SECRET } from './tokens';

export interface GraphQLResponse<Data = Record<string, any>> {
  readonly status: number;
  readonly data?: Data;
  readonly errors?: { message: string; extensions?: { code?: string } & Record<string, unknown> }[];
}

/** The composed server on a random port, with a clock the test moves. */
export interface TestApp {
  readonly app: App;
  readonly http: RunningHttpServer;
  readonly clock: { now: Date; advance(ms: number): Date; set(iso: string): Date };
  token(role: TokenRole, subject: string, userId?: string): Promise<string>;
  /** POSTs one GraphQL operation the way a frontend would. */
  gql<Data = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { token?: string; headers?: Record<string, string> },
  ): Promise<GraphQLResponse<Data>>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Where the notification worker sends e-mail (a test SMTP server); unset: a mailbox file in a temporary directory. */
  readonly smtpUrl?: string;
  /** More configuration, as environment variables (e.g. rate limits, which are off here unless set, or MAX_QUERY_COST for tests that send large generated operations). */
  readonly env?: Readonly<Record<string, string>>;
  /** The event store to compose the server with instead of the configured one (an imitation of KurrentDB). */
  readonly store?: EventStore;
  /** Where the server's log lines go, at level info (default: nowhere). */
  readonly logDestination?: DestinationStream;
}

/**
 * The background jobs (notification worker, matching scheduler) do not run on their own here: tests
 * drive them with `app.jobs.notifications.runOnce()` and `app.jobs.scheduler.tick()`.
 */
export const startTestApp = async (database: TestDatabase, startAt = '2026-01-05T09:00:00.000Z', options: TestAppOptions = {}): Promise<TestApp> => {
  // The file transport's mailbox, removed with the app (a run of the suite made some two hundred).
  const mailboxDir = mkdtempSync(join(tmpdir(), 'mailbox-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    AUTH_TOKEN_SECRET: TEST_TOKEN_SECRET,
    BACKGROUND_JOBS: 'false',
    MAILBOX_FILE: join(mailboxDir, 'mailbox.mbox'),
    ...(options.smtpUrl ? { SMTP_URL: options.smtpUrl } : {}),
    // Tests send hundreds of requests a second from one address with one token.
    RATE_LIMIT_READS_PER_MINUTE: '0',
    RATE_LIMIT_WRITES_PER_MINUTE: '0',
    RATE_LIMIT_ADDRESS_PER_MINUTE: '0',
    // Tests mint ten-year tokens and move the clock by months; the lifetime check has tests of its own.
    AUTH_MAX_TOKEN_LIFETIME: '3650d',
    ...options.env,
  });
  const clock = {
    now: new Date(startAt),
    advance(ms: number) {
      this.now = new Date(this.now.getTime() + ms);
      return this.now;
    },
    set(iso: string) {
      this.now = new Date(iso);
      return this.now;
    },
  };
  const app = await createApp(config, {
    logger: options.logDestination ? createLogger({ level: 'info', destination: options.logDestination }) : createLogger({ level: 'silent' }),
    clock: () => clock.now,
    db: database.db,
    ...(options.store ? { store: options.store } : {}),
  });
  const http = await app.start();
  const graphqlUrl = new URL('graphql', http.url).toString();
  return {
    app,
    http,
    clock,
    token: (role, subject, userId) =>
      // Issued at the test's clock, which the server checks "iat" against.
      mintToken({ secret: config.tokenKeys!, subject, role, expiresIn: '3650d', now: clock.now, ...(userId ? { userId } : {}) }),
    async gql(query, variables = {}, options = {}) {
      const response = await fetch(graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...options.headers,
        },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: any; errors?: any[] };
      return { status: response.status, ...body };
    },
    async close() {
      await app.stop();
      await database.close();
      rmSync(mailboxDir, { recursive: true, force: true });
    },
  };
};
