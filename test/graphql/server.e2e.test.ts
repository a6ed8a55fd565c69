import { FIXED_NOW, SECRET_CONNECTION_STRING, startTestServer, token, type TestServer } from './testServer';

let t: TestServer;
let admin: string;
let mentor: string;

beforeAll(async () => {
  t = await startTestServer();
  admin = await token('admin', 'alice');
  mentor = await token('mentor', 'bob', { userId: 'user-7' });
});

afterAll(async () => {
  await t.server.stop();
});

const codes = (body: { errors?: { extensions?: { code?: string } }[] }) => body.errors?.map((e) => e.extensions?.code);

describe('anonymous callers', () => {
  it('may query health', async () => {
    const { status, body } = await t.graphql('{ health { status eventStore projectionsLag { projection checkpoint caughtUp } } }');
    expect(status).toBe(200);
    expect(body).toEqual({
      data: { health: { status: 'ok', eventStore: 'memory', projectionsLag: [{ projection: 'users', checkpoint: '7.1', caughtUp: true }] } },
    });
  });

  it.each([
    ['an @Authorized query', '{ whoAmI }', 'whoAmI'],
    ['a query that forgot @Authorized', '{ forgotToAuthorize }', 'forgotToAuthorize'],
    ['health mixed with something else', '{ health { status } adminOnly }', 'adminOnly'],
    ['a field hidden in a fragment', 'query { ...F } fragment F on Query { health { status } whoAmI }', 'whoAmI'],
    ['introspection', '{ __schema { queryType { name } } }', '__schema'],
    ['a mutation', 'mutation { rename(name: "x") { name } }', 'rename'],
  ])('may not ask for %s (UNAUTHENTICATED, 401)', async (_case, query, field) => {
    const { status, headers, body } = await t.graphql(query);
    expect(status).toBe(401);
    expect(headers.get('www-authenticate')).toBe('Bearer');
    expect(codes(body)).toEqual(['UNAUTHENTICATED']);
    expect(body.errors![0].message).toContain('anonymous callers may only query health');
    expect(body.errors![0].message).toContain(field);
    expect(body.data).toBeUndefined();
  });

  it('get no field-name hints from validation errors', async () => {
    const { body } = await t.graphql('{ healt { status } }');
    expect(codes(body)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(body.errors![0].message).not.toContain('Did you mean');
  });
});

describe('tokens', () => {
  it('identify the caller to resolvers, with the user id', async () => {
    const { body } = await t.graphql('{ whoAmI }', { token: mentor });
    expect(body).toEqual({ data: { whoAmI: 'bob:mentor:user-7' } });
  });

  it.each([
    ['garbage', async () => 'not-a-token', 'it is not a JWT'],
    ['signed with another secret', async () => token('admin', 'mallory', { secret: 'x'.repeat(40) }), 'its signature does not match'],
    ['expired', async () => token('admin', 'alice', { now: new Date(FIXED_NOW.getTime() - 2 * 3600_000) }), 'it expired at 2030-01-01T11:00:00.000Z'],
  ])('refuse a %s token with UNAUTHENTICATED and say why', async (_case, make, reason) => {
    const { status, body } = await t.graphql('{ health { status } }', { token: await make() });
    expect(status).toBe(401);
    expect(codes(body)).toEqual(['UNAUTHENTICATED']);
    expect(body.errors![0].message).toContain(reason);
    expect(body.errors![0].message).not.toMatch(/Context creation failed/);
  });

  it('refuse an Authorization header that is not a bearer token', async () => {
    const { status, body } = await t.graphql('{ health { status } }', { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
    expect(status).toBe(401);
    expect(body.errors![0].message).toContain('must read "Bearer <token>"');
  });

  it('accept the bearer scheme in any case (RFC 7235), as the exports do', async () => {
    const { status, body } = await t.graphql('{ whoAmI }', { headers: { authorization: `bearer ${admin}` } });
    expect(status).toBe(200);
    expect(body.data).toEqual({ whoAmI: 'alice:admin:-' });
  });
});

describe('roles', () => {
  it('let the admin through', async () => {
    expect((await t.graphql('{ adminOnly auditTrail }', { token: admin })).body).toEqual({
      data: { adminOnly: 'for admins', auditTrail: 'for admins and auditors' },
    });
  });

  it('refuse a wrong role with FORBIDDEN naming the roles needed and held', async () => {
    const one = await t.graphql('{ adminOnly }', { token: mentor });
    expect(one.status).toBe(200);
    expect(one.body).toEqual({
      data: null,
      errors: [
        {
          message: 'Query.adminOnly needs the role admin; your token has role mentor.',
          locations: [{ line: 1, column: 3 }],
          path: ['adminOnly'],
          // Every error names its request, as the logs do.
          extensions: { code: 'FORBIDDEN', details: { requiredRoles: ['admin'], role: 'mentor' }, requestId: one.headers.get('x-request-id') },
        },
      ],
    });
    const several = await t.graphql('{ auditTrail }', { token: mentor });
    expect(several.body.errors![0]).toMatchObject({
      message: 'Query.auditTrail needs one of the roles admin, auditor; your token has role mentor.',
      extensions: { code: 'FORBIDDEN' },
    });
  });
});

describe('query limits', () => {
  it('refuse an operation deeper than the limit with QUERY_TOO_DEEP', async () => {
    const deep = '{ tree { children { children { children { children { children { children { name } } } } } } } }';
    const { status, body } = await t.graphql(deep, { token: admin });
    expect(status).toBe(400);
    expect(codes(body)).toEqual(['QUERY_TOO_DEEP']);
    expect(body.errors![0].message).toBe('This query nests fields 8 levels deep; the limit is 6. Split it into smaller queries.');
    expect(body.errors![0].extensions).toMatchObject({ depth: 8, maxDepth: 6 });
  });

  it('count depth through fragments', async () => {
    const query = `{ tree { ...A } }
      fragment A on Node { children { ...B } }
      fragment B on Node { children { children { children { children { children { name } } } } } }`;
    expect(codes((await t.graphql(query, { token: admin })).body)).toEqual(['QUERY_TOO_DEEP']);
  });

  it('accept an operation at the limit', async () => {
    const { body } = await t.graphql('{ tree { children { children { children { children { name } } } } } }', { token: admin });
    expect(body.errors).toBeUndefined();
  });

  it('refuse an operation whose estimated cost is over the limit with QUERY_TOO_COMPLEX', async () => {
    const { status, body } = await t.graphql('query Costly { nodes(first: 100) { name children(first: 10) { name } } }', { token: admin });
    expect(status).toBe(400);
    expect(codes(body)).toEqual(['QUERY_TOO_COMPLEX']);
    // 1 + 100 × (name 1 + children (1 + 10 × name 1)) = 1201
    expect(body.errors![0].message).toBe(
      'This query is estimated to cost 1201; the limit is 500. Ask for fewer items (a smaller first/limit) or fewer fields, or split it.',
    );
  });

  it('read page sizes from variables', async () => {
    const query = 'query Page($n: Int!) { nodes(first: $n) { name } }';
    expect(codes((await t.graphql(query, { token: admin, variables: { n: 1000 } })).body)).toEqual(['QUERY_TOO_COMPLEX']);
    expect((await t.graphql(query, { token: admin, variables: { n: 2 } })).body).toEqual({ data: { nodes: [{ name: 'n0' }, { name: 'n1' }] } });
  });

  it('do not count introspection (GraphiQL needs its deep schema query)', async () => {
    const { getIntrospectionQuery } = await import('graphql');
    const { status, body } = await t.graphql(getIntrospectionQuery(), { token: admin });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.__schema.queryType.name).toBe('Query');
  });
});

describe('errors', () => {
  it('hide an unexpected error behind INTERNAL_SERVER_ERROR with the request id, and log it', async () => {
    const { status, headers, body, text } = await t.graphql('query Explode { boom }', { token: admin });
    const requestId = headers.get('x-request-id')!;
    expect(status).toBe(200);
    expect(body.errors).toEqual([
      {
        message: `Something went wrong on our side; the error was logged with request id ${requestId}.`,
        locations: [{ line: 1, column: 17 }],
        path: ['boom'],
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
      },
    ]);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('db.internal');
    expect(text).not.toMatch(/stack|at \w+ \(/i);
    const logged = t.logs.find((line) => line.msg === 'Unexpected error while serving a GraphQL request' && line.requestId === requestId);
    expect(logged).toMatchObject({ level: 50, operationName: 'Explode', actorId: 'alice' });
    expect(JSON.stringify(logged)).toContain(SECRET_CONNECTION_STRING);
  });

  it('return a refused command as data in the payload', async () => {
    const { body } = await t.graphql('mutation { rename(name: "taken") { name errors { code message field details } } }', { token: admin });
    expect(body).toEqual({
      data: {
        rename: {
          name: null,
          errors: [
            { code: 'ALREADY_EXISTS', message: 'The name "taken" is taken; pick another.', field: 'name', details: { field: 'name', name: 'taken' } },
          ],
        },
      },
    });
  });

  it('give a thrown DomainError its own code', async () => {
    const { body } = await t.graphql('mutation { closeForever }', { token: admin });
    expect(body.errors).toEqual([
      expect.objectContaining({
        message: 'A closed match cannot be closed again.',
        extensions: { code: 'ILLEGAL_TRANSITION', details: { matchId: 'm-1' }, requestId: expect.any(String) },
      }),
    ]);
  });

  it('report invalid input as VALIDATION_FAILED with per-field messages', async () => {
    const { body } = await t.graphql('mutation { invite(input: { email: "nope", name: "x" }) }', { token: admin });
    expect(codes(body)).toEqual(['VALIDATION_FAILED']);
    expect(body.errors![0].extensions.fields).toEqual([
      { field: 'email', messages: ['email must be an email address'] },
      { field: 'name', messages: ['name must be 2 to 40 characters long'] },
    ]);
    expect(body.errors![0].message).toContain('email: email must be an email address');
  });

  it('keep GraphQL syntax errors as they are', async () => {
    const { status, body } = await t.graphql('{ health { ', { token: admin });
    expect(status).toBe(400);
    expect(codes(body)).toEqual(['GRAPHQL_PARSE_FAILED']);
  });
});

describe('HTTP', () => {
  it('serves /health as plain JSON for load balancers', async () => {
    const response = await fetch(`${t.server.url}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: 'ok', eventStore: 'memory', projectionsLag: [{ projection: 'users', checkpoint: '7.1', caughtUp: true }] });
  });

  it('refuses a body over the size limit with 413', async () => {
    const response = await fetch(`${t.server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query: `{ health { status } }${' '.repeat(20 * 1024)}` }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as any).errors[0].extensions).toEqual({ code: 'PAYLOAD_TOO_LARGE', maxBytes: 16 * 1024, requestId: response.headers.get('x-request-id') });
  });

  it('refuses batched operations', async () => {
    const response = await fetch(`${t.server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify([{ query: '{ whoAmI }' }, { query: '{ whoAmI }' }]),
    });
    expect(response.status).toBe(400);
  });

  it('refuses a body that is not JSON', async () => {
    const response = await fetch(`${t.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('BAD_REQUEST');
  });

  it('answers GET queries (with the CSRF preflight header) and refuses GET mutations', async () => {
    const headers = { authorization: `Bearer ${admin}`, 'apollo-require-preflight': 'true' };
    const get = await fetch(`${t.server.url}/graphql?query=${encodeURIComponent('{ whoAmI }')}`, { headers });
    expect(await get.json()).toEqual({ data: { whoAmI: 'alice:admin:-' } });
    // Answers carry personal data: never stored by a cache, whether they succeeded or failed.
    expect(get.headers.get('cache-control')).toBe('no-store');
    const mutation = await fetch(`${t.server.url}/graphql?query=${encodeURIComponent('mutation { closeForever }')}`, { headers });
    expect(mutation.status).toBe(405);
  });

  it('marks every GraphQL answer, data or error, as not to be stored by caches', async () => {
    const answers = [
      await t.graphql('{ whoAmI }', { token: admin }),
      await t.graphql('{ whoAmI }'),
      await t.graphql('{ healt { status } }', { token: admin }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 401, 400]);
    for (const answer of answers) expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it('name the request in every error, those Apollo answers without running the plugins too', async () => {
    const named = (response: { headers: Headers; body: { errors?: { extensions?: Record<string, unknown> }[] } }) => {
      const requestId = response.headers.get('x-request-id');
      expect(requestId).toBeTruthy();
      expect(response.body.errors?.length).toBeGreaterThan(0);
      for (const error of response.body.errors!) expect(error.extensions?.requestId).toBe(requestId);
      return response.body.errors!.map((error) => error.extensions?.code);
    };
    // The context fails: a token that does not verify.
    const badToken = await t.graphql('{ whoAmI }', { token: 'not-a-token' });
    expect(badToken.status).toBe(401);
    expect(named(badToken)).toEqual(['UNAUTHENTICATED']);
    // The context fails: a header that is not a position.
    expect(named(await t.graphql('{ whoAmI }', { token: admin, headers: { 'x-consistent-with': 'yesterday' } }))).toEqual(['VALIDATION_FAILED']);
    // Apollo refuses the request without running the plugins: no query in the body.
    const noQuery = await fetch(`${t.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: '{}' });
    expect(noQuery.status).toBe(400);
    expect(named({ headers: noQuery.headers, body: (await noQuery.json()) as never })).toEqual(['BAD_REQUEST']);
    // In execution: two errors of one answer, each named once.
    expect(named(await t.graphql('{ healt nope }', { token: admin }))).toEqual(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_VALIDATION_FAILED']);
  });

  it('keeps a safe caller correlation id and replaces an unsafe one', async () => {
    const kept = await t.graphql('{ whoAmI }', { token: admin, headers: { 'x-correlation-id': 'checkout-42' } });
    expect(kept.headers.get('x-correlation-id')).toBe('checkout-42');
    const replaced = await t.graphql('{ whoAmI }', { token: admin, headers: { 'x-correlation-id': 'bad\tid {"injected": true}' } });
    expect(replaced.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs each request with method, path, status, duration, operation, request id and actor', async () => {
    const { headers } = await t.graphql('query WhoAmI { whoAmI }', { token: mentor });
    const requestId = headers.get('x-request-id');
    await new Promise((resolve) => setImmediate(resolve));
    const line = t.logs.find((l) => l.msg === 'request' && l.requestId === requestId);
    expect(line).toMatchObject({ level: 30, method: 'POST', path: '/graphql', status: 200, operationName: 'WhoAmI', actorId: 'bob' });
    expect(typeof line!.durationMs).toBe('number');
    expect(JSON.stringify(t.logs)).not.toContain(mentor);
  });

  it('answers 404 for unknown paths and does not serve the explorer unless asked', async () => {
    expect((await fetch(`${t.server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${t.server.url}/`)).status).toBe(404);
  });
});

describe('graceful stop', () => {
  it('lets an in-flight request finish, refuses new connections, then runs the shutdown hooks in order', async () => {
    const s = await startTestServer({ stopGracePeriodMs: 5000 });
    const slowToken = await token('admin');
    const inFlight = s.graphql('{ slow(ms: 400) }', { token: slowToken });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopped = s.server.stop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s.shutdownCalls).toEqual([]);
    await expect(fetch(`${s.server.url}/health`)).rejects.toThrow();
    const { status, body } = await inFlight;
    expect(status).toBe(200);
    expect(body).toEqual({ data: { slow: 'slept 400 ms' } });
    await stopped;
    expect(s.shutdownCalls).toEqual(['first', 'second']);
    expect(s.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['HTTP server started', 'HTTP server stopped']));
    await expect(s.server.stop()).resolves.toBeUndefined();
  });

  it('reports failing shutdown hooks after running all of them', async () => {
    const calls: string[] = [];
    const s = await startTestServer({
      onShutdown: [
        () => {
          throw new Error('projection runner would not stop');
        },
        () => void calls.push('event store closed'),
      ],
    });
    await expect(s.server.stop()).rejects.toThrow('1 shutdown hook(s) failed');
    expect(calls).toEqual(['event store closed']);
  });
});
