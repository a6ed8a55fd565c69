import { formatPosition } from '../../src/eventstore/eventStore';
import { fuzzTargets, runFuzz } from '../../bench/schemaFuzzer';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/*
 * A seeded, schema-aware fuzz run over every query and mutation, over real HTTP with an admin
 * token: no call may end in INTERNAL_SERVER_ERROR, and no refused call may append an event.
 * FUZZ_SEED and FUZZ_CALLS change the run (the bench runs a longer one).
 */

announcePostgresSkip('schema-aware fuzzing');

const SEED = Number(process.env.FUZZ_SEED ?? 20261205);
const CALLS = Number(process.env.FUZZ_CALLS ?? 480);

describe.each(sqlBackends())('fuzzing the API on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  const ids: string[] = [];

  beforeAll(async () => {
    t = await startTestApp(await open());
    admin = await t.token('admin', 'fuzz.admin');
    const program = await t.gql(`mutation { createProgram(input: { name: "Fuzz 2026", timeZone: "UTC" }) { program { id } } }`, {}, { token: admin });
    const programId = program.data!.createProgram.program.id as string;
    ids.push(programId);
    for (const [name, role] of [['Maya Mentor', 'MENTOR'], ['Ben Mentee', 'MENTEE']] as const) {
      const user = await t.gql(
        `mutation ($input: RegisterUserInput!) { registerUser(input: $input) { user { id personas { id } } } }`,
        { input: { programId, email: `${name.split(' ')[0]!.toLowerCase()}@example.org`, name, role } },
        { token: admin },
      );
      ids.push(user.data!.registerUser.user.id, ...user.data!.registerUser.user.personas.map((persona: { id: string }) => persona.id));
    }
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  test(`${CALLS} calls (seed ${SEED}) cover every query and mutation: no internal error, nothing appended by a refused call`, async () => {
    const run = await runFuzz({
      schema: t.app.schema,
      seed: SEED,
      calls: CALLS,
      ids,
      send: (query, variables) => t.gql(query, variables, { token: admin }),
      head: async () => formatPosition(await t.app.store.readCommittedHead()),
    });
    expect(run.failures).toEqual([]);
    // Every query and mutation was called, and the run was not all refusals.
    expect([...run.fieldsHit].sort()).toEqual(fuzzTargets(t.app.schema).map((target) => target.field.name).sort());
    expect(run.refused).toBeGreaterThan(0);
    expect(run.refused).toBeLessThan(CALLS);
  }, 600_000);
});
