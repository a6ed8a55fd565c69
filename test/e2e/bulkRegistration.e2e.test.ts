import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * Issue 18, item 2: "many people in one call (and a CSV upload at POST /imports/users.csv for
 * staff), each row validated, idempotent on re-upload, per-row results, progress for large files".
 * Through real HTTP on the composed server, on the embedded store and on PostgreSQL.
 */

const RESULT = 'errors { code message field } created alreadyRegistered refused position results { row status userId error { code message field } }';

const eventCount = async (t: TestApp): Promise<number> =>
  Number((await t.app.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events`)).rows[0]!.n);

interface NdjsonLine {
  readonly type: string;
  readonly [key: string]: unknown;
}

announcePostgresSkip('bulk registration e2e');

describe.each(sqlBackends())('bulk registration on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let programId: string;

  beforeAll(async () => {
    t = await startTestApp(await open(), '2026-01-05T09:00:00.000Z', { env: { IMPORT_MAX_ROWS: '1500', IMPORT_MAX_BYTES: '65536' } });
    admin = await t.token('admin', 'alice.admin');
    const created = await t.gql(`mutation { createProgram(input: { name: "Bulk", timeZone: "Europe/Paris" }) { program { id } } }`, {}, { token: admin });
    programId = created.data!.createProgram.program.id;
  });
  afterAll(async () => {
    await t?.close();
  });

  const registerUsers = async (users: Record<string, unknown>[], token = admin, extra: Record<string, unknown> = {}) => {
    const response = await t.gql(`mutation ($input: RegisterUsersInput!) { registerUsers(input: $input) { ${RESULT} } }`, { input: { programId, users, ...extra } }, { token });
    return response;
  };

  const upload = async (csv: string, options: { token?: string | null; query?: string; contentType?: string } = {}) => {
    const token = options.token === undefined ? admin : options.token;
    const response = await fetch(new URL(`/imports/users.csv?${options.query ?? `programId=${programId}`}`, t.http.url), {
      method: 'POST',
      headers: { 'content-type': options.contentType ?? 'text/csv', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: csv,
    });
    const text = await response.text();
    const lines = response.headers.get('content-type')?.startsWith('application/x-ndjson')
      ? text.trim().split('\n').map((line) => JSON.parse(line) as NdjsonLine)
      : [];
    return { status: response.status, text, lines, json: lines.length === 0 ? (JSON.parse(text) as { error: { code: string; message: string } }) : null };
  };

  test('registerUsers registers every valid row, refuses each bad one with its row and reason, and registers nobody twice on a second call', async () => {
    const users = [
      { email: 'ada@bulk.example', name: 'Ada', role: 'MENTOR', company: 'Analytical', managerName: 'Charles', managerEmail: 'charles@bulk.example' },
      { email: 'not-an-address', name: 'Bad', role: 'MENTEE' },
      { email: 'grace@bulk.example', name: 'Grace', role: 'mentee' },
      { email: 'ADA@bulk.example', name: 'Ada again', role: 'MENTOR' },
      { email: 'linus@bulk.example', name: 'Linus', role: 'COACH' },
      { email: 'ken@bulk.example', name: 'Ken', role: 'MENTOR', managerName: 'Dennis' },
    ];
    const first = (await registerUsers(users)).data!.registerUsers;
    expect(first.errors).toEqual([]);
    expect(first.results.map((r: { row: number; status: string }) => [r.row, r.status])).toEqual([
      [1, 'CREATED'],
      [2, 'REFUSED'],
      [3, 'CREATED'],
      [4, 'REFUSED'],
      [5, 'REFUSED'],
      [6, 'REFUSED'],
    ]);
    expect(first.results[1].error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'email' });
    expect(first.results[1].error.message).toContain('Row 2');
    expect(first.results[3].error.message).toBe('Row 4 repeats the e-mail address of row 1; list each person once.');
    expect(first.results[4].error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'role' });
    expect(first.results[5].error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'managerEmail' });
    expect([first.created, first.alreadyRegistered, first.refused]).toEqual([2, 0, 4]);

    // The users exist as registerUser makes them: AI, one persona in the program, the company and manager kept.
    const adaId = first.results[0].userId;
    const ada = await t.gql(`query ($id: ID!) { user(id: $id) { email name status company manager { name email } personas { role } } }`, { id: adaId }, {
      token: admin,
      headers: { 'x-consistent-with': first.position },
    });
    expect(ada.data!.user).toEqual({
      email: 'ada@bulk.example',
      name: 'Ada',
      status: 'AI',
      company: 'Analytical',
      manager: { name: 'Charles', email: 'charles@bulk.example' },
      personas: [{ role: 'MENTOR' }],
    });

    const before = await eventCount(t);
    const again = (await registerUsers(users)).data!.registerUsers;
    expect(again.results.filter((r: { status: string }) => r.status === 'ALREADY_REGISTERED').map((r: { row: number; userId: string }) => [r.row, r.userId])).toEqual([
      [1, adaId],
      [3, first.results[2].userId],
    ]);
    expect([again.created, again.alreadyRegistered, again.refused]).toEqual([0, 2, 4]);
    expect(again.position).toBeNull();
    expect(await eventCount(t)).toBe(before);
  });

  test('registration events carry their personal data in the forgettable payloads, like registerUser', async () => {
    const result = (await registerUsers([{ email: 'hedy@bulk.example', name: 'Hedy Lamarr', role: 'MENTOR', company: 'Frequency Hopping' }])).data!.registerUsers;
    expect(result.created).toBe(1);
    const stored = await t.app.db.query<{ data: unknown }>(`SELECT data FROM es_events WHERE stream_id = $1`, [`user-${result.results[0].userId}`]);
    expect(stored.rows.length).toBeGreaterThan(0);
    const raw = JSON.stringify(stored.rows);
    expect(raw).not.toContain('Hedy Lamarr');
    expect(raw).not.toContain('hedy@bulk.example');
    expect(raw).not.toContain('Frequency Hopping');
    const split = await t.app.db.query<{ data: unknown }>(
      `SELECT personal_data AS data FROM es_events WHERE stream_id = $1`,
      [`user-${result.results[0].userId}`],
    );
    expect(JSON.stringify(split.rows)).toContain('Hedy Lamarr');
  });

  test('a call that cannot start is refused whole and writes nothing: no such program, too many rows, a participant\'s token', async () => {
    const before = await eventCount(t);
    const noProgram = (await t.gql(`mutation ($input: RegisterUsersInput!) { registerUsers(input: $input) { ${RESULT} } }`, {
      input: { programId: 'no-such-program', users: [{ email: 'x@bulk.example', name: 'X', role: 'MENTOR' }] },
    }, { token: admin })).data!.registerUsers;
    expect(noProgram.errors).toEqual([expect.objectContaining({ code: 'NOT_FOUND', field: 'programId' })]);
    expect(noProgram.results).toEqual([]);

    const many = Array.from({ length: 1501 }, (_, i) => ({ email: `many${i}@bulk.example`, name: `Many ${i}`, role: 'MENTEE' }));
    const tooMany = (await registerUsers(many)).data!.registerUsers;
    expect(tooMany.errors[0]).toMatchObject({ code: 'VALIDATION_FAILED', field: 'rows' });
    expect(tooMany.errors[0].message).toContain('at most 1500');

    const mentor = await t.token('mentor', 'maya', 'some-user');
    const forbidden = await registerUsers([{ email: 'y@bulk.example', name: 'Y', role: 'MENTOR' }], mentor);
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await eventCount(t)).toBe(before);
  });

  test('coordinators may register people too', async () => {
    const coordinator = await t.token('coordinator', 'cora.coordinator');
    const result = (await registerUsers([{ email: 'coordinated@bulk.example', name: 'Coordinated', role: 'MENTEE' }], coordinator)).data!.registerUsers;
    expect(result.created).toBe(1);
  });

  test('POST /imports/users.csv streams one NDJSON line per row with progress and a summary; the same file again registers nobody twice', async () => {
    const csv = [
      '\uFEFFEmail,Name,Role,Company,Manager Name,Manager Email',
      'alan@csv.example,"Turing, Alan",MENTOR,"Bletchley ""Park""",Max,max@csv.example',
      'joan@csv.example,Joan,MENTEE,,,',
      'broken,Nobody,MENTEE,,,',
      '',
      'margaret@csv.example,Margaret,MENTOR,NASA,,',
    ].join('\r\n');
    const first = await upload(csv);
    expect(first.status).toBe(200);
    expect(first.lines[0]).toEqual({ type: 'started', rows: 4, programId });
    const rows = first.lines.filter((line) => line.type === 'row').sort((a, b) => (a.row as number) - (b.row as number));
    expect(rows.map((line) => [line.row, line.status])).toEqual([
      [2, 'CREATED'],
      [3, 'CREATED'],
      [4, 'REFUSED'],
      [6, 'CREATED'],
    ]);
    expect(rows[2]!.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'email' });
    expect(first.lines.at(-1)).toMatchObject({ type: 'summary', total: 4, created: 3, alreadyRegistered: 0, refused: 1 });

    const alan = await t.gql(`query ($id: ID!) { user(id: $id) { name company manager { email } } }`, { id: rows[0]!.userId }, {
      token: admin,
      headers: { 'x-consistent-with': first.lines.at(-1)!.position as string },
    });
    expect(alan.data!.user).toEqual({ name: 'Turing, Alan', company: 'Bletchley "Park"', manager: { email: 'max@csv.example' } });

    const before = await eventCount(t);
    const second = await upload(csv);
    expect(second.lines.at(-1)).toMatchObject({ type: 'summary', created: 0, alreadyRegistered: 3, refused: 1, position: null });
    const again = second.lines.filter((line) => line.type === 'row' && line.status === 'ALREADY_REGISTERED');
    expect(again.map((line) => line.userId).sort()).toEqual(rows.filter((r) => r.status === 'CREATED').map((r) => r.userId).sort());
    expect(await eventCount(t)).toBe(before);
  });

  test('progress lines come every 500 rows of a large file', async () => {
    // Every row is refused (no such role), so the file is quick and writes nothing.
    const csv = ['email,name,role', ...Array.from({ length: 1200 }, (_, i) => `p${i}@big.example,P ${i},NOBODY`)].join('\n');
    const { lines } = await upload(csv);
    expect(lines.filter((line) => line.type === 'progress')).toEqual([
      { type: 'progress', done: 500, total: 1200 },
      { type: 'progress', done: 1000, total: 1200 },
    ]);
    expect(lines.filter((line) => line.type === 'row')).toHaveLength(1200);
    expect(lines.at(-1)).toMatchObject({ type: 'summary', refused: 1200 });
  });

  test('an upload that cannot be imported is answered with a JSON error before anything is written', async () => {
    const before = await eventCount(t);
    const ok = 'email,name,role\nzed@csv.example,Zed,MENTOR\n';

    const anonymous = await upload(ok, { token: null });
    expect([anonymous.status, anonymous.json!.error.code]).toEqual([401, 'UNAUTHENTICATED']);

    const analyst = await upload(ok, { token: await t.token('analyst', 'ana') });
    expect([analyst.status, analyst.json!.error.code]).toEqual([403, 'FORBIDDEN']);
    expect(analyst.json!.error.message).toContain('admin and coordinator can');

    const noProgram = await upload(ok, { query: '' });
    expect([noProgram.status, noProgram.json!.error.code]).toEqual([400, 'VALIDATION_FAILED']);

    const unknownProgram = await upload(ok, { query: 'programId=nope' });
    expect([unknownProgram.status, unknownProgram.json!.error.code]).toEqual([404, 'NOT_FOUND']);

    const misspelt = await upload('email,name,role,compnay\nzed@csv.example,Zed,MENTOR,X\n');
    expect([misspelt.status, misspelt.json!.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(misspelt.json!.error.message).toContain('"compnay"');

    const missing = await upload('email,name\nzed@csv.example,Zed\n');
    expect(missing.json!.error.message).toBe('The first line must name the column role.');

    const openQuote = await upload('email,name,role\n"zed@csv.example,Zed,MENTOR\n');
    expect(openQuote.json!.error.message).toContain('never closed');

    const tooLarge = await upload(`email,name,role\n${'a'.repeat(70_000)}\n`);
    expect([tooLarge.status, tooLarge.json!.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);

    const tooMany = await upload(['email,name,role', ...Array.from({ length: 1501 }, (_, i) => `r${i}@x.example,R,MENTOR`)].join('\n'));
    expect([tooMany.status, tooMany.json!.error.code]).toEqual([400, 'VALIDATION_FAILED']);

    const json = await upload('{"email":"zed@csv.example"}', { contentType: 'application/json' });
    expect([json.status, json.json!.error.code]).toEqual([400, 'VALIDATION_FAILED']);

    expect(await eventCount(t)).toBe(before);
  });
});

describe('the upload door shares the rate limits of /graphql', () => {
  test('an upload takes a write from the token subject\'s bucket: the next upload or mutation of that subject is refused with 429', async () => {
    const { openTestPglite } = await import('../support/databases');
    const t = await startTestApp(await openTestPglite(), '2026-01-05T09:00:00.000Z', { env: { RATE_LIMIT_WRITES_PER_MINUTE: '2' } });
    try {
      const admin = await t.token('admin', 'rita.admin');
      const created = await t.gql(`mutation { createProgram(input: { name: "Limits", timeZone: "UTC" }) { program { id } } }`, {}, { token: admin });
      const programId = created.data!.createProgram.program.id as string;
      const upload = () =>
        fetch(new URL(`/imports/users.csv?programId=${programId}`, t.http.url), {
          method: 'POST',
          headers: { 'content-type': 'text/csv', authorization: `Bearer ${admin}` },
          body: 'email,name,role\nrita.one@limits.example,One,MENTOR\n',
        });
      expect((await upload()).status).toBe(200);
      const refused = await upload();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
      const mutation = await t.gql(`mutation { createProgram(input: { name: "More", timeZone: "UTC" }) { program { id } } }`, {}, { token: admin });
      expect(mutation.status).toBe(429);
    } finally {
      await t.close();
    }
  });
});
