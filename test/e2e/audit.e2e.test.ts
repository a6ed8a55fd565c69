import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

const HOUR = 3_600_000;
const EVENT = `id position streamId aggregate revision type schemaVersion data
  metadata { occurredAt actor { id role } reason correlationId causationId command }`;

describe.each(sqlBackends())('the event log over GraphQL on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let auditor: string;
  let userId: string;
  let lastPosition = '';
  const at: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp(await open());
    admin = await t.token('admin', 'alice.admin');
    auditor = await t.token('auditor', 'otto.auditor');
    const mutate = async (name: string, mutation: string, inputType: string, input: Record<string, unknown>, select = '', headers: Record<string, string> = {}) => {
      t.clock.advance(HOUR);
      at[name] = t.clock.now.toISOString();
      const response = await t.gql(
        `mutation ($input: ${inputType}!) { ${mutation}(input: $input) { errors { code message } position ${select} } }`,
        { input },
        { token: admin, headers },
      );
      expect(response.errors).toBeUndefined();
      expect(response.data![mutation].errors).toEqual([]);
      lastPosition = response.data![mutation].position;
      return response.data![mutation];
    };
    const program = await mutate('create program', 'createProgram', 'CreateProgramInput', { name: 'Audit 2026', timeZone: 'Europe/Berlin' }, 'program { id }');
    const user = await mutate(
      'register',
      'registerUser',
      'RegisterUserInput',
      { programId: program.program.id, email: 'maya@example.org', name: 'Maya', role: 'MENTOR' },
      'user { id }',
      { 'x-correlation-id': 'req-register-maya' },
    );
    userId = user.user.id;
    await mutate('complete', 'completeApplication', 'UserInput', { userId });
    await mutate('activate', 'changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'A', reason: 'Screening passed' });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  const query = (text: string, variables: Record<string, unknown> = {}, token = auditor) =>
    t.gql(text, variables, { token, headers: { 'x-consistent-with': lastPosition } });

  test('an auditor browses the log, filtered, forward and backward', async () => {
    const page = async (args: string, variables: Record<string, unknown> = {}) => {
      const response = await query(
        `query ($filter: EventLogFilterInput, $after: String, $before: String) { eventLog(filter: $filter, ${args}, after: $after, before: $before) {
          edges { cursor node { ${EVENT} } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
        variables,
      );
      expect(response.errors).toBeUndefined();
      return response.data!.eventLog;
    };
    const filter = { streamId: `user-${userId}` };
    const forward: any[] = [];
    let after: string | null = null;
    do {
      const current: any = await page('first: 2', { filter, after });
      forward.push(...current.edges.map((edge: any) => edge.node));
      after = current.pageInfo.hasNextPage ? current.pageInfo.endCursor : null;
    } while (after);
    expect(forward.map((event) => event.revision)).toEqual(forward.map((_event, i) => i));
    expect(forward[0]).toMatchObject({ aggregate: 'user', type: 'UserRegistered', metadata: { actor: { id: 'alice.admin', role: 'admin' }, command: 'RegisterUser', correlationId: 'req-register-maya' } });
    const activation = forward.find((event) => event.type === 'UserStatusChanged' && event.data.to === 'A');
    expect(activation.metadata).toMatchObject({ reason: 'Screening passed', command: 'ChangeUserStatus', occurredAt: at.activate });

    const last = await page('last: 2', { filter });
    expect(last.edges.map((edge: any) => edge.node.id)).toEqual(forward.slice(-2).map((event) => event.id));
    expect(last.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const before = await page('last: 100', { filter, before: last.pageInfo.startCursor });
    expect(before.edges.map((edge: any) => edge.node.id)).toEqual(forward.slice(0, -2).map((event) => event.id));

    const statusChanges = await page('first: 50', { filter: { eventTypes: ['UserStatusChanged'], from: at.activate } });
    expect(statusChanges.edges.map((edge: any) => edge.node.id)).toEqual([activation.id]);
  });

  test('the chain of an event, and a user as of a moment and across a change', async () => {
    const log = await query(`query ($filter: EventLogFilterInput) { eventLog(filter: $filter, first: 50) { edges { node { id type data } } } }`, {
      filter: { streamId: `user-${userId}`, eventTypes: ['UserStatusChanged'] },
    });
    const activation = log.data!.eventLog.edges.map((edge: any) => edge.node).find((event: any) => event.data.to === 'A');
    const chain = await query(
      `query ($id: ID!) { eventChain(eventId: $id) { event { id } command { name reason actor { id role } events { id type } } caused { id } correlated { id } correlatedTruncated } }`,
      { id: activation.id },
    );
    expect(chain.errors).toBeUndefined();
    expect(chain.data!.eventChain).toMatchObject({
      event: { id: activation.id },
      command: { name: 'ChangeUserStatus', reason: 'Screening passed', actor: { id: 'alice.admin', role: 'admin' } },
      caused: [],
      correlatedTruncated: false,
    });
    expect(chain.data!.eventChain.command.events.map((event: any) => event.id)).toContain(activation.id);

    const asOf = await query(`query ($s: String!, $at: DateTimeISO!) { stateAsOf(streamId: $s, at: $at) { aggregate eventCount state } }`, {
      s: `user-${userId}`,
      at: at.complete,
    });
    expect(asOf.errors).toBeUndefined();
    expect(asOf.data!.stateAsOf).toMatchObject({ aggregate: 'user', state: { userStatus: 'SI', name: 'Maya' } });

    const diff = await query(`query ($s: String!, $from: DateTimeISO!, $to: DateTimeISO!) { stateDiff(streamId: $s, from: $from, to: $to) { changes { path kind before after } } }`, {
      s: `user-${userId}`,
      from: at.complete,
      to: at.activate,
    });
    expect(diff.errors).toBeUndefined();
    expect(diff.data!.stateDiff.changes).toContainEqual({ path: '/userStatus', kind: 'CHANGED', before: 'SI', after: 'A' });
  });

  test('clear refusals: unknown aggregates, reversed moments, bad cursors, and roles that may not read the log', async () => {
    const code = async (text: string, variables: Record<string, unknown> = {}, token = auditor) => (await query(text, variables, token)).errors?.[0]?.extensions?.code;
    expect(await code(`{ eventLog(filter: { aggregate: "person" }) { edges { cursor } } }`)).toBe('VALIDATION_FAILED');
    expect(await code(`{ eventLog(first: 2, after: "nonsense") { edges { cursor } } }`)).toBe('VALIDATION_FAILED');
    expect(await code(`{ eventLog(first: 500) { edges { cursor } } }`)).toBe('VALIDATION_FAILED');
    expect(await code(`{ stateAsOf(streamId: "person-1", at: "2026-01-01T00:00:00Z") { eventCount } }`)).toBe('VALIDATION_FAILED');
    expect(await code(`query ($s: String!) { stateDiff(streamId: $s, from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z") { changes { path } } }`, { s: `user-${userId}` })).toBe(
      'VALIDATION_FAILED',
    );
    const analyst = await t.token('analyst', 'ana.analyst');
    expect(await code(`{ eventLog(first: 1) { edges { cursor } } }`, {}, analyst)).toBeUndefined();
    const mentor = await t.token('mentor', 'maya', userId);
    expect(await code(`{ eventLog(first: 1) { edges { cursor } } }`, {}, mentor)).toBe('FORBIDDEN');
    expect(await code(`{ eventChain(eventId: "00000000-0000-0000-0000-000000000000") { event { id } } }`, {}, mentor)).toBe('FORBIDDEN');
  });
});

announcePostgresSkip('event log over GraphQL');
