import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * A read model that cannot take an event (here a CHECK constraint the programs table refuses it
 * with) shows to operators over HTTP: /health/ready names the projection and the event, /metrics
 * counts the failures, the other read models go on, and it recovers once the cause is gone.
 */

announcePostgresSkip('a failing projection, seen by operators');

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

interface Readiness {
  ready: boolean;
  checks: { projections: { ok: boolean; detail: { failing?: { projection: string; event: { type: string; position: string } | null; attempts: number; error: string }[] } } };
}

describe.each(sqlBackends())('a failing projection on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  const url = (path: string) => new URL(path, t.http.url).toString();
  const metrics = async () => (await fetch(url('/metrics'))).text();
  const ready = async () => {
    const response = await fetch(url('/health/ready'));
    return { status: response.status, body: (await response.json()) as Readiness };
  };
  const eventually = async <T>(look: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const value = await look();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const createProgram = async (name: string): Promise<string> => {
    const created = await t.gql(
      `mutation ($name: String!) { createProgram(input: { name: $name, timeZone: "Europe/Berlin" }) { errors { code } position } }`,
      { name },
      { token: admin },
    );
    expect(created.data!.createProgram.errors).toEqual([]);
    return created.data!.createProgram.position as string;
  };

  beforeAll(async () => {
    t = await startTestApp(await open());
    admin = await t.token('admin', 'alice');
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  it('reports the projection and its event, counts the failures, lets the others go on, and recovers', async () => {
    expect((await ready()).status).toBe(200);
    await t.app.db.query(`ALTER TABLE rm_programs ADD CONSTRAINT rm_programs_no_poison CHECK (name <> 'Poison pill')`);
    try {
      const poisoned = await createProgram('Poison pill');
      await createProgram('After the pill');

      const notReady = await eventually(ready, (r) => (r.body.checks.projections.detail.failing ?? []).length > 0, 'readiness to report the failure');
      expect(notReady.status).toBe(503);
      expect(notReady.body.ready).toBe(false);
      expect(notReady.body.checks.projections.ok).toBe(false);
      expect(notReady.body.checks.projections.detail.failing).toEqual([
        expect.objectContaining({ projection: 'programs', event: expect.objectContaining({ type: 'ProgramCreated', position: poisoned }), attempts: expect.any(Number) }),
      ]);
      expect(notReady.body.checks.projections.detail.failing![0]!.error).toContain('rm_programs_no_poison');

      // The other read models take every event, the programs one stops just before the pill.
      const others = t.app.runner.projections.map((p) => p.name).filter((name) => name !== 'programs');
      const text = await eventually(metrics, (m) => others.every((projection) => sample(m, 'projection_lag_events', { projection }) === 0), 'the others to catch up');
      expect(sample(text, 'projection_lag_events', { projection: 'programs' })).toBe(2);
      expect(sample(text, 'projection_failures_total', { projection: 'programs', event_type: 'ProgramCreated' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'projection_failing', { projection: 'programs' })).toBe(1);
      for (const projection of others) expect(sample(text, 'projection_failing', { projection })).toBe(0);
    } finally {
      await t.app.db.query(`ALTER TABLE rm_programs DROP CONSTRAINT IF EXISTS rm_programs_no_poison`);
    }

    // The cause gone, its next try (after its back-off) applies the rest.
    const recovered = await eventually(ready, (r) => r.status === 200, 'readiness after the fix');
    expect(recovered.body.checks.projections.detail.failing).toBeUndefined();
    const after = await metrics();
    expect(sample(after, 'projection_failing', { projection: 'programs' })).toBe(0);
    expect(sample(after, 'projection_lag_events', { projection: 'programs' })).toBe(0);
    const names = await t.gql(`query { programs { name } }`, {}, { token: admin });
    expect(names.data!.programs.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['Poison pill', 'After the pill']));
  }, 180_000);
});
