import { randomUUID } from 'node:crypto';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

const PAYLOAD = 'errors { code message } position replayed eventCount';

/** Every committed event (the log's readers can lag behind a running transaction elsewhere). */
const eventCount = async (t: TestApp): Promise<number> => Number((await t.app.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events`)).rows[0]!.n);

/**
 * A mutation retried with its idempotency key (a client that lost the first answer) answers exactly
 * what the first call answered, also for commands that make a new id: the same match, the same program.
 */
describe.each(sqlBackends())('idempotent retries over HTTP on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let programId: string;

  beforeAll(async () => {
    t = await startTestApp(await open());
    admin = await t.token('admin', 'alice.admin');
    programId = (await t.gql(`mutation { createProgram(input: { name: "Retries", timeZone: "Europe/Paris" }) { program { id } } }`, {}, { token: admin })).data!
      .createProgram.program.id;
    await t.gql(`mutation ($p: ID!) { turnMatchingOn(input: { programId: $p }) { errors { code } } }`, { p: programId }, { token: admin });
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  const activeUser = async (email: string, role: 'MENTOR' | 'MENTEE'): Promise<string> => {
    const registered = await t.gql(
      `mutation ($input: RegisterUserInput!) { registerUser(input: $input) { errors { code } userId } }`,
      { input: { email, name: email.split('@')[0], programId, role } },
      { token: admin },
    );
    const userId = registered.data!.registerUser.userId as string;
    const completed = await t.gql(
      `mutation ($input: UserInput!) { completeApplication(input: $input) { errors { code } } }`,
      { input: { userId } },
      { token: admin },
    );
    expect(completed.data!.completeApplication.errors).toEqual([]);
    const active = await t.gql(
      `mutation ($input: ChangeUserStatusInput!) { changeUserStatus(input: $input) { errors { code } } }`,
      { input: { userId, status: 'A' } },
      { token: admin },
    );
    expect(active.data!.changeUserStatus.errors).toEqual([]);
    return userId;
  };

  const matchPersonas = (input: Record<string, unknown>) =>
    t.gql(
      `mutation ($input: MatchPersonasInput!) { matchPersonas(input: $input) { ${PAYLOAD} matchId match { id status mentor { id } mentee { id } } } }`,
      { input },
      { token: admin },
    );

  test('a retried matchPersonas answers with the first call\'s match, and records nothing more', async () => {
    const mentor = await activeUser(`mentor.${randomUUID()}@example.org`, 'MENTOR');
    const mentee = await activeUser(`mentee.${randomUUID()}@example.org`, 'MENTEE');
    const input = { programId, mentorPersonaId: `${mentor}:p1`, menteePersonaId: `${mentee}:p1`, idempotencyKey: `match-${randomUUID()}` };

    const first = (await matchPersonas(input)).data!.matchPersonas;
    expect(first).toMatchObject({ errors: [], replayed: false, match: { status: 'ACTIVE', mentor: { id: `${mentor}:p1` }, mentee: { id: `${mentee}:p1` } } });
    expect(first.match.id).toBe(first.matchId);
    const head = await eventCount(t);

    const retry = (await matchPersonas(input)).data!.matchPersonas;
    expect(retry).toEqual({ ...first, replayed: true });
    expect(await eventCount(t)).toBe(head);
  });

  test('two overlapping calls with one key make one match, and both answer with it', async () => {
    const mentor = await activeUser(`mentor.${randomUUID()}@example.org`, 'MENTOR');
    const mentee = await activeUser(`mentee.${randomUUID()}@example.org`, 'MENTEE');
    const input = { programId, mentorPersonaId: `${mentor}:p1`, menteePersonaId: `${mentee}:p1`, stage: true, idempotencyKey: `match-${randomUUID()}` };
    const head = await eventCount(t);

    const answers = (await Promise.all([matchPersonas(input), matchPersonas(input), matchPersonas(input)])).map((r) => r.data!.matchPersonas);
    for (const answer of answers) expect(answer).toMatchObject({ errors: [], matchId: answers[0].matchId, match: { id: answers[0].matchId, status: 'STAGED' } });
    expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
    expect(await eventCount(t)).toBe(head + answers[0].eventCount);
  });

  test('a retried createProgram answers with the first call\'s program', async () => {
    const create = () =>
      t.gql(
        `mutation ($input: CreateProgramInput!) { createProgram(input: $input) { ${PAYLOAD} program { id name } } }`,
        { input: { name: 'Retried program', timeZone: 'Europe/Paris', idempotencyKey: `program-${randomUUID()}` } },
        { token: admin },
      );
    const input = { name: 'Retried program', timeZone: 'Europe/Paris', idempotencyKey: `program-${randomUUID()}` };
    const send = () =>
      t.gql(`mutation ($input: CreateProgramInput!) { createProgram(input: $input) { ${PAYLOAD} program { id name } } }`, { input }, { token: admin });
    const first = (await send()).data!.createProgram;
    expect(first).toMatchObject({ errors: [], replayed: false, program: { name: 'Retried program' } });
    const retry = (await send()).data!.createProgram;
    expect(retry).toEqual({ ...first, replayed: true });
    // Another key is another program.
    const other = (await create()).data!.createProgram;
    expect(other.program.id).not.toBe(first.program.id);
  });

  test('a key used for one command is refused for another, and nothing is recorded', async () => {
    const mentor = await activeUser(`mentor.${randomUUID()}@example.org`, 'MENTOR');
    const mentee = await activeUser(`mentee.${randomUUID()}@example.org`, 'MENTEE');
    const idempotencyKey = `reused-${randomUUID()}`;
    const created = await t.gql(
      `mutation ($input: CreateProgramInput!) { createProgram(input: $input) { ${PAYLOAD} } }`,
      { input: { name: 'Keyed', timeZone: 'Europe/Paris', idempotencyKey } },
      { token: admin },
    );
    expect(created.data!.createProgram.errors).toEqual([]);
    const head = await eventCount(t);
    const reused = (await matchPersonas({ programId, mentorPersonaId: `${mentor}:p1`, menteePersonaId: `${mentee}:p1`, idempotencyKey })).data!.matchPersonas;
    expect(reused).toMatchObject({ errors: [{ code: 'IDEMPOTENCY_KEY_REUSED', message: expect.stringContaining('CreateProgram') }], matchId: null, match: null });
    expect(await eventCount(t)).toBe(head);
  });
});

announcePostgresSkip('idempotent retries over HTTP');
