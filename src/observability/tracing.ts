import { AsyncLocalStorage } from 'node:async_hooks';
// Types only: nothing of OpenTelemetry is loaded unless tracing is configured (`startTracing`).
import type { Context, Span, Tracer } from '@opentelemetry/api';
import type { EventStore } from '../eventstore/eventStore';
import type { MailTransport } from '../notifications/transport';
import type { QueryOptions, SqlDatabase, SqlExecutor } from '../sql/sqlDatabase';

/**
 * OpenTelemetry tracing with spans made by hand at our own seams (an HTTP request or GraphQL
 * operation, a command, an event-store append or read, an SQL statement, an e-mail sent from the
 * outbox, a projection batch), exported over OTLP/HTTP. Off unless configured; off, nothing of the
 * SDK is loaded and every seam calls straight through.
 */

/** Where spans go and how the service names itself (from OTEL_* settings, see config.ts). */
export interface TracingSettings {
  /** The OTLP/HTTP traces URL (`…/v1/traces`). */
  readonly tracesUrl: string;
  /** Sent with every export (OTEL_EXPORTER_OTLP_HEADERS): an API key, a tenant. */
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
  /** How long finished spans wait to be sent in one batch (OTEL_BSP_SCHEDULE_DELAY). */
  readonly scheduleDelayMs: number;
}

export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** A span in progress, as the code that started it sees it. */
export interface SpanHandle {
  setAttributes(attributes: SpanAttributes): void;
  updateName(name: string): void;
}

/** The caller's place in a trace, from a valid W3C `traceparent` header. */
export interface IncomingTrace {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

/** The server span of one HTTP request: ended by the server when the response is done. */
export interface RequestSpan extends SpanHandle {
  readonly traceId: string;
  readonly spanId: string;
  /** Runs `work` with this span as the parent of the spans it makes. */
  run<T>(work: () => T): T;
  end(statusCode: number): void;
}

export interface Tracing {
  readonly enabled: boolean;
  /**
   * Runs `work` in a span, a child of the current one; a thrown error marks the span failed and is
   * rethrown. `childOnly`: no span outside another one (the SQL statements and event-store reads of
   * idle polls would otherwise each be a trace of their own).
   */
  inSpan<T>(name: string, attributes: SpanAttributes, work: (span: SpanHandle) => Promise<T>, options?: { readonly childOnly?: boolean }): Promise<T>;
  /** The server span of an incoming request, continuing the caller's trace; `null` when tracing is off. */
  requestSpan(name: string, parent: IncomingTrace | undefined, attributes: SpanAttributes): RequestSpan | null;
  /** Sends the spans still buffered and stops (the server's shutdown). */
  shutdown(): Promise<void>;
}

const NO_SPAN: SpanHandle = { setAttributes: () => undefined, updateName: () => undefined };

/** Tracing off: every seam runs its work directly. */
export const NO_TRACING: Tracing = {
  enabled: false,
  inSpan: (_name, _attributes, work) => work(NO_SPAN),
  requestSpan: () => null,
  shutdown: async () => undefined,
};

const defined = (attributes: SpanAttributes): Record<string, string | number | boolean> => {
  const result: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) result[key] = value;
  return result;
};

const handle = (span: Span): SpanHandle => ({
  setAttributes: (attributes) => {
    span.setAttributes(defined(attributes));
  },
  updateName: (name) => {
    span.updateName(name);
  },
});

/**
 * Loads the SDK and starts exporting. The active span is carried in an AsyncLocalStorage of this
 * instance rather than in the API's global context manager, so two services in one process (tests)
 * keep their traces apart and nothing global is registered.
 */
export const startTracing = async (settings: TracingSettings, serviceVersion?: string): Promise<Tracing> => {
  const api = await import('@opentelemetry/api');
  const { TracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  const { defaultResource, resourceFromAttributes } = await import('@opentelemetry/resources');
  const { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } = await import('@opentelemetry/semantic-conventions');

  const exporter = new OTLPTraceExporter({ url: settings.tracesUrl, headers: { ...settings.headers } });
  const provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName, ...(serviceVersion ? { [ATTR_SERVICE_VERSION]: serviceVersion } : {}) }),
    ),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: settings.scheduleDelayMs })],
  });
  const tracer: Tracer = provider.getTracer('mentoring-lifecycle', serviceVersion);
  const active = new AsyncLocalStorage<Context>();

  const failed = (span: Span, error: unknown): void => {
    span.recordException(error instanceof Error ? error : String(error));
    const code = typeof error === 'object' && error !== null && 'code' in error ? (error as { code: unknown }).code : undefined;
    if (typeof code === 'string') span.setAttribute('error.type', code);
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  };

  return {
    enabled: true,
    async inSpan(name, attributes, work, options) {
      const parent = active.getStore();
      if (parent === undefined && options?.childOnly) return work(NO_SPAN);
      const span = tracer.startSpan(name, { attributes: defined(attributes) }, parent ?? api.ROOT_CONTEXT);
      try {
        return await active.run(api.trace.setSpan(parent ?? api.ROOT_CONTEXT, span), () => work(handle(span)));
      } catch (error) {
        failed(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
    requestSpan(name, incoming, attributes) {
      const parent = incoming
        ? api.trace.setSpanContext(api.ROOT_CONTEXT, {
            traceId: incoming.traceId,
            spanId: incoming.spanId,
            traceFlags: incoming.sampled ? api.TraceFlags.SAMPLED : api.TraceFlags.NONE,
            isRemote: true,
          })
        : api.ROOT_CONTEXT;
      const span = tracer.startSpan(name, { kind: api.SpanKind.SERVER, attributes: defined(attributes) }, parent);
      const context = api.trace.setSpan(parent, span);
      const { traceId, spanId } = span.spanContext();
      let ended = false;
      return {
        ...handle(span),
        traceId,
        spanId,
        run: (work) => active.run(context, work),
        end(statusCode) {
          if (ended) return;
          ended = true;
          span.setAttribute('http.response.status_code', statusCode);
          // A server span fails on a server error only: a refused request is the caller's (semantic conventions).
          if (statusCode >= 500) span.setStatus({ code: api.SpanStatusCode.ERROR });
          span.end();
        },
      };
    },
    async shutdown() {
      await provider.shutdown();
    },
  };
};

// ---------------------------------------------------------------------------------------------
// The seams that are wrapped rather than edited: the event store, the SQL database, the outbox's
// mail transport. Each returns its argument unchanged when tracing is off.

const CHILD_ONLY = { childOnly: true } as const;

/** Spans for every append and read of an event store, within a request, command or batch. */
export const tracedEventStore = (store: EventStore, tracing: Tracing): EventStore => {
  if (!tracing.enabled) return store;
  const system = { 'eventstore.name': store.name };
  const child: Tracing['inSpan'] = (name, attributes, work) => tracing.inSpan(name, attributes, work, CHILD_ONLY);
  return {
    name: store.name,
    erasesPersonalData: store.erasesPersonalData,
    readStream: (streamId, options) =>
      child('eventstore readStream', { ...system, 'eventstore.stream': streamId }, async (span) => {
        const result = await store.readStream(streamId, options);
        span.setAttributes({ 'eventstore.events': result.events.length });
        return result;
      }),
    appendToStreams: (writes, options) =>
      child(
        'eventstore append',
        {
          ...system,
          'eventstore.streams': writes.map((write) => write.streamId).join(' '),
          'eventstore.events': writes.reduce((sum, write) => sum + write.events.length, 0),
          'eventstore.idempotent': options?.idempotencyKey !== undefined,
        },
        async (span) => {
          const result = await store.appendToStreams(writes, options);
          span.setAttributes({ 'eventstore.duplicate': result.duplicate });
          return result;
        },
      ),
    readAll: (options) =>
      child('eventstore readAll', { ...system, 'eventstore.max_count': options?.maxCount }, async (span) => {
        const events = await store.readAll(options);
        span.setAttributes({ 'eventstore.events': events.length });
        return events;
      }),
    readAt: (positions) => child('eventstore readAt', { ...system, 'eventstore.positions': positions.length }, () => store.readAt(positions)),
    readIdempotencyKey: (key) => child('eventstore readIdempotencyKey', system, () => store.readIdempotencyKey(key)),
    readHead: () => child('eventstore readHead', system, () => store.readHead()),
    readCommittedHead: () => child('eventstore readCommittedHead', system, () => store.readCommittedHead()),
    close: () => store.close(),
  };
};

/** The statement's verb (`SELECT`, `INSERT`, `WITH`), the span's name as the conventions ask when no table is parsed. */
const operationOf = (sql: string): string => /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';

/** Longest statement text kept on a span: the text has placeholders, never the parameters (personal data). */
const MAX_STATEMENT_CHARS = 2000;

/** Spans for every SQL statement within a request, command, batch or send (not those of idle polls). */
export const tracedDatabase = (db: SqlDatabase, tracing: Tracing): SqlDatabase => {
  if (!tracing.enabled) return db;
  const system = db.kind === 'postgres' ? 'postgresql' : 'pglite';
  const child: Tracing['inSpan'] = (name, attributes, work) => tracing.inSpan(name, attributes, work, CHILD_ONLY);
  const statement = <T>(sql: string, run: () => Promise<T>): Promise<T> =>
    child(operationOf(sql), { 'db.system.name': system, 'db.operation.name': operationOf(sql), 'db.query.text': sql.slice(0, MAX_STATEMENT_CHARS) }, run);
  const executor = (inner: SqlExecutor): SqlExecutor => ({
    query: <Row>(sql: string, params?: readonly unknown[], options?: QueryOptions) => statement(sql, () => inner.query<Row>(sql, params, options)),
    copyFrom: (table, columns, text) => child('COPY', { 'db.system.name': system, 'db.operation.name': 'COPY', 'db.collection.name': table }, () => inner.copyFrom(table, columns, text)),
  });
  return {
    kind: db.kind,
    onStatement: (listener) => db.onStatement(listener),
    ...executor(db),
    transaction: (work) =>
      child('transaction', { 'db.system.name': system }, () => db.transaction((tx) => work({ ...executor(tx), exec: (sql: string) => statement(sql, () => tx.exec(sql)) }))),
    exec: (sql) => statement(sql, () => db.exec(sql)),
    close: () => db.close(),
  };
};

/** A span for every e-mail the outbox sends. */
export const tracedTransport = (transport: MailTransport, tracing: Tracing): MailTransport => {
  if (!tracing.enabled) return transport;
  return {
    description: transport.description,
    send: (message, signal) =>
      tracing.inSpan('outbox send', { 'notification.id': message.notificationId, 'notification.kind': message.kind }, () => transport.send(message, signal)),
    close: () => transport.close(),
  };
};
