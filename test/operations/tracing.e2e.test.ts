import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/*
 * OpenTelemetry tracing as an operator turns it on: a real OTLP/HTTP receiver (a node http server
 * taking POST /v1/traces, as a collector does on port 4318) gets the spans of a real GraphQL mutation
 * sent over HTTP with a W3C traceparent; and with nothing configured nothing is sent and the SDK is
 * never loaded (a child process reports the modules it loaded).
 */

announcePostgresSkip('OpenTelemetry tracing');

interface OtlpAttribute {
  readonly key: string;
  readonly value: { readonly stringValue?: string; readonly intValue?: string | number; readonly boolValue?: boolean };
}
interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: readonly OtlpAttribute[];
  readonly status?: { readonly code?: number };
}
interface ReceivedSpan extends OtlpSpan {
  readonly service: string | undefined;
}

/** An OTLP/HTTP receiver: every span of every export, with the service that sent it. */
const startReceiver = async (): Promise<{ url: string; spans: ReceivedSpan[]; requests: { path: string; contentType: string }[]; close(): Promise<void> }> => {
  const spans: ReceivedSpan[] = [];
  const requests: { path: string; contentType: string }[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ path: request.url ?? '', contentType: request.headers['content-type'] ?? '' });
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      const body = JSON.parse((request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')) as {
        resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const { resource, scopeSpans } of body.resourceSpans) {
        const service = resource.attributes.find((attribute) => attribute.key === 'service.name')?.value.stringValue;
        for (const scope of scopeSpans) for (const span of scope.spans) spans.push({ ...span, service });
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

const attribute = (span: OtlpSpan, key: string): string | number | boolean | undefined => {
  const value = span.attributes.find((entry) => entry.key === key)?.value;
  if (!value) return undefined;
  if (value.intValue !== undefined) return Number(value.intValue);
  return value.stringValue ?? value.boolValue;
};

const until = async <T>(find: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

const CREATE_PROGRAM = `mutation CreateProgram($name: String!) { createProgram(input: { name: $name, timeZone: "Europe/Berlin" }) { errors { code } position } }`;
const INCOMING_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const INCOMING_SPAN = '00f067aa0ba902b7';

describe.each(sqlBackends())('tracing on $name', ({ open }) => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let t: TestApp;
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    receiver = await startReceiver();
    const logDestination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    t = await startTestApp(await open(), '2026-01-05T09:00:00.000Z', {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'mentoring-under-test', OTEL_BSP_SCHEDULE_DELAY: '50' },
      logDestination,
    });
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  it('exports the spans of a mutation over HTTP, in the caller\'s trace, down to the event store and SQL, and names the trace in the logs', async () => {
    const admin = await t.token('admin', 'alice');
    const result = await t.gql(CREATE_PROGRAM, { name: 'Traced' }, { token: admin, headers: { traceparent: `00-${INCOMING_TRACE}-${INCOMING_SPAN}-01` } });
    expect(result.data?.createProgram.errors).toEqual([]);

    const inTrace = () => receiver.spans.filter((span) => span.traceId === INCOMING_TRACE);
    const server = await until(() => inTrace().find((span) => span.name === 'mutation CreateProgram'), 'the request span');
    expect(server.parentSpanId).toBe(INCOMING_SPAN);
    expect(server.kind).toBe(2); // SERVER
    expect(server.service).toBe('mentoring-under-test');
    expect(attribute(server, 'graphql.operation.name')).toBe('CreateProgram');
    expect(attribute(server, 'graphql.operation.type')).toBe('mutation');
    expect(attribute(server, 'http.request.method')).toBe('POST');
    expect(attribute(server, 'http.response.status_code')).toBe(200);

    const command = await until(() => inTrace().find((span) => span.name === 'command CreateProgram'), 'the command span');
    expect(command.parentSpanId).toBe(server.spanId);
    expect(attribute(command, 'command.outcome')).toBe('appended');

    const append = await until(() => inTrace().find((span) => span.name === 'eventstore append' && span.parentSpanId === command.spanId), 'the append span');
    expect(attribute(append, 'eventstore.events')).toBe(1);
    expect(String(attribute(append, 'eventstore.streams'))).toMatch(/^program-/);
    // The command read its stream first, in the same trace.
    expect(inTrace().some((span) => span.name === 'eventstore readStream' && span.parentSpanId === command.spanId)).toBe(true);
    // The append's SQL statements are its children (SQL stores keep the log in the database).
    const statements = inTrace().filter((span) => attribute(span, 'db.system.name') !== undefined);
    expect(statements.length).toBeGreaterThan(0);
    const appendStatement = statements.find((span) => String(attribute(span, 'db.query.text')).includes('es_append'));
    expect(appendStatement?.parentSpanId).toBe(append.spanId);
    expect(attribute(appendStatement!, 'db.operation.name')).toBe('SELECT');
    // Placeholders only: no parameter (a program name, personal data elsewhere) is put on a span.
    expect(statements.every((span) => !String(attribute(span, 'db.query.text') ?? '').includes('Traced'))).toBe(true);

    // The projection batch that applied the event is a trace of its own (it runs in the background).
    const batch = await until(
      () => receiver.spans.find((span) => span.name === 'projection batch' && Number(attribute(span, 'projection.events_applied')) >= 1),
      'a projection batch span',
    );
    expect(batch.traceId).not.toBe(INCOMING_TRACE);
    expect(String(attribute(batch, 'projection.names'))).toContain('programs');

    // Every export went where the settings said, as OTLP JSON.
    expect(receiver.requests.every((request) => request.path === '/v1/traces' && request.contentType.startsWith('application/json'))).toBe(true);

    // The request's log line names the trace and the request's own span.
    const requestLine = logLines.find((line) => line.msg === 'request' && line.operationName === 'CreateProgram');
    expect(requestLine).toMatchObject({ traceId: INCOMING_TRACE, spanId: server.spanId });
  });

  it('starts a new trace for a request that arrives without a traceparent', async () => {
    const before = new Set(receiver.spans.map((span) => span.spanId));
    const result = await t.gql(CREATE_PROGRAM, { name: '' }, { token: await t.token('admin', 'alice') });
    expect(result.data?.createProgram.errors).not.toEqual([]);
    const server = await until(() => receiver.spans.find((span) => !before.has(span.spanId) && span.name === 'mutation CreateProgram'), 'the second request span');
    expect(server.parentSpanId ?? '').toBe('');
    expect(server.traceId).not.toBe(INCOMING_TRACE);
    expect(server.traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('tracing off', () => {
  it('with nothing configured: no span is sent and the SDK is never loaded', async () => {
    const receiver = await startReceiver();
    const dataDir = mkdtempSync(join(tmpdir(), 'tracing-off-'));
    try {
      // A real process, so its module cache is its own: the service started from the environment,
      // serving a mutation (with a traceparent) before it reports what it loaded.
      const probe = spawnSync(process.execPath, ['-r', join(__dirname, '..', 'support', 'tsRequire.js'), join(__dirname, 'tracingOffProbe.ts')], {
        env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'silent', BACKGROUND_JOBS: 'false', RECEIVER_URL: receiver.url },
        encoding: 'utf8',
        timeout: 300_000,
      });
      expect(probe.stderr).toBe('');
      expect(probe.status).toBe(0);
      const report = JSON.parse(probe.stdout) as { tracing: unknown; mutationErrors: unknown[]; openTelemetryModules: string[]; requestId: string };
      expect(report.mutationErrors).toEqual([]);
      expect(report.tracing).toBeNull();
      // prom-client loads the API package (a no-op without an SDK); nothing else of OpenTelemetry.
      expect(report.openTelemetryModules.filter((name) => name !== 'api')).toEqual([]);
      // The incoming trace is still followed for request ids (logs, errors), without tracing.
      expect(report.requestId).toBe(INCOMING_TRACE);
      expect(receiver.requests).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await receiver.close();
    }
  });

  it('OTEL_TRACES_EXPORTER=none wins over an endpoint: nothing is sent', async () => {
    const receiver = await startReceiver();
    const { openTestPglite } = await import('../support/databases');
    const t = await startTestApp(await openTestPglite(), '2026-01-05T09:00:00.000Z', {
      env: { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' },
    });
    try {
      expect(t.app.config.tracing).toBeNull();
      const result = await t.gql(CREATE_PROGRAM, { name: 'Untraced' }, { token: await t.token('admin', 'alice') });
      expect(result.data?.createProgram.errors).toEqual([]);
    } finally {
      await t.close();
    }
    // Closed: a tracing service would have flushed its spans by now.
    expect(receiver.requests).toEqual([]);
    await receiver.close();
  });
});
