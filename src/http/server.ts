import { randomUUID } from 'node:crypto';
import type { HttpRoute } from './routes';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ServerOptions } from 'graphql-ws';

// graphql-ws's `use/ws` is a subpath export, which TypeScript's node10 resolution cannot see; its
// shape is stated here (graphql-ws 6).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { useServer } = require('graphql-ws/use/ws') as {
  useServer: (options: ServerOptions, ws: WebSocketServer) => { dispose(): Promise<void> | void };
};
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap, type ApolloServerPlugin, type HTTPGraphQLRequest } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { getOperationAST, type GraphQLSchema } from 'graphql';
import { anonymousAccessPlugin, type AnonymousAccessOptions } from '../graphql/authorization';
import type { ContextFactory, GraphQLContext } from '../graphql/context';
import type { AuthenticatedActor } from '../graphql/auth';
import { clientError, createErrorReporting, internalErrorMessage } from '../graphql/errors';
import type { HealthReport } from '../graphql/health.type';
import { admitOperation, parseOptions, queryLimitsPlugin, type QueryLimits } from '../graphql/queryLimits';
import { RateLimiter, UNLIMITED, clientAddress, type RateDecision, type RateLimitSettings } from './rateLimit';
import type { Logger } from '../log';
import { EXPLORER_CONTENT_SECURITY_POLICY, explorerPageAsset, loadExplorerAssets, type ExplorerAsset } from './explorer';
import { currentRequest, incomingRequestIds, incomingTraceParent, runInRequestScope, type RequestScope } from '../observability/requestScope';
import { NO_TRACING, type RequestSpan, type Tracing } from '../observability/tracing';
import type { Metrics } from '../observability/metrics';

export const GRAPHQL_PATH = '/graphql';
/** GraphQL requests are small; anything larger is a mistake or an attack. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export type ShutdownHook = () => Promise<void> | void;

/**
 * The close code of a live socket whose token expired (graphql-ws keeps 4400-4499 for such
 * refusals; 4401 is its "Unauthorized"). The client reconnects with a fresh token.
 */
export const TOKEN_EXPIRED_CLOSE_CODE = 4401;
export const TOKEN_EXPIRED_CLOSE_REASON = 'Token expired: reconnect with a new token';

/**
 * The close code of a live socket whose token was revoked (or whose identity-provider key was
 * withdrawn) while it was open: 4403, "Forbidden" in graphql-ws's range. Reconnecting with the same
 * token is refused; the client must sign in again.
 */
export const TOKEN_REVOKED_CLOSE_CODE = 4403;
export const TOKEN_REVOKED_CLOSE_REASON = 'Token revoked';

/** What lets the server end live sockets whose token stopped holding (src/auth/authenticator.ts). */
export interface LiveTokenCheck {
  whyNoLongerValid(actor: AuthenticatedActor): string | null;
  /** Called whenever the answer may have changed (the revocation list or the keys were read again). */
  onChange(listener: () => void): () => void;
}

/** Node timers hold at most ~24.8 days; a longer wait is taken in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/** Runs `action` `delayMs` from now (however far); returns a cancel function. */
const after = (delayMs: number, action: () => void): (() => void) => {
  let timer: NodeJS.Timeout;
  const wait = (remaining: number) => {
    timer = setTimeout(() => (remaining > MAX_TIMER_MS ? wait(remaining - MAX_TIMER_MS) : action()), Math.min(Math.max(remaining, 0), MAX_TIMER_MS));
    timer.unref();
  };
  wait(delayMs);
  return () => clearTimeout(timer);
};

export interface HttpServerOptions<Services> {
  readonly schema: GraphQLSchema;
  readonly contextFactory: ContextFactory<Services>;
  /** 0 picks a free port (tests); read the chosen one from the result. */
  readonly port: number;
  /** Interface to listen on (default: all). */
  readonly host?: string;
  readonly logger: Logger;
  /** Serve the offline GraphiQL explorer at `/` (default: no). */
  readonly explorer?: boolean;
  /** Run in order after the server has drained (stop projections, close the event store, …). */
  readonly onShutdown?: ShutdownHook | readonly ShutdownHook[];
  /** Backs `GET /health` for load balancers (default: always ok). */
  readonly health?: () => Promise<HealthReport>;
  readonly limits?: QueryLimits;
  /** Largest accepted request body (default 1 MiB); larger ones get 413. */
  readonly maxBodyBytes?: number;
  /** Whether authenticated callers may introspect the schema (default: yes, it is the API's documentation). */
  readonly introspection?: boolean;
  readonly anonymousAccess?: AnonymousAccessOptions;
  /** How long `stop()` waits for in-flight requests before cutting connections (default 10 s). */
  readonly stopGracePeriodMs?: number;
  readonly newId?: () => string;
  /** Plain HTTP endpoints beside GraphQL (file downloads such as the CSV exports). */
  readonly routes?: readonly HttpRoute[];
  /**
   * Serve GraphQL subscriptions over WebSocket (graphql-ws) at the GraphQL path. The client sends its
   * token as `connectionParams.authorization` ("Bearer <token>"); a connection without a valid one
   * is refused.
   */
  readonly subscriptions?: boolean;
  /** Requests per minute per token subject and per client address (default: none). */
  readonly rateLimits?: RateLimitSettings;
  /** The clock the rate limits read (tests). */
  readonly nowMs?: () => number;
  /** Re-checks the token of every open socket when revocations or keys change; a socket whose token no longer holds closes with 4403. */
  readonly liveTokens?: LiveTokenCheck;
  /** Backs `GET /health/ready`: whether this instance should get traffic (default: ready while not stopping). */
  readonly readiness?: () => Promise<ReadinessReport>;
  /** Prometheus metrics, served at `GET /metrics` (default: none, and no such route). */
  readonly metrics?: Metrics;
  /** Browser origins allowed to call the API cross-origin (CORS); default none. */
  readonly corsOrigins?: readonly string[];
  /** A server span per request, named after its GraphQL operation (OpenTelemetry; default off). */
  readonly tracing?: Tracing;
}

/** `GET /health/ready`: ready or not, and each check with what it found. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, { readonly ok: boolean; readonly detail?: unknown }>>;
}

/** Headers a browser frontend may send cross-origin, and those it may read from answers. */
const CORS_ALLOWED_HEADERS = 'authorization, content-type, x-correlation-id, x-consistent-with, x-request-id, traceparent, apollo-require-preflight';
const CORS_EXPOSED_HEADERS = 'x-request-id, x-correlation-id, retry-after';

export interface RunningHttpServer {
  readonly url: string;
  readonly port: number;
  readonly httpServer: Server;
  /**
   * Stops accepting connections, lets in-flight requests finish (up to the grace period), then
   * runs the shutdown hooks in order. Safe to call more than once. Rejects with an AggregateError
   * if hooks failed (after running all of them).
   */
  stop(): Promise<void>;
}

type RequestRecord = RequestScope;

class PayloadTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`The request body is larger than ${limit} bytes.`);
  }
}

const readBody = (request: IncomingMessage, limit: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new PayloadTooLargeError(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.off('data', onData);
        request.resume();
        reject(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.once('error', reject);
  });

const isJson = (contentType: string | undefined): boolean =>
  contentType !== undefined && /^application\/([\w.+-]+\+)?json\b/i.test(contentType.trim());

const sendJson = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(text);
};

/** An error answer outside GraphQL execution, naming the request (when there is one) like every error. */
const graphqlError = (message: string, code: string, extra: Record<string, unknown> = {}) => {
  const requestId = currentRequest()?.requestId;
  return { errors: [{ message, extensions: { code, ...extra, ...(requestId !== undefined ? { requestId } : {}) } }] };
};

/** The route a request is counted under in metrics: a fixed set, never the raw path. */
const routeLabel = (path: string, routes: readonly HttpRoute[]): string =>
  path === GRAPHQL_PATH || path === '/metrics' || path.startsWith('/health') || routes.some((route) => route.path === path)
    ? path
    : path === '/' || path.startsWith('/explorer/')
      ? 'explorer'
      : 'other';

/** Pino's methods, in the shape Apollo's logger expects. */
const apolloLogger = (logger: Logger) => ({
  debug: (message: unknown) => logger.debug(String(message)),
  info: (message: unknown) => logger.info(String(message)),
  warn: (message: unknown) => logger.warn(String(message)),
  error: (message: unknown) => logger.error(String(message)),
});

const hooksOf = (onShutdown: HttpServerOptions<unknown>['onShutdown']): readonly ShutdownHook[] =>
  onShutdown === undefined ? [] : typeof onShutdown === 'function' ? [onShutdown] : onShutdown;

/**
 * The HTTP front door: `/graphql` (POST and GET, through Apollo), `/health` (plain JSON for load
 * balancers) and, when enabled, the offline explorer at `/`. A plain `node:http` server, so the
 * routes, body limit and logs are ours and nothing loads from the internet.
 */
export const startHttpServer = async <Services>(options: HttpServerOptions<Services>): Promise<RunningHttpServer> => {
  const { logger } = options;
  const newId = options.newId ?? randomUUID;
  const tracing = options.tracing ?? NO_TRACING;
  /** Each traced request's span, to name it once the operation is known. */
  const requestSpans = new WeakMap<RequestScope, RequestSpan>();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const explorerAssets: ReadonlyMap<string, ExplorerAsset> = options.explorer ? loadExplorerAssets() : new Map();
  const explorerHtml = options.explorer ? explorerPageAsset(GRAPHQL_PATH) : null;
  let draining = false;

  const httpServer = createServer((request, response) => {
    void handle(request, response);
  });

  const limiter = new RateLimiter(options.rateLimits ?? UNLIMITED, options.nowMs);
  const rateLimited = (decision: Exclude<RateDecision, { ok: true }>) =>
    clientError('RATE_LIMITED', `Too many requests: the limit is ${decision.limit}. Try again in ${decision.retryAfterSeconds} s.`, {
      status: 429,
      headers: { 'retry-after': String(decision.retryAfterSeconds) },
      extensions: { retryAfterSeconds: decision.retryAfterSeconds },
    });
  const rateLimitPlugin: ApolloServerPlugin<GraphQLContext<Services>> = {
    async requestDidStart({ contextValue }) {
      return {
        async didResolveOperation({ operation }) {
          const address = currentRequest()?.address ?? 'unknown';
          const decision = limiter.take(operation?.operation === 'mutation' ? 'write' : 'read', address, contextValue.actor?.id ?? null);
          if (!decision.ok) throw rateLimited(decision);
        },
      };
    },
  };

  const errorReporting = createErrorReporting({ logger });
  /** Every error names the request it came from, as the logs do. */
  const formatError = (formatted: Parameters<typeof errorReporting.formatError>[0], error: unknown) => {
    const result = errorReporting.formatError(formatted, error);
    const requestId = currentRequest()?.requestId;
    return requestId === undefined || result.extensions?.requestId !== undefined ? result : { ...result, extensions: { ...result.extensions, requestId } };
  };
  // Apollo hands plugins a shallow copy of the context; the request scope is the one object we made.
  const requestRecordPlugin: ApolloServerPlugin<GraphQLContext<Services>> = {
    async requestDidStart() {
      return {
        async didResolveOperation({ operationName, operation }) {
          const record = currentRequest();
          if (record) {
            record.operationName = operationName;
            if (operation) record.operationType = operation.operation;
            // Named as the semantic conventions for GraphQL say: `mutation createProgram`, or the type alone.
            requestSpans.get(record)?.updateName(operationName ? `${operation?.operation ?? 'operation'} ${operationName}` : (operation?.operation ?? 'GraphQL operation'));
            requestSpans.get(record)?.setAttributes({ 'graphql.operation.name': operationName ?? undefined, 'graphql.operation.type': operation?.operation });
          }
        },
        async willSendResponse({ response }) {
          const record = currentRequest();
          if (record && response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0) record.failed = true;
        },
        async didEncounterErrors() {
          const record = currentRequest();
          if (record) record.failed = true;
        },
      };
    },
  };

  const apollo = new ApolloServer<GraphQLContext<Services>>({
    schema: options.schema,
    logger: apolloLogger(logger.child({ component: 'apollo' })),
    formatError,
    includeStacktraceInErrorResponses: false,
    introspection: options.introspection ?? true,
    // Without a token nobody may learn field names, not even from "Did you mean …?" hints.
    hideSchemaDetailsFromClientErrors: true,
    allowBatchedHttpRequests: false,
    stopOnTerminationSignals: false,
    // The gate's token limit (the WebSocket door parses with the same options).
    parseOptions: parseOptions(options.limits),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: options.stopGracePeriodMs ?? 10_000 }),
      // Apollo's landing page loads its code from a CDN; the explorer at `/` replaces it.
      ApolloServerPluginLandingPageDisabled(),
      // Nothing here is cacheable (answers carry personal data): the cache-control plugin's work on every
      // field of every request (3.5 % of a mutation's profile samples) bought only \`no-store\`, set below.
      ApolloServerPluginCacheControlDisabled(),
      errorReporting.plugin,
      anonymousAccessPlugin(options.anonymousAccess),
      rateLimitPlugin,
      queryLimitsPlugin(options.limits),
      requestRecordPlugin,
    ],
  });

  const handleGraphQL = async (request: IncomingMessage, response: ServerResponse, url: URL, requestId: string, record: RequestRecord) => {
    const method = (request.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'POST') {
      sendJson(response, 405, graphqlError('Send GraphQL requests with POST (or GET for queries).', 'BAD_REQUEST'), { allow: 'GET, POST' });
      return;
    }
    let body: unknown;
    if (method === 'POST') {
      let text: string;
      try {
        text = await readBody(request, maxBodyBytes);
      } catch (error) {
        if (error instanceof PayloadTooLargeError) {
          sendJson(response, 413, graphqlError(`${error.message} Send a smaller request.`, 'PAYLOAD_TOO_LARGE', { maxBytes: error.limit }), {
            connection: 'close',
          });
          return;
        }
        throw error;
      }
      if (isJson(request.headers['content-type'])) {
        try {
          body = JSON.parse(text);
        } catch {
          sendJson(response, 400, graphqlError('The request body is not valid JSON.', 'BAD_REQUEST'));
          return;
        }
      } else {
        body = text;
      }
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const httpGraphQLRequest: HTTPGraphQLRequest = { method, headers, search: url.search, body };
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => {
        const context = await options.contextFactory({ headers: request.headers, requestId });
        record.actorId = context.actor?.id ?? null;
        record.correlationId = context.correlationId;
        response.setHeader('x-correlation-id', context.correlationId);
        return context;
      },
    });
    // Answers name people and depend on the caller's token: never stored by a cache on the way.
    response.setHeader('cache-control', 'no-store');
    for (const [key, value] of result.headers) response.setHeader(key, value);
    response.statusCode = result.status ?? 200;
    if (result.body.kind === 'complete') {
      response.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) response.write(chunk);
    response.end();
  };

  const handleHealth = async (response: ServerResponse) => {
    if (draining) {
      sendJson(response, 503, { status: 'stopping' });
      return;
    }
    if (!options.health) {
      sendJson(response, 200, { status: 'ok' });
      return;
    }
    try {
      const report = await options.health();
      sendJson(response, report.status === 'ok' ? 200 : 503, report);
    } catch (error) {
      logger.error({ err: error }, 'Health check failed');
      sendJson(response, 503, { status: 'unavailable' });
    }
  };

  const handleReady = async (response: ServerResponse) => {
    if (draining) {
      sendJson(response, 503, { status: 'stopping', ready: false });
      return;
    }
    if (!options.readiness) {
      sendJson(response, 200, { status: 'ready', ready: true, checks: {} });
      return;
    }
    try {
      const report = await options.readiness();
      sendJson(response, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', ...report });
    } catch (error) {
      logger.error({ err: error }, 'Readiness check failed');
      sendJson(response, 503, { status: 'not ready', ready: false, checks: { readiness: { ok: false, detail: 'the check itself failed; see the log' } } });
    }
  };

  const corsOrigins = new Set(options.corsOrigins ?? []);
  /** Adds the CORS answer for an allowed origin; true when the request's origin (if any) is allowed. */
  const applyCors = (request: IncomingMessage, response: ServerResponse): { readonly origin?: string; readonly allowed: boolean } => {
    const origin = request.headers.origin;
    if (corsOrigins.size > 0) response.setHeader('vary', 'Origin');
    if (origin === undefined) return { allowed: true };
    if (!corsOrigins.has(origin)) return { origin, allowed: false };
    response.setHeader('access-control-allow-origin', origin);
    response.setHeader('access-control-expose-headers', CORS_EXPOSED_HEADERS);
    return { origin, allowed: true };
  };

  /** `OPTIONS`: a CORS preflight is answered for allowed origins only; a plain OPTIONS says what the path takes. */
  const handleOptions = (request: IncomingMessage, response: ServerResponse, cors: { readonly origin?: string; readonly allowed: boolean }) => {
    const requested = request.headers['access-control-request-method'];
    if (cors.origin === undefined || requested === undefined) {
      response.writeHead(204, { allow: 'GET, POST, OPTIONS' });
      response.end();
      return;
    }
    if (!cors.allowed) {
      sendJson(
        response,
        403,
        graphqlError(`Origin ${cors.origin} may not call this API from a browser; an operator can allow it with CORS_ORIGINS.`, 'CORS_ORIGIN_NOT_ALLOWED', {
          origin: cors.origin,
        }),
      );
      return;
    }
    if (!['GET', 'POST'].includes(String(requested).toUpperCase())) {
      sendJson(response, 405, graphqlError(`Method ${String(requested)} is not served here; use GET or POST.`, 'BAD_REQUEST'), { allow: 'GET, POST, OPTIONS' });
      return;
    }
    response.writeHead(204, {
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': CORS_ALLOWED_HEADERS,
      'access-control-max-age': '600',
    });
    response.end();
  };

  const sendExplorerFile = (request: IncomingMessage, response: ServerResponse, file: ExplorerAsset, cacheControl: string) => {
    const headers = { 'content-type': file.contentType, 'x-content-type-options': 'nosniff', 'cache-control': cacheControl, etag: file.etag };
    if (request.headers['if-none-match'] === file.etag) {
      response.writeHead(304, headers);
      response.end();
      return;
    }
    response.writeHead(200, { ...headers, 'content-length': file.body.length });
    response.end(request.method === 'HEAD' ? undefined : file.body);
  };

  const routes = options.routes ?? [];
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const ids = incomingRequestIds(request.headers, newId);
    const address = clientAddress(request.socket.remoteAddress, request.headers['x-forwarded-for'], limiter.trustedProxies);
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const span = tracing.requestSpan(`${request.method ?? 'GET'} ${routeLabel(path, routes)}`, incomingTraceParent(request.headers), {
      'http.request.method': request.method,
      'url.path': path,
      'client.address': address,
      'http.route': routeLabel(path, routes),
    });
    if (!span) {
      const record: RequestRecord = { ...ids, address };
      return runInRequestScope(record, () => serve(request, response, record));
    }
    // The trace the span belongs to (the caller's, or a new one) is the one every log line names.
    const record: RequestRecord = { ...ids, traceId: span.traceId, spanId: span.spanId, address };
    requestSpans.set(record, span);
    response.once('close', () => span.end(response.statusCode));
    return span.run(() => runInRequestScope(record, () => serve(request, response, record)));
  };

  const serve = async (request: IncomingMessage, response: ServerResponse, record: RequestRecord): Promise<void> => {
    const started = process.hrtime.bigint();
    const { requestId } = record;
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    response.setHeader('x-request-id', requestId);
    response.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const quiet = url.pathname.startsWith('/health') || url.pathname === '/metrics' || url.pathname.startsWith('/explorer/');
      logger[quiet ? 'debug' : 'info'](
        {
          method,
          path: url.pathname,
          status: response.statusCode,
          durationMs: seconds * 1000,
          requestId,
          ...(record.traceId !== undefined ? { traceId: record.traceId } : {}),
          ...(record.spanId !== undefined ? { spanId: record.spanId } : {}),
          ...(record.correlationId !== undefined ? { correlationId: record.correlationId } : {}),
          ...(record.operationName !== undefined ? { operationName: record.operationName } : {}),
          ...(record.actorId !== undefined ? { actorId: record.actorId } : {}),
        },
        'request',
      );
      options.metrics?.observeHttp(routeLabel(url.pathname, routes), method, response.statusCode, seconds);
      if (record.operationType !== undefined) {
        options.metrics?.observeOperation(record.operationName, record.operationType, record.failed || response.statusCode >= 400 ? 'error' : 'ok', seconds);
      }
    });
    try {
      const cors = applyCors(request, response);
      if (method === 'OPTIONS') {
        handleOptions(request, response, cors);
        return;
      }
      const readOnly = method === 'GET' || method === 'HEAD';
      if (url.pathname === GRAPHQL_PATH) {
        await handleGraphQL(request, response, url, requestId, record);
      } else if (routes.some((route) => route.path === url.pathname && (route.method === method || (route.method === 'GET' && method === 'HEAD')))) {
        // One path may have a GET and a POST (the one-click links' page and its form).
        const route =
          routes.find((candidate) => candidate.path === url.pathname && candidate.method === method) ??
          routes.find((candidate) => candidate.path === url.pathname && candidate.method === 'GET')!;
        // An upload writes: it counts against the address like a mutation; the route takes the subject's write bucket once it knows them.
        const decision = limiter.take(route.method === 'POST' ? 'write' : 'read', record.address ?? 'unknown', null);
        if (!decision.ok) {
          sendJson(response, 429, graphqlError(`Too many requests: the limit is ${decision.limit}. Try again in ${decision.retryAfterSeconds} s.`, 'RATE_LIMITED', { retryAfterSeconds: decision.retryAfterSeconds }), {
            'retry-after': String(decision.retryAfterSeconds),
          });
          return;
        }
        await route.handle(request, response, url, { takeForSubject: (kind, subject) => limiter.takeForSubject(kind, subject) });
      } else if (url.pathname === '/health' && readOnly) {
        await handleHealth(response);
      } else if (url.pathname === '/health/live' && readOnly) {
        // The process answers: that is all liveness means (a restart would not fix a slow database).
        sendJson(response, 200, { status: 'live' });
      } else if (url.pathname === '/health/ready' && readOnly) {
        await handleReady(response);
      } else if (url.pathname === '/metrics' && readOnly && options.metrics) {
        const text = await options.metrics.registry.metrics();
        response.writeHead(200, { 'content-type': options.metrics.registry.contentType, 'cache-control': 'no-store' });
        response.end(method === 'HEAD' ? undefined : text);
      } else if (url.pathname === '/' && readOnly && explorerHtml) {
        response.setHeader('content-security-policy', EXPLORER_CONTENT_SECURITY_POLICY);
        response.setHeader('referrer-policy', 'no-referrer');
        sendExplorerFile(request, response, explorerHtml, 'no-cache');
      } else if (url.pathname.startsWith('/explorer/') && readOnly && explorerAssets.has(url.pathname.slice('/explorer/'.length))) {
        sendExplorerFile(request, response, explorerAssets.get(url.pathname.slice('/explorer/'.length))!, 'public, max-age=3600');
      } else {
        sendJson(response, 404, { error: `Nothing at ${method} ${url.pathname}. GraphQL is served at ${GRAPHQL_PATH}.` });
      }
    } catch (error) {
      logger.error({ err: error, requestId, method, path: url.pathname }, 'Unexpected error while serving an HTTP request');
      if (!response.headersSent) {
        sendJson(response, 500, graphqlError(internalErrorMessage(requestId), 'INTERNAL_SERVER_ERROR', { requestId }));
      } else {
        response.destroy();
      }
    }
  };

  let closeSubscriptions: (() => Promise<void>) | null = null;
  if (options.subscriptions) {
    // A message may be no larger than an HTTP body: the socket closes (1009) on a bigger one.
    const wsServer = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH, maxPayload: maxBodyBytes });
    // Who each connection signed in as, for the per-subject rate limits.
    const socketActors = new WeakMap<object, string>();
    // Every open socket's actor, re-checked whenever the revocation list or the provider's keys change.
    const openSockets = new Map<WebSocket, AuthenticatedActor>();
    const stopWatchingTokens = options.liveTokens?.onChange(() => {
      for (const [socket, actor] of openSockets) {
        const why = options.liveTokens!.whyNoLongerValid(actor);
        if (why === null) continue;
        openSockets.delete(socket);
        logger.info({ actorId: actor.id, why }, 'Closing a live socket: its token no longer holds');
        socket.close(TOKEN_REVOKED_CLOSE_CODE, TOKEN_REVOKED_CLOSE_REASON);
      }
    });
    const contextOf = (params: Readonly<Record<string, unknown>> | undefined) => {
      const authorization = typeof params?.authorization === 'string' ? params.authorization : undefined;
      return options.contextFactory({ headers: authorization ? { authorization } : {}, requestId: newId() });
    };
    const server = useServer(
      {
        schema: options.schema,
        context: (ctx) => contextOf(ctx.connectionParams),
        // The same gate as HTTP: size, tokens, validation without suggestions, depth, aliases, cost, inputs.
        onSubscribe: (ctx, _id, payload) => {
          const admitted = admitOperation(
            {
              schema: options.schema,
              source: payload.query,
              operationName: payload.operationName,
              variables: payload.variables,
              introspection: options.introspection ?? true,
            },
            options.limits,
          );
          if (!admitted.ok) return admitted.errors;
          const operation = getOperationAST(admitted.document, admitted.operationName);
          const request = (ctx.extra as { request?: IncomingMessage }).request;
          const address = clientAddress(request?.socket.remoteAddress, request?.headers['x-forwarded-for'], limiter.trustedProxies);
          const decision = limiter.take(operation?.operation === 'mutation' ? 'write' : 'read', address, socketActors.get(ctx) ?? null);
          if (!decision.ok) return [rateLimited(decision)];
          return {
            schema: options.schema,
            document: admitted.document,
            ...(admitted.operationName !== undefined ? { operationName: admitted.operationName } : {}),
            variableValues: admitted.variables,
          };
        },
        onError: (_ctx, _id, _payload, errors) => errors.map((error) => errorReporting.formatError(error.toJSON(), error)),
        // The same stable error codes as over HTTP.
        onNext: (_ctx, _id, _payload, _args, result) =>
          'errors' in result && result.errors
            ? { ...result, errors: result.errors.map((error) => errorReporting.formatError(error.toJSON(), error)) }
            : result,
        // Only authenticated connections: the subscriptions are for auditors and analysts. A socket
        // lives no longer than its token: it is closed when the token expires, by the server's clock.
        onConnect: async (ctx) => {
          let context: GraphQLContext<Services>;
          try {
            context = await contextOf(ctx.connectionParams);
          } catch {
            return false;
          }
          const actor = context.actor;
          if (!actor) return false;
          socketActors.set(ctx, actor.id);
          const socket = (ctx.extra as { readonly socket: WebSocket }).socket;
          if (options.liveTokens) {
            openSockets.set(socket, actor);
            socket.once('close', () => openSockets.delete(socket));
          }
          if (actor.expiresAt) {
            const cancel = after(actor.expiresAt.getTime() - context.now().getTime(), () => {
              logger.info({ actorId: actor.id }, 'Closing a live socket: its token expired');
              socket.close(TOKEN_EXPIRED_CLOSE_CODE, TOKEN_EXPIRED_CLOSE_REASON);
            });
            socket.once('close', cancel);
          }
          return true;
        },
      },
      wsServer,
    );
    closeSubscriptions = async () => {
      stopWatchingTokens?.();
      await server.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    };
  }

  await apollo.start();
  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(options.port, options.host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await apollo.stop();
    throw error;
  }
  const address = httpServer.address() as AddressInfo;
  const shownHost =
    options.host === undefined || options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${shownHost}:${address.port}`;
  logger.info({ url, port: address.port, graphql: `${url}${GRAPHQL_PATH}`, explorer: Boolean(options.explorer) }, 'HTTP server started');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      const began = Date.now();
      draining = true;
      logger.info('HTTP server stopping: no new connections, waiting for in-flight requests');
      // Open WebSocket connections would keep the listener from closing: end them first.
      await closeSubscriptions?.();
      // Apollo's drain plugin closes the listener and waits for in-flight requests before Apollo stops.
      await apollo.stop();
      const failures: unknown[] = [];
      for (const hook of hooksOf(options.onShutdown)) {
        try {
          await hook();
        } catch (error) {
          logger.error({ err: error }, 'A shutdown hook failed');
          failures.push(error);
        }
      }
      logger.info({ durationMs: Date.now() - began }, 'HTTP server stopped');
      if (failures.length > 0) throw new AggregateError(failures, `${failures.length} shutdown hook(s) failed; see the log.`);
    })());

  return { url, port: address.port, httpServer, stop };
};
