import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { formatPosition } from '../../src/eventstore/eventStore';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/*
 * One gate for both doors: every attack the issue lists is refused with the same code over HTTP
 * and over graphql-ws, and refused calls append nothing.
 */

announcePostgresSkip('the gate');

interface Answer {
  readonly data?: Record<string, any> | null;
  readonly errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
  /** The WebSocket close code, when the server closed the socket instead of answering. */
  readonly closed?: number;
}

const codes = (answer: Answer) => answer.errors?.map((error) => error.extensions?.code) ?? [];

const deepQuery = (levels: number) => `query { me { personas { ${'partner { '.repeat(levels - 3)}id${' }'.repeat(levels - 3)} } } }`;
const aliases = (count: number, field: string) => `query { ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

describe.each(sqlBackends())('the gate on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let mentee: string;
  let auditor: string;
  let programId: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await startTestApp(await open());
    admin = await t.token('admin', 'alice.admin');
    auditor = await t.token('auditor', 'otto.auditor');
    mentee = await t.token('mentee', 'ben', 'user-ben');
    const created = await t.gql(`mutation { createProgram(input: { name: "Gate 2026", timeZone: "UTC" }) { errors { code } program { id } } }`, {}, { token: admin });
    programId = created.data!.createProgram.program.id;
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await t?.close();
  });

  const overHttp = async (token: string, query: string, variables: Record<string, unknown> = {}): Promise<Answer> => {
    const response = await fetch(new URL('graphql', t.http.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    try {
      return JSON.parse(text) as Answer;
    } catch {
      return { errors: [{ message: text, extensions: { code: `HTTP ${response.status}` } }] };
    }
  };

  const overSocket = (token: string, query: string, variables: Record<string, unknown> = {}): Promise<Answer> => {
    const client = createClient({
      url: t.http.url.replace(/^http/, 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: true,
    });
    clients.push(client);
    return new Promise<Answer>((resolve) => {
      let answer: Answer = {};
      client.subscribe(
        { query, variables },
        {
          next: (message) => (answer = message as Answer),
          error: (error) => {
            if (Array.isArray(error)) resolve({ errors: error });
            else if (error && typeof error === 'object' && 'code' in error) resolve({ closed: (error as { code: number }).code });
            else resolve({ errors: [{ message: String(error) }] });
          },
          complete: () => resolve(answer),
        },
      );
    });
  };

  const head = async () => formatPosition(await t.app.store.readCommittedHead());

  const doors = [
    ['HTTP', overHttp],
    ['WebSocket', overSocket],
  ] as const;

  describe.each(doors)('through the %s door', (_door, send) => {
    test("a mentee's 30-level query is refused with QUERY_TOO_DEEP", async () => {
      const answer = await send(mentee, deepQuery(30));
      expect(codes(answer)).toEqual(['QUERY_TOO_DEEP']);
      expect(answer.errors![0]!.message).toBe('This query nests fields 30 levels deep; the limit is 12. Split it into smaller queries.');
    });

    test('3,000 aliases are refused with QUERY_TOO_MANY_ALIASES', async () => {
      const answer = await send(mentee, aliases(3000, '__typename'));
      expect(codes(answer)).toEqual(['QUERY_TOO_MANY_ALIASES']);
      expect(answer.errors![0]!.message).toBe('This query uses 3000 aliases; the limit is 50. Split it into smaller requests.');
      // With fields that have selections, 3,000 aliases are over the token limit before anything else.
      expect(codes(await send(mentee, aliases(3000, 'health { status }')))).toEqual(['GRAPHQL_PARSE_FAILED']);
    });

    test('a document over the size limit is refused with PAYLOAD_TOO_LARGE', async () => {
      const answer = await send(mentee, `query { health { status } } # ${'x'.repeat(200_000)}`);
      expect(codes(answer)).toEqual(['PAYLOAD_TOO_LARGE']);
    });

    test('a document with too many tokens is refused with GRAPHQL_PARSE_FAILED', async () => {
      const answer = await send(mentee, `query { health { ${'status '.repeat(12_000)}} }`);
      expect(codes(answer)).toEqual(['GRAPHQL_PARSE_FAILED']);
      // (graphql-js spells it "more that")
      expect(answer.errors![0]!.message).toMatch(/Document contains more tha[nt] 10000 tokens/);
    });

    test('validation errors give no "Did you mean" suggestions', async () => {
      const answer = await send(mentee, 'query { healt { status } me { statuss } }');
      expect(codes(answer)).toEqual(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_VALIDATION_FAILED']);
      for (const error of answer.errors!) expect(error.message).not.toContain('Did you mean');
    });

    test('a wrong enum value in a variable gives no suggestion either', async () => {
      const answer = await send(admin, 'query ($role: ParticipantRole) { users(filter: { role: $role }) { totalCount } }', { role: 'MENTE' });
      expect(codes(answer)).toEqual(['VALIDATION_FAILED']);
      expect(answer.errors![0]!.message).not.toContain('Did you mean');
    });

    test('verifyEventLog runs once, but three aliases of it are refused (QUERY_TOO_MANY_EXPENSIVE_FIELDS), and 1,000 too', async () => {
      const once = await send(auditor, 'query { verifyEventLog { intact } }');
      expect(once.errors).toBeUndefined();
      expect(once.data).toEqual({ verifyEventLog: { intact: true } });
      const three = await send(auditor, aliases(3, 'verifyEventLog { intact }'));
      expect(codes(three)).toEqual(['QUERY_TOO_MANY_EXPENSIVE_FIELDS']);
      expect(three.errors![0]!.message).toContain('runs 3 expensive fields');
      const thousand = await send(auditor, aliases(1000, 'verifyEventLog { intact }'));
      expect(codes(thousand)[0]).toMatch(/^QUERY_TOO_/);
      expect(thousand.data ?? null).toBeNull();
    });

    test('a NUL byte, a lone surrogate and too many variable errors are VALIDATION_FAILED and append nothing', async () => {
      const before = await head();
      const create = 'mutation ($input: CreateProgramInput!) { createProgram(input: $input) { errors { code } program { id } } }';
      const nul = await send(admin, create, { input: { name: 'Nul\u0000Program', timeZone: 'UTC' } });
      expect(codes(nul)).toEqual(['VALIDATION_FAILED']);
      expect(nul.errors![0]!.message).toBe('$input.name contains a NUL character (\\u0000). Remove it and send the request again.');
      const surrogate = await send(admin, create, { input: { name: 'Lone', timeZone: 'UTC', reason: 'half \ud800 a pair' } });
      expect(codes(surrogate)).toEqual(['VALIDATION_FAILED']);
      expect(surrogate.errors![0]!.message).toContain('$input.reason contains an unpaired UTF-16 surrogate');
      const literal = await send(admin, 'mutation { createProgram(input: { name: "Nul\\u0000", timeZone: "UTC" }) { errors { code } } }');
      expect(codes(literal)).toEqual(['VALIDATION_FAILED']);
      const manyErrors = await send(admin, 'query ($types: [String!]) { eventLog(filter: { eventTypes: $types }, first: 1) { edges { cursor } } }', {
        types: Array.from({ length: 60 }, (_, i) => i),
      });
      expect(codes(manyErrors)).toEqual(['VALIDATION_FAILED']);
      expect(manyErrors.errors![0]!.message).toContain('only the first 10 are listed');
      expect(await head()).toBe(before);
    });
  });

  test('the WebSocket door refuses a 20 MiB message by closing the socket (1009), and keeps serving', async () => {
    const answer = await overSocket(mentee, `query { health { status } } # ${'x'.repeat(20 * 1024 * 1024)}`);
    expect(answer.closed).toBe(1009);
    expect((await overSocket(mentee, 'query { health { status } }')).data).toEqual({ health: { status: 'ok' } });
  });

  test('setNotificationTemplate(subject: null) is VALIDATION_FAILED, not an internal error', async () => {
    const before = await head();
    const answer = await overHttp(
      admin,
      'mutation ($input: SetNotificationTemplateInput!) { setNotificationTemplate(input: $input) { errors { code field } } }',
      { input: { programId, kind: 'MATCH_REQUEST', subject: null, body: 'Hello {{menteeName}}' } },
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.setNotificationTemplate.errors).toEqual([{ code: 'VALIDATION_FAILED', field: 'subject' }]);
    expect(await head()).toBe(before);
  });

  test('the exports accept the bearer scheme in lower case, like /graphql', async () => {
    const url = new URL(`exports/matches.csv?programId=${programId}`, t.http.url);
    const lower = await fetch(url, { headers: { authorization: `bearer ${admin}` } });
    expect(lower.status).toBe(200);
    expect(await lower.text()).toContain('Mentor,Mentor e-mail');
    const graphql = await fetch(new URL('graphql', t.http.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `bearer ${admin}` },
      body: JSON.stringify({ query: '{ health { status } }' }),
    });
    expect(((await graphql.json()) as Answer).data).toEqual({ health: { status: 'ok' } });
    const bad = await fetch(url, { headers: { authorization: 'bearer not-a-token' } });
    expect(bad.status).toBe(401);
  });
});
