import { randomUUID } from 'node:crypto';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';
import { loadConfig } from '../../src/config';
import { startTestServer } from '../graphql/testServer';

/** The operators' doors over real HTTP: health, readiness, metrics, CORS and request ids. */

announcePostgresSkip('operators\' basics');

const ALLOWED = 'https://app.example.org';

/** One sample of a Prometheus text exposition, by metric name and labels (0 when absent). */
const sample = (text: string, name: string, labels: Record<string, string>): number => {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = match[2]!.split(',');
    if (wanted.every((pair) => have.includes(pair))) return Number(match[3]);
  }
  return 0;
};

describe.each(sqlBackends())('operators\' basics on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  const url = (path: string) => new URL(path, t.http.url).toString();
  const metrics = async () => (await fetch(url('/metrics'))).text();
  const createProgram = (name: string) =>
    t.gql<{ createProgram: { errors: unknown[]; position: string } }>(
      `mutation CreateProgram($name: String!) { createProgram(input: { name: $name, timeZone: "Europe/Berlin" }) { errors { code } position } }`,
      { name },
      { token: admin },
    );

  beforeAll(async () => {
    t = await startTestApp(await open(), '2026-01-05T09:00:00.000Z', { env: { CORS_ORIGINS: `${ALLOWED},http://localhost:5173`, READY_MAX_PROJECTION_LAG_SECONDS: '1' } });
    admin = await t.token('admin', 'alice');
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers liveness and readiness, and keeps /health', async () => {
    const live = await fetch(url('/health/live'));
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'live' });
    const ready = await fetch(url('/health/ready'));
    const body = (await ready.json()) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    expect(ready.status).toBe(200);
    expect(body.ready).toBe(true);
    expect(Object.keys(body.checks).sort()).toEqual(['eventStore', 'projections', 'schema']);
    expect(Object.values(body.checks).every((check) => check.ok)).toBe(true);
    expect((await fetch(url('/health'))).status).toBe(200);
  });

  it('shows projection lag moving under load and back to 0, and readiness following it', async () => {
    await t.app.runner.stop();
    try {
      for (let i = 0; i < 5; i++) expect((await createProgram(`Lagging ${i}`)).data?.createProgram.errors).toEqual([]);
      const behind = await metrics();
      expect(sample(behind, 'projection_lag_events', { projection: 'programs' })).toBe(5);
      expect(sample(behind, 'projection_lag_seconds', { projection: 'programs' })).toBeGreaterThanOrEqual(0);
      // Past the 1 s bound the instance says it is not ready, and which read models are behind.
      await new Promise((resolve) => setTimeout(resolve, 1300));
      expect(sample(await metrics(), 'projection_lag_seconds', { projection: 'programs' })).toBeGreaterThan(1);
      const notReady = await fetch(url('/health/ready'));
      expect(notReady.status).toBe(503);
      const report = (await notReady.json()) as { checks: { projections: { ok: boolean; detail: { behind: { projection: string }[] } } } };
      expect(report.checks.projections.ok).toBe(false);
      expect(report.checks.projections.detail.behind.map((row) => row.projection)).toContain('programs');
    } finally {
      t.app.runner.start();
    }
    await t.app.services.catchUpProjections();
    const caughtUp = await metrics();
    expect(sample(caughtUp, 'projection_lag_events', { projection: 'programs' })).toBe(0);
    expect(sample(caughtUp, 'projection_lag_seconds', { projection: 'programs' })).toBe(0);
    expect((await fetch(url('/health/ready'))).status).toBe(200);
  });

  it('counts operations by name, command outcomes and the outbox', async () => {
    const before = await metrics();
    const appended = sample(before, 'commands_total', { command: 'CreateProgram', result: 'appended' });
    const operations = sample(before, 'graphql_operation_duration_seconds_count', { operation: 'CreateProgram', type: 'mutation', outcome: 'ok' });
    await createProgram('Counted');
    const refused = await t.gql(
      `mutation TurnOn($id: ID!) { turnMatchingOn(input: { programId: $id }) { errors { code } } }`,
      { id: randomUUID() },
      { token: admin },
    );
    expect((refused.data as { turnMatchingOn: { errors: { code: string }[] } }).turnMatchingOn.errors[0]?.code).toBe('NOT_FOUND');
    const after = await metrics();
    expect(sample(after, 'commands_total', { command: 'CreateProgram', result: 'appended' })).toBe(appended + 1);
    expect(sample(after, 'graphql_operation_duration_seconds_count', { operation: 'CreateProgram', type: 'mutation', outcome: 'ok' })).toBe(operations + 1);
    expect(sample(after, 'commands_total', { result: 'refused', code: 'NOT_FOUND' })).toBeGreaterThanOrEqual(1);
    expect(after).toMatch(/^outbox_messages\{state="PENDING"\} \d+$/m);
    expect(after).toMatch(/^outbox_messages\{state="FAILED"\} \d+$/m);
    expect(after).toContain('# TYPE command_conflicts_total counter');
  });

  it('counts scheduler runs', async () => {
    await t.app.jobs.scheduler.tick();
    expect(sample(await metrics(), 'scheduler_run_duration_seconds_count', { job: 'Matching scheduler', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
  });

  it('answers the CORS preflight for allowed origins only', async () => {
    const preflight = (origin: string) =>
      fetch(url('/graphql'), {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
    const allowed = await preflight(ALLOWED);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    const refused = await preflight('https://evil.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await refused.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('CORS_ORIGIN_NOT_ALLOWED');
    // The real request from an allowed origin may be read by its page; from another it may not.
    const fromApp = await fetch(url('/graphql'), {
      method: 'POST',
      headers: { origin: ALLOWED, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ health { status } }' }),
    });
    expect(fromApp.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(fromApp.headers.get('access-control-expose-headers')).toContain('x-request-id');
    const fromElsewhere = await fetch(url('/graphql'), {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ health { status } }' }),
    });
    expect(fromElsewhere.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('takes the request id from x-request-id or traceparent, returns it and puts it in errors', async () => {
    const given = await t.gql('query Broken { nope }', {}, { token: admin, headers: { 'x-request-id': 'lb-7f3a-0001' } });
    expect(given.errors?.[0]?.extensions?.requestId).toBe('lb-7f3a-0001');
    const traced = await fetch(url('/graphql'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      body: JSON.stringify({ query: '{ nope }' }),
    });
    expect(traced.headers.get('x-request-id')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(((await traced.json()) as { errors: { extensions: { requestId: string } }[] }).errors[0]!.extensions.requestId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    // A header that is not a plain id is not echoed: a fresh one is made.
    const unsafe = await fetch(url('/health/live'), { headers: { 'x-request-id': 'two words<script>' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const outside = await fetch(url('/nowhere'));
    expect(outside.status).toBe(404);
    expect(outside.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the explorer in production', () => {
  it.each([
    [{ NODE_ENV: 'production' }, 404],
    [{ NODE_ENV: 'production', EXPLORER: 'true' }, 200],
    [{}, 200],
  ])('with %j answers / with %i', async (env, status) => {
    const server = await startTestServer({ explorer: loadConfig(env).explorer });
    try {
      expect((await fetch(`${server.server.url}/`)).status).toBe(status);
    } finally {
      await server.server.stop();
    }
  });
});
