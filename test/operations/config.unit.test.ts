import { Writable } from 'node:stream';
import { ConfigError, loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { incomingRequestIds, runInRequestScope } from '../../src/observability/requestScope';

describe('settings validated at start', () => {
  const problems = (env: NodeJS.ProcessEnv): readonly string[] => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  it('reports every bad setting, one sentence each', () => {
    expect(problems({ LOG_LEVEL: 'verbose', EVENTSTORE_CONNECTION_STRING: 'http://kurrent:2113', PORT: '99999', EXPLORER: 'maybe' })).toEqual([
      'EVENTSTORE_CONNECTION_STRING must be a KurrentDB connection string such as kurrentdb://host:2113?tls=false (or kurrentdb+discover://, esdb://); got "http://kurrent:2113".',
      'PORT must be a whole number from 0 to 65535; got "99999".',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "verbose".',
      'EXPLORER must be true or false; got "maybe".',
    ]);
  });

  it('takes good values and the KurrentDB schemes', () => {
    for (const url of ['kurrentdb://localhost:2113?tls=false', 'kurrentdb+discover://a:2113,b:2113', 'esdb://localhost:2113?tls=false']) {
      expect(loadConfig({ EVENTSTORE_CONNECTION_STRING: url }).eventStoreConnectionString).toBe(url);
    }
    expect(loadConfig({ LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.org, http://localhost:5173/' }).operations.corsOrigins).toEqual([
      'https://app.example.org',
      'http://localhost:5173',
    ]);
  });

  it('refuses an origin with a path, a wildcard, and a bad lag bound', () => {
    expect(problems({ CORS_ORIGINS: 'https://app.example.org/app,*', READY_MAX_PROJECTION_LAG_SECONDS: '0' })).toEqual([
      'CORS_ORIGINS must list origins such as https://app.example.org (scheme, host and port, no path), separated by commas; "https://app.example.org/app" is not one.',
      'READY_MAX_PROJECTION_LAG_SECONDS must be a whole number from 1 to 86400; got "0".',
    ]);
  });

  it('leaves tracing off unless an OTLP exporter or endpoint is configured', () => {
    expect(loadConfig({}).tracing).toBeNull();
    expect(loadConfig({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_HEADERS: 'a=b' }).tracing).toBeNull();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }).tracing).toBeNull();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing).toBeNull();
  });

  it('reads the standard OTEL_* settings', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      headers: {},
      serviceName: 'mentoring-lifecycle',
      scheduleDelayMs: 5000,
    });
    // A base with a path keeps it; the traces endpoint is taken as it is and wins.
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.org/otlp/' }).tracing?.tracesUrl).toBe('https://otel.example.org/otlp/v1/traces');
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9999/custom', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).tracing
        ?.tracesUrl,
    ).toBe('http://b:9999/custom');
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing?.tracesUrl).toBe('http://localhost:4318/v1/traces');
    const tracing = loadConfig({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=s%3Dcret, tenant=acme',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'tenant=other',
      OTEL_SERVICE_NAME: 'mentoring-eu',
      OTEL_BSP_SCHEDULE_DELAY: '250',
    }).tracing;
    expect(tracing).toMatchObject({ headers: { 'api-key': 's=cret', tenant: 'other' }, serviceName: 'mentoring-eu', scheduleDelayMs: 250 });
  });

  it('refuses bad tracing settings, one line each, with the others', () => {
    expect(problems({ OTEL_TRACES_EXPORTER: 'jaeger', LOG_LEVEL: 'loud' })).toEqual([
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "loud".',
      'OTEL_TRACES_EXPORTER must be otlp or none (this service exports OTLP only); got "jaeger".',
    ]);
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT must start with http:// or https:// (traces go out over OTLP/HTTP); got "collector:4318".',
    ]);
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL such as http://collector:4318; got "not a url".']);
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toEqual([
      'OTEL_EXPORTER_OTLP_PROTOCOL must be http/json (spans are sent as OTLP JSON over HTTP, which collectors accept on port 4318); got "grpc".',
    ]);
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'novalue' })).toEqual([
      'OTEL_EXPORTER_OTLP_HEADERS must read key=value,key2=value2; "novalue" is not a header.',
    ]);
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_BSP_SCHEDULE_DELAY: 'soon' })).toEqual(['OTEL_BSP_SCHEDULE_DELAY must be a whole number from 1 to 600000; got "soon".']);
    expect(problems({ OTEL_SDK_DISABLED: 'perhaps' })).toEqual(['OTEL_SDK_DISABLED must be true or false; got "perhaps".']);
  });

  it('turns the explorer off in production unless asked for', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).explorer).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', EXPLORER: 'true' }).explorer).toBe(true);
    expect(loadConfig({}).explorer).toBe(true);
    expect(problems({ NODE_ENV: 'prod' })).toEqual(['NODE_ENV must be one of production, development, test; got "prod".']);
  });
});

describe('request ids', () => {
  const newId = () => 'generated';

  it('prefers x-request-id, then the trace id of a valid traceparent, else makes one', () => {
    expect(incomingRequestIds({ 'x-request-id': 'abc-1' }, newId)).toEqual({ requestId: 'abc-1' });
    expect(incomingRequestIds({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }, newId)).toEqual({
      requestId: '4bf92f3577b34da6a3ce929d0e0e4736',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    });
    expect(incomingRequestIds({ 'x-request-id': 'abc-1', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }, newId).requestId).toBe('abc-1');
    expect(incomingRequestIds({ traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }, newId)).toEqual({ requestId: 'generated' });
    expect(incomingRequestIds({ 'x-request-id': 'has space' }, newId)).toEqual({ requestId: 'generated' });
  });

  it('is on every log line written while the request is served, by any logger', () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination });
    runInRequestScope({ requestId: 'r-1', traceId: 't-1' }, () => {
      logger.info('inside');
      logger.child({ component: 'x' }).warn('child inside');
      logger.child({ requestId: 'own' }).info('own id');
    });
    logger.info('outside');
    expect(lines.map((line) => [line.msg, line.requestId, line.traceId])).toEqual([
      ['inside', 'r-1', 't-1'],
      ['child inside', 'r-1', 't-1'],
      ['own id', 'own', undefined],
      ['outside', undefined, undefined],
    ]);
  });
});
