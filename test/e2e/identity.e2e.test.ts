import { randomUUID } from 'node:crypto';
import { personaIdFor, userIdForEmail, userStream } from '../../src/domain';
import { formatPosition, type NewEvent } from '../../src/eventstore/eventStore';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * Identity independent of the e-mail address (issue 15), through real HTTP GraphQL: random user ids,
 * e-mail changes that free the old address, uniqueness under concurrency, profile corrections that
 * the read models and the manager report follow, and users registered before all this (legacy ids,
 * uuidv5 of the address) whose addresses stay protected.
 */

const PAYLOAD = 'errors { code message field } position eventCount userId';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const eventCount = async (t: TestApp): Promise<number> =>
  Number((await t.app.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events`)).rows[0]!.n);

announcePostgresSkip('identity e2e');

describe.each(sqlBackends())('identity independent of the e-mail over GraphQL on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let programId: string;

  beforeAll(async () => {
    t = await startTestApp(await open());
    admin = await t.token('admin', 'alice.admin');
    const created = await t.gql(`mutation { createProgram(input: { name: "Identity", timeZone: "Europe/Paris" }) { program { id } } }`, {}, { token: admin });
    programId = created.data!.createProgram.program.id;
  });
  afterAll(async () => {
    await t?.close();
  });

  const register = async (email: string, extra: Record<string, unknown> = {}) =>
    (
      await t.gql(
        `mutation ($input: RegisterUserInput!) { registerUser(input: $input) { ${PAYLOAD} } }`,
        { input: { email, name: email.split('@')[0], programId, role: 'MENTOR', ...extra } },
        { token: admin },
      )
    ).data!.registerUser;
  const changeEmail = async (userId: string, email: string, token = admin, extra: Record<string, unknown> = {}) => {
    const response = await t.gql(
      `mutation ($input: ChangeUserEmailInput!) { changeUserEmail(input: $input) { ${PAYLOAD} user { id email } } }`,
      { input: { userId, email, ...extra } },
      { token },
    );
    return response.data?.changeUserEmail ?? { errors: response.errors!.map((e) => ({ code: e.extensions?.code, message: e.message })) };
  };
  const updateProfile = async (input: Record<string, unknown>, token = admin) => {
    const response = await t.gql(
      `mutation ($input: UpdateUserProfileInput!) { updateUserProfile(input: $input) { ${PAYLOAD} user { name company manager { name email } } } }`,
      { input },
      { token },
    );
    return response.data?.updateUserProfile ?? { errors: response.errors!.map((e) => ({ code: e.extensions?.code, message: e.message })) };
  };
  const read = async (query: string, variables: Record<string, unknown>, position: string) => {
    const response = await t.gql(query, variables, { token: admin, headers: { 'x-consistent-with': position } });
    expect(response.errors).toBeUndefined();
    return response.data!;
  };

  test('a new user gets a random id; an e-mail change keeps it, frees the old address and shows in history and search', async () => {
    const maya = await register('maya@example.org');
    expect(maya.errors).toEqual([]);
    expect(maya.userId).toMatch(UUID_V4);
    expect(maya.userId).not.toBe(userIdForEmail('maya@example.org'));

    const own = await t.token('mentor', 'maya', maya.userId);
    const changed = await changeEmail(maya.userId, 'Maya.Rivera@Example.org', own, { reason: 'Married', idempotencyKey: `change-${randomUUID()}` });
    expect(changed.errors).toEqual([]);
    expect(changed.user).toEqual({ id: maya.userId, email: 'Maya.Rivera@Example.org' });

    const found = await read(`query { users(filter: { search: "maya.rivera" }) { edges { node { id email } } } }`, {}, changed.position);
    expect(found.users.edges.map((edge: any) => edge.node)).toEqual([{ id: maya.userId, email: 'Maya.Rivera@Example.org' }]);
    const old = await read(`query { users(filter: { search: "maya@example.org" }) { totalCount } }`, {}, changed.position);
    expect(old.users.totalCount).toBe(0);

    const history = await read(
      `query ($id: ID!) { userHistory(userId: $id, first: 10) { edges { node { field summary reason actor { id role } } } } }`,
      { id: maya.userId },
      changed.position,
    );
    expect(history.userHistory.edges[0].node).toEqual({
      field: 'EMAIL',
      summary: 'E-mail changed from <maya@example.org> to <Maya.Rivera@Example.org>',
      reason: 'Married',
      // Participants act in the log under their user id, never a token subject that may be an address.
      actor: { id: maya.userId, role: 'mentor' },
    });

    // The old address is free for someone else; the new one is taken, in any case.
    const mira = await register('MAYA@example.org');
    expect(mira.errors).toEqual([]);
    expect(mira.userId).not.toBe(maya.userId);
    const taken = await register('maya.rivera@EXAMPLE.org');
    expect(taken.errors).toEqual([expect.objectContaining({ code: 'ALREADY_EXISTS' })]);
    expect(taken.userId).toBeNull();
  });

  test('concurrent claims of one address (registrations and e-mail changes): exactly one wins', async () => {
    const a = await register('first.a@example.org');
    const b = await register('first.b@example.org');
    const before = await eventCount(t);
    const results = await Promise.all([
      changeEmail(a.userId, 'contested@example.org'),
      changeEmail(b.userId, 'Contested@Example.org'),
      register('CONTESTED@example.org'),
      register('contested@example.ORG'),
    ]);
    expect(results.filter((result) => result.errors.length === 0)).toHaveLength(1);
    expect(results.filter((result) => result.errors[0]?.code === 'ALREADY_EXISTS')).toHaveLength(3);
    const winner = results.find((result) => result.errors.length === 0)!;
    // A change writes the user's event, the new claim and the old address's release; a registration
    // the user's two events and the claim. The losers wrote nothing.
    expect((await eventCount(t)) - before).toBe(3);
    const found = await read(`query { users(filter: { search: "contested@" }) { totalCount } }`, {}, winner.position);
    expect(found.users.totalCount).toBe(1);
  });

  test('refusals change nothing: another user\'s address, someone else\'s user, a no-op, bad input', async () => {
    const theo = await register('theo@example.org');
    const ulla = await register('ulla@example.org');
    const before = await eventCount(t);
    expect((await changeEmail(theo.userId, 'ULLA@example.org')).errors).toEqual([expect.objectContaining({ code: 'ALREADY_EXISTS' })]);
    const ullasToken = await t.token('mentor', 'ulla', ulla.userId);
    expect((await changeEmail(theo.userId, 'theo.new@example.org', ullasToken)).errors).toEqual([
      expect.objectContaining({ code: 'FORBIDDEN', message: expect.stringContaining('only their own') }),
    ]);
    expect((await changeEmail(theo.userId, 'theo@example.org')).errors).toEqual([expect.objectContaining({ code: 'RULE_VIOLATED', message: expect.stringContaining('Nothing to change') })]);
    expect((await changeEmail(theo.userId, 'not an address')).errors[0].code).toBe('VALIDATION_FAILED');
    expect((await changeEmail('no-such-user', 'who@example.org')).errors).toEqual([expect.objectContaining({ code: 'NOT_FOUND' })]);
    expect((await updateProfile({ userId: theo.userId, name: 'Theo\u0000' })).errors).toEqual([
      // The gate every input passes refuses NUL before the command sees it.
      expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringContaining('NUL character') }),
    ]);
    expect((await updateProfile({ userId: theo.userId, name: 'theo' })).errors).toEqual([expect.objectContaining({ code: 'RULE_VIOLATED' })]);
    expect((await updateProfile({ userId: theo.userId, managerName: 'Half A Manager' })).errors).toEqual([
      expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringContaining('both a name and an e-mail') }),
    ]);
    const theosToken = await t.token('mentor', 'theo', theo.userId);
    const selfEdit = await t.gql(
      `mutation ($input: UpdateUserProfileInput!) { updateUserProfile(input: $input) { errors { code } } }`,
      { input: { userId: theo.userId, name: 'Theodore' } },
      { token: theosToken },
    );
    expect(selfEdit.errors?.[0]?.extensions?.code ?? selfEdit.data?.updateUserProfile.errors[0].code).toBe('FORBIDDEN');
    // A case-only change is a change of spelling: the address stays reserved for Theo.
    const spelled = await changeEmail(theo.userId, 'Theo@Example.org');
    expect(spelled.errors).toEqual([]);
    expect(spelled.eventCount).toBe(1);
    expect((await eventCount(t)) - before).toBe(1);
    expect((await register('theo@example.org')).errors).toEqual([expect.objectContaining({ code: 'ALREADY_EXISTS' })]);
  });

  test('a profile correction updates the user, the history, and moves the user between manager reports', async () => {
    const vera = await register('vera@example.org', { company: 'Acme', manager: { name: 'Old Boss', email: 'old.boss@acme.example' } });
    const updated = await updateProfile({
      userId: vera.userId,
      name: 'Vera Vale',
      company: 'Acme Europe',
      managerName: 'New Boss',
      managerEmail: 'new.boss@acme.example',
      reason: 'Moved teams',
    });
    expect(updated.errors).toEqual([]);
    expect(updated.user).toEqual({ name: 'Vera Vale', company: 'Acme Europe', manager: { name: 'New Boss', email: 'new.boss@acme.example' } });

    const history = await read(
      `query ($id: ID!) { userHistory(userId: $id, first: 10) { edges { node { field summary reason } } } }`,
      { id: vera.userId },
      updated.position,
    );
    expect(history.userHistory.edges[0].node).toEqual({
      field: 'PROFILE',
      summary: 'Profile updated: name set to "Vera Vale", company set to "Acme Europe", manager name set to "New Boss", manager e-mail set to "new.boss@acme.example"',
      reason: 'Moved teams',
    });

    const report = `query ($email: String) { managerReport(managerEmail: $email) { mentorName mentorEmail company } }`;
    expect((await read(report, { email: 'new.boss@acme.example' }, updated.position)).managerReport).toEqual([
      { mentorName: 'Vera Vale', mentorEmail: 'vera@example.org', company: 'Acme Europe' },
    ]);
    expect((await read(report, { email: 'old.boss@acme.example' }, updated.position)).managerReport).toEqual([]);

    const removed = await updateProfile({ userId: vera.userId, company: null, managerName: null, managerEmail: null });
    expect(removed.errors).toEqual([]);
    expect(removed.user).toEqual({ name: 'Vera Vale', company: null, manager: null });
  });

  test('e-mails go to the address the user has now', async () => {
    const wanda = await register('wanda@example.org');
    const changed = await changeEmail(wanda.userId, 'wanda.new@example.org');
    expect(changed.errors).toEqual([]);
    await read(`query { users(filter: { search: "wanda" }) { totalCount } }`, {}, changed.position);
    const { rows } = await t.app.db.query<{ email: string }>(`SELECT email FROM notification_contacts WHERE user_id = $1`, [wanda.userId]);
    expect(rows).toEqual([{ email: 'wanda.new@example.org' }]);
  });

  test('a volunteer\'s initiative registration shows the name and address the user has now', async () => {
    const coordinator = await t.token('coordinator', 'cora');
    const created = await t.gql(
      `mutation { createInitiative(input: { name: "Reading", company: "Acme", timeZone: "Europe/Paris", managerValidationRequired: false }) { errors { code } initiativeId } }`,
      {},
      { token: coordinator },
    );
    const initiativeId = created.data!.createInitiative.initiativeId;
    const zoe = await register('zoe@example.org', { company: 'Acme', manager: { name: 'Marc', email: 'marc@acme.example' } });
    const zoesToken = await t.token('mentor', 'zoe', zoe.userId);
    const signedUp = await t.gql(
      `mutation ($input: RegisterForInitiativeInput!) { registerForInitiative(input: $input) { errors { code } position } }`,
      { input: { initiativeId } },
      { token: zoesToken },
    );
    expect(signedUp.data!.registerForInitiative.errors).toEqual([]);
    expect((await changeEmail(zoe.userId, 'zoe.new@example.org', zoesToken)).errors).toEqual([]);
    const renamed = await updateProfile({ userId: zoe.userId, name: 'Zoé Zed' });
    expect(renamed.errors).toEqual([]);
    const rows = await t.gql(`query ($id: ID) { registrations(initiativeId: $id) { volunteerName volunteerEmail managerEmail } }`, { id: initiativeId }, {
      token: coordinator,
      headers: { 'x-consistent-with': renamed.position },
    });
    expect(rows.errors).toBeUndefined();
    expect(rows.data!.registrations).toEqual([{ volunteerName: 'Zoé Zed', volunteerEmail: 'zoe.new@example.org', managerEmail: 'marc@acme.example' }]);
  });

  test('a legacy user (id = uuidv5 of the address, no reservation) keeps working and keeps the address protected', async () => {
    const email = 'legacy.lou@example.org';
    const legacyId = userIdForEmail(email);
    const event = (type: string, data: object): NewEvent => ({
      id: randomUUID(),
      type,
      schemaVersion: 1,
      data,
      metadata: { occurredAt: t.clock.now.toISOString(), actor: { id: 'old-admin', role: 'admin' }, correlationId: randomUUID(), causationId: randomUUID(), command: 'RegisterUser' },
    });
    // As the code before random ids appended it: the user stream alone, no reservation stream.
    const appended = await t.app.store.appendToStreams([
      {
        streamId: userStream(legacyId),
        expectedRevision: 'no_stream',
        events: [
          event('UserRegistered', {
            userId: legacyId,
            email,
            normalizedEmail: email,
            name: 'Lou Legacy',
            programId,
            role: 'MENTOR',
            company: null,
            manager: null,
            userStatus: 'AI',
          }),
          event('PersonaCreated', {
            userId: legacyId,
            personaId: personaIdFor(legacyId, 1),
            programId,
            role: 'MENTOR',
            matchStatus: 'N/A',
            origin: { kind: 'REGISTRATION' },
          }),
        ],
      },
    ]);
    t.app.runner.notify();
    const user = await read(`query ($id: ID!) { user(id: $id) { id email name } }`, { id: legacyId }, formatPosition(appended.lastPosition));
    expect(user.user).toEqual({ id: legacyId, email, name: 'Lou Legacy' });

    expect((await register('Legacy.Lou@example.org')).errors).toEqual([expect.objectContaining({ code: 'ALREADY_EXISTS' })]);
    expect((await changeEmail((await register('someone.else@example.org')).userId, email)).errors).toEqual([
      expect.objectContaining({ code: 'ALREADY_EXISTS' }),
    ]);

    // Commands on the legacy id work; the change releases the old address in a new reservation stream.
    const lou = await t.token('mentor', 'lou', legacyId);
    const completed = await t.gql(`mutation { completeApplication(input: { userId: "${legacyId}" }) { errors { code } } }`, {}, { token: lou });
    expect(completed.data!.completeApplication.errors).toEqual([]);
    const changed = await changeEmail(legacyId, 'lou.new@example.org', lou);
    expect(changed.errors).toEqual([]);
    expect(changed.eventCount).toBe(3);
    expect((await register('lou.new@example.org')).errors).toEqual([expect.objectContaining({ code: 'ALREADY_EXISTS' })]);
    const newcomer = await register(email);
    expect(newcomer.errors).toEqual([]);
    expect(newcomer.userId).not.toBe(legacyId);
    // And back: Lou cannot take the old address now that the newcomer holds it.
    expect((await changeEmail(legacyId, email, lou)).errors).toEqual([expect.objectContaining({ code: 'ALREADY_EXISTS' })]);
  });
});
