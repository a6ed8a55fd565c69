import { KurrentEventStore } from '../../src/eventstore/kurrentEventStore';
import { openTestPglite } from '../support/databases';
import { FakeKurrentClient } from '../support/fakeKurrentClient';
import { startTestApp, type TestApp } from '../support/testApp';

/*
 * The composed server with its events going through the KurrentDB adapter, over the in-memory
 * imitation of the KurrentDB client and server (test/support/fakeKurrentClient.ts), read models in
 * the embedded store: the README's first session, a live match (a multi-stream command with a
 * check of the program), idempotent retries, and the auditors' log, all over HTTP. NO KurrentDB
 * server runs here: what a real server does differently is covered by the contract against one
 * (test/eventstore/kurrent.int.test.ts) and the lifecycle and matching e2e suites, which also run
 * on KurrentDB when EVENTSTORE_CONNECTION_STRING is set.
 */

const PAYLOAD = 'errors { code message details } position';

const session = (t: TestApp, token: string) => {
  let position = '';
  const mutate = async (name: string, inputType: string, input: Record<string, unknown>, select = '') => {
    const response = await t.gql(`mutation ($input: ${inputType}!) { ${name}(input: $input) { ${PAYLOAD} ${select} } }`, { input }, { token });
    expect(response.errors).toBeUndefined();
    const payload = response.data![name] as Record<string, any>;
    if (payload.position) position = payload.position as string;
    return payload;
  };
  const ok = async (name: string, inputType: string, input: Record<string, unknown>, select = '') => {
    const payload = await mutate(name, inputType, input, select);
    expect(payload.errors).toEqual([]);
    return payload;
  };
  const query = async (text: string, variables: Record<string, unknown> = {}) => {
    const response = await t.gql(text, variables, { token, headers: position ? { 'x-consistent-with': position } : {} });
    expect(response.errors).toBeUndefined();
    return response.data!;
  };
  return { mutate, ok, query };
};

describe('the server on the KurrentDB adapter (imitation of KurrentDB 26.1)', () => {
  let t: TestApp;
  let client: FakeKurrentClient;

  beforeAll(async () => {
    client = new FakeKurrentClient('26.1.0', { systemEventEvery: 5 });
    t = await startTestApp(await openTestPglite(), undefined, { store: new KurrentEventStore(client) });
  });
  afterAll(async () => {
    await t?.close();
  });

  test('the first session, a live match and the audit log, with every write through the adapter', async () => {
    const admin = await t.token('admin', 'alice');
    const { ok, mutate, query } = session(t, admin);
    expect((await query('{ health { eventStore } }')).health.eventStore).toBe('KurrentDB');

    const created = await ok('createProgram', 'CreateProgramInput', { name: 'Riverside 2026', timeZone: 'America/New_York' }, 'program { id }');
    const programId = created.program.id as string;
    await ok('turnMatchingOn', 'ProgramInput', { programId });
    const person = async (email: string, name: string, role: string) => {
      const registered = await ok('registerUser', 'RegisterUserInput', { programId, email, name, role }, 'user { id status personas { id matchStatus } }');
      const userId = registered.user.id as string;
      await ok('completeApplication', 'UserInput', { userId });
      await ok('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'A' });
      return { userId, personaId: `${userId}:p1` };
    };
    const maya = await person('maya@example.org', 'Maya', 'MENTOR');
    const ana = await person('ana@example.org', 'Ana', 'MENTEE');

    // Registration writes the user's stream and the address's reservation in one atomic append.
    const duplicate = await mutate('registerUser', 'RegisterUserInput', { programId, email: 'MAYA@example.org', name: 'Maya again', role: 'MENTOR' });
    expect(duplicate.errors.map((e: { code: string }) => e.code)).toEqual(['ALREADY_EXISTS']);

    const users = await query(`{ users(filter: { search: "maya" }) { edges { node { id status history(first: 10) { edges { node { summary } } } } } } }`);
    expect(users.users.edges.map((edge: { node: { id: string; status: string } }) => [edge.node.id, edge.node.status])).toEqual([[maya.userId, 'A']]);

    // A live match: the match's stream and both users' streams, with the program checked, in one appendRecords call.
    const before = client.calls.appendRecords;
    const input = { programId, mentorPersonaId: maya.personaId, menteePersonaId: ana.personaId, idempotencyKey: 'match-maya-ana' };
    const matched = await ok('matchPersonas', 'MatchPersonasInput', input, 'replayed eventCount match { id status }');
    expect(matched).toMatchObject({ replayed: false, match: { status: 'ACTIVE' } });
    expect(client.calls.appendRecords).toBe(before + 1);
    const checks = client.lastChecks.map((check) => check.streamName);
    expect(checks).toEqual(expect.arrayContaining([`program-${programId}`]));
    // The same key again writes nothing and answers with the first append's events and position.
    // (Its match field is null: the resolver names a fresh match id on every call, on every store.)
    const logged = client.log.length;
    const retried = await ok('matchPersonas', 'MatchPersonasInput', input, 'replayed eventCount');
    expect(retried).toMatchObject({ replayed: true, eventCount: matched.eventCount, position: matched.position });
    expect(client.log.length).toBe(logged);

    // The auditors' log, from the index the projection keeps, with the events read from the store.
    const auditor = await t.token('auditor', 'audrey');
    const log = await session(t, auditor).query(
      `query ($streamId: String!) { eventLog(first: 50, filter: { streamId: $streamId }) { edges { node { id type metadata { actor { id role } correlationId } } } } }`,
      { streamId: `user-${maya.userId}` },
    );
    const types = log.eventLog.edges.map((edge: { node: { type: string } }) => edge.node.type);
    expect(types[0]).toBe('UserRegistered');
    expect(types).toEqual(expect.arrayContaining(['UserStatusChanged']));
    const last = log.eventLog.edges.at(-1).node;
    const chain = await session(t, auditor).query(`query ($id: ID!) { eventChain(eventId: $id) { event { id } command { name actor { id } events { streamId } } } }`, { id: last.id });
    expect(chain.eventChain.command.actor.id).toBe('alice');
    expect(chain.eventChain.command.events.length).toBeGreaterThanOrEqual(1);
    // Tamper evidence is the SQL stores' alone: refused with a message saying so.
    const verify = await t.gql('{ verifyEventLog { intact } }', {}, { token: auditor });
    expect(verify.errors?.[0]?.message).toMatch(/KurrentDB/);
    // Erasure stays refused on KurrentDB, writing nothing.
    const erase = await mutate('erasePersonalData', 'ErasePersonalDataInput', { userId: ana.userId, reason: 'Asked to be forgotten', confirm: true });
    expect(erase.errors[0]).toMatchObject({ code: 'RULE_VIOLATED' });
    expect(erase.errors[0].message).toMatch(/KurrentDB/);
  });
});

describe('the server on the KurrentDB adapter (imitation of KurrentDB 25.1: no consistency checks)', () => {
  let t: TestApp;
  let client: FakeKurrentClient;

  beforeAll(async () => {
    client = new FakeKurrentClient('25.1.0');
    t = await startTestApp(await openTestPglite(), undefined, { store: new KurrentEventStore(client) });
  });
  afterAll(async () => {
    await t?.close();
  });

  test('a command that must re-check a stream it does not write is refused, naming KurrentDB 26.1, and writes nothing', async () => {
    const { ok, mutate } = session(t, await t.token('admin', 'alice'));
    const created = await ok('createProgram', 'CreateProgramInput', { name: 'Old server', timeZone: 'Europe/Berlin' }, 'program { id }');
    const logged = client.log.length;
    // Registration checks (no_stream) the stream a user registered before random ids would have.
    const refused = await mutate('registerUser', 'RegisterUserInput', { programId: created.program.id, email: 'zoe@example.org', name: 'Zoe', role: 'MENTEE' });
    expect(refused.errors[0]).toMatchObject({ code: 'RULE_VIOLATED', details: { requiredServerVersion: '26.1', serverVersion: '25.1.0' } });
    expect(refused.errors[0].message).toMatch(/KurrentDB has from version 26\.1/);
    expect(client.log.length).toBe(logged);
  });
});
