import { formatPosition } from '../../src/eventstore/eventStore';
import { fuzzCalls, fuzzTargets } from '../../bench/schemaFuzzer';
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

interface Failure {
  readonly field: string;
  readonly mutation: string | null;
  readonly problem: string;
  readonly variables: string;
}

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
    const failures: Failure[] = [];
    const hit = new Set<string>();
    let refused = 0;
    for (const call of fuzzCalls(t.app.schema, SEED, CALLS, { ids })) {
      hit.add(call.field);
      const before = formatPosition(await t.app.store.readCommittedHead());
      const response = await t.gql(call.query, call.variables, { token: admin });
      const after = formatPosition(await t.app.store.readCommittedHead());
      const payload = response.data?.[call.field] as { errors?: unknown[] } | null | undefined;
      const payloadErrors = payload && typeof payload === 'object' && Array.isArray(payload.errors) ? payload.errors : [];
      const wasRefused = (response.errors?.length ?? 0) > 0 || payloadErrors.length > 0;
      if (wasRefused) refused += 1;
      const report = (problem: string) =>
        failures.push({ field: call.field, mutation: call.mutation, problem, variables: JSON.stringify(call.variables).slice(0, 300) });
      const internal = response.errors?.filter((error) => error.extensions?.code === 'INTERNAL_SERVER_ERROR' || !error.extensions?.code) ?? [];
      if (internal.length > 0 || response.status >= 500) report(`internal error (HTTP ${response.status}): ${internal.map((e) => e.message).join('; ')}`);
      if (before !== after && (response.errors?.length ?? 0) > 0) report(`refused with ${JSON.stringify(response.errors).slice(0, 200)} but the head moved ${before} → ${after}`);
      if (call.operation === 'query' && before !== after) report(`a query moved the head ${before} → ${after}`);
      if (call.mustBeRefused && !wasRefused) report(`${call.mutation} was accepted`);
      if (call.mustBeRefused && before !== after) report(`a call with ${call.mutation} appended events (${before} → ${after})`);
    }
    if (process.env.FUZZ_VERBOSE) console.log(JSON.stringify({ refused, calls: CALLS, hit: hit.size }));
    expect(failures).toEqual([]);
    // Every query and mutation was called, and the run was not all refusals.
    expect([...hit].sort()).toEqual(fuzzTargets(t.app.schema).map((target) => target.field.name).sort());
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(CALLS);
  }, 600_000);
});
