import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/** Tamper evidence over GraphQL: an intact log verifies; a row changed behind the application's back is named. */
describe.each(sqlBackends())('verifyEventLog on $name', ({ open }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(await open());
  });
  afterAll(async () => {
    await t?.close();
  });

  test('reports the event that was altered directly in the database, and nothing before', async () => {
    const admin = await t.token('admin', 'alice.admin');
    const auditor = await t.token('auditor', 'audrey');
    const created = await t.gql(`mutation { createProgram(input: { name: "Chained", timeZone: "Europe/Paris" }) { program { id } } }`, {}, { token: admin });
    const programId = created.data!.createProgram.program.id;
    await t.gql(`mutation ($id: ID!) { turnMatchingOn(input: { programId: $id }) { errors { code } } }`, { id: programId }, { token: admin });
    const VERIFY = `query ($stream: String) { verifyEventLog(streamId: $stream) { intact streamsChecked eventsChecked problemCount problems { kind streamId revision eventId detail } } }`;

    const clean = await t.gql(VERIFY, {}, { token: auditor });
    expect(clean.errors).toBeUndefined();
    expect(clean.data!.verifyEventLog).toMatchObject({ intact: true, problemCount: 0, problems: [] });
    expect(clean.data!.verifyEventLog.eventsChecked).toBeGreaterThanOrEqual(2);

    // Someone with database access renames the program in its creation event.
    await t.app.db.query(
      `UPDATE es_events SET data = jsonb_set(data, '{name}', '"Renamed"') WHERE stream_id = $1 AND revision = 0`,
      [`program-${programId}`],
    );
    const tampered = await t.gql(VERIFY, { stream: `program-${programId}` }, { token: auditor });
    expect(tampered.data!.verifyEventLog).toMatchObject({
      intact: false,
      problems: [expect.objectContaining({ kind: 'ALTERED', streamId: `program-${programId}`, revision: 0 })],
    });

    // Mentors may not run it.
    const mentor = await t.token('mentor', 'maya', 'someone');
    expect((await t.gql(VERIFY, {}, { token: mentor })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

announcePostgresSkip('verifyEventLog');
