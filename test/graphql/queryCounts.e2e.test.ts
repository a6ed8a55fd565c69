import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { countingDatabase, type CountingDatabase, type SentStatement } from '../support/countingDatabase';
import { startTestApp, type TestApp } from '../support/testApp';

/*
 * How many statements (and roughly how many bytes) one command and one read send to the database,
 * through GraphQL over HTTP as a frontend sends them, on both stores (issue 19). The counts are
 * pinned: a change that adds a query to these paths fails here and must say why (or lower the pin
 * when it removes one). Background work (the projection runner, the read-audit recorder) is stopped
 * or flushed around each measured request, so only the request's own statements are counted.
 *
 * Counted by `countingDatabase`: every query, COPY, and BEGIN/COMMIT of a transaction.
 */

/** The pins: statements per request (exact) and a ceiling on bytes sent (text once per prepared statement). */
const PINNED = {
  changeUserStatus: { statements: 1, bytes: 2_000 },
  userHistory: { statements: 1, bytes: 2_000 },
  users: { statements: 1, bytes: 1_000 },
} as const;

announcePostgresSkip('query counts');

describe.each(sqlBackends())('statements per request on $name', ({ open }) => {
  let t: TestApp;
  let db: CountingDatabase;
  let admin: string;
  let userId: string;
  let atRest = 0;

  beforeAll(async () => {
    const database = await open();
    db = countingDatabase(database.db);
    t = await startTestApp({ db, close: database.close });
    admin = await t.token('admin', 'alice.admin');
    const program = await t.gql(`mutation { createProgram(input: { name: "Counted", timeZone: "UTC" }) { errors { code } program { id } } }`, {}, { token: admin });
    const programId = program.data!.createProgram.program.id;
    for (let i = 0; i < 25; i++) {
      const registered = await t.gql(
        `mutation ($input: RegisterUserInput!) { registerUser(input: $input) { errors { code message } user { id } } }`,
        { input: { programId, email: `person${i}@example.org`, name: `Person ${i}`, role: i % 2 ? 'MENTEE' : 'MENTOR' } },
        { token: admin },
      );
      expect(registered.data!.registerUser.errors).toEqual([]);
      userId = registered.data!.registerUser.user.id;
    }
    // A history of some length for the user measured.
    // AI → SI is the completed application's (seed 000: no direct move), then the admin's moves.
    const completed = await t.gql(`mutation ($input: UserInput!) { completeApplication(input: $input) { errors { code message } } }`, { input: { userId } }, { token: admin });
    expect(completed.data!.completeApplication.errors).toEqual([]);
    for (const status of ['A', 'IW', 'A', 'IR', 'A']) await changeStatus(status);
    await t.app.runner.catchUp();
    await t.app.services.readLog.flush();
    // At rest for two seconds: what the background jobs send with nothing to do.
    db.reset();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    atRest = db.sent.length;
    if (process.env.SHOW_QUERIES) console.log(`at rest: ${atRest} statements in 2 s`);
    // From here on the runner only runs when the test says so: its polls are not the request's.
    await t.app.runner.stop();
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  // The payload without the user: selecting it waits for the read models (the runner), which is not the command's work.
  const changeStatus = async (status: string) => {
    const response = await t.gql(
      `mutation ($input: ChangeUserStatusInput!) { changeUserStatus(input: $input) { errors { code message } position } }`,
      { input: { userId, status, reason: `Counted move to ${status}` } },
      { token: admin },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data!.changeUserStatus.errors).toEqual([]);
    return response.data!.changeUserStatus;
  };

  /** Runs `request` with the projections caught up and nothing buffered, and returns what it sent. */
  const measure = async (request: () => Promise<unknown>): Promise<readonly SentStatement[]> => {
    await t.app.runner.catchUp();
    await t.app.services.readLog.flush();
    db.reset();
    await request();
    const sent = [...db.sent];
    db.reset();
    return sent;
  };
  const describeSent = (sent: readonly SentStatement[]) => sent.map((s) => `${s.bytes} B ${s.name ?? ''} ${s.sql.replace(/\s+/g, ' ').slice(0, 100)}`).join('\n');
  const expectPinned = (what: keyof typeof PINNED, sent: readonly SentStatement[]) => {
    const bytes = sent.reduce((n, s) => n + s.bytes, 0);
    if (process.env.SHOW_QUERIES) console.log(`${what}: ${sent.length} statements, ${bytes} bytes\n${describeSent(sent)}`);
    // The statements themselves, so that a failure shows what was added.
    expect(describeSent(sent).split('\n')).toHaveLength(PINNED[what].statements);
    expect(bytes).toBeLessThanOrEqual(PINNED[what].bytes);
  };

  test('at rest, the background jobs leave the database alone', () => {
    // The embedded store's one connection is the requests': its runner polls every 5 s (each local
    // append wakes it), not every 250 ms (16 statements in 2 s before). A 2 s window can hold one such
    // poll (two statements) and the token revocations' 5 s poll (one). PostgreSQL keeps the 250 ms poll
    // that finds other instances' appends: two statements a poll.
    if (db.kind === 'embedded') expect(atRest).toBeLessThanOrEqual(3);
    else expect(atRest).toBeLessThanOrEqual(20);
  });

  test('changeUserStatus: the append alone (decided on the kept state of the stream, which the append checks)', async () => {
    // The first call on a connection prepares the append; the pin is about the steady state.
    await measure(() => changeStatus('IW'));
    const sent = await measure(() => changeStatus('A'));
    expectPinned('changeUserStatus', sent);
  });

  test('userHistory(first: 20): the page of entries and the events they show in one statement (the log is in this database)', async () => {
    const query = () =>
      t.gql(
        `query ($userId: ID!) { userHistory(userId: $userId, first: 20) { edges { node { summary occurredAt actor { id role } } } pageInfo { hasNextPage } } }`,
        { userId },
        { token: admin },
      );
    await measure(query);
    let page: Awaited<ReturnType<typeof query>> | undefined;
    const sent = await measure(async () => (page = await query()));
    expect(page!.errors).toBeUndefined();
    expect(page!.data!.userHistory.edges.length).toBeGreaterThan(5);
    expectPinned('userHistory', sent);
  });

  test('users(first: 20): one page', async () => {
    const query = () => t.gql(`{ users(first: 20) { edges { node { id name status } } pageInfo { hasNextPage } } }`, {}, { token: admin });
    await measure(query);
    let page: Awaited<ReturnType<typeof query>> | undefined;
    const sent = await measure(async () => (page = await query()));
    expect(page!.errors).toBeUndefined();
    expect(page!.data!.users.edges).toHaveLength(20);
    expectPinned('users', sent);
  });
});
