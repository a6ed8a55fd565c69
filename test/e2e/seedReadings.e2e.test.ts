import { serverProjections } from '../../projections';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { readModelRows } from '../support/readModelRows';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * The lifecycle readings of seeds 000 and 001 that issue 18 revisits, over real HTTP, each test
 * quoting the line it implements.
 */

announcePostgresSkip('seed readings of the lifecycle');

const PAYLOAD = 'errors { code message field details } position';

describe.each(sqlBackends())('seed readings of the lifecycle on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let programId: string;
  let lastPosition = '';

  const eventCount = async (): Promise<number> => Number((await t.app.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM es_events`)).rows[0]!.n);

  const mutate = async (mutation: string, inputType: string, input: Record<string, unknown>, select = '', token = admin) => {
    const response = await t.gql(`mutation ($input: ${inputType}!) { ${mutation}(input: $input) { ${PAYLOAD} ${select} } }`, { input }, { token });
    expect(response.errors).toBeUndefined();
    const payload = response.data![mutation];
    if (payload.position) lastPosition = payload.position;
    return payload;
  };
  const ok = async (mutation: string, inputType: string, input: Record<string, unknown>, select = '', token = admin) => {
    const payload = await mutate(mutation, inputType, input, select, token);
    expect(payload.errors).toEqual([]);
    return payload;
  };
  const read = async (text: string, variables: Record<string, unknown> = {}) => {
    const response = await t.gql(text, variables, { token: admin, headers: { 'x-consistent-with': lastPosition } });
    expect(response.errors).toBeUndefined();
    return response.data!;
  };
  const register = async (name: string, role: 'MENTOR' | 'MENTEE') =>
    (await ok('registerUser', 'RegisterUserInput', { email: `${name.toLowerCase()}@example.org`, name, programId, role }, 'user { id }')).user.id as string;
  const activate = async (userId: string) => {
    await ok('completeApplication', 'UserInput', { userId });
    await ok('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'A' });
  };
  const history = async (userId: string) =>
    (
      await read(`query ($id: ID!) { userHistory(userId: $id, first: 100) { edges { node { eventType changeId from to field personaId actor { id role } command summary } } } }`, {
        id: userId,
      })
    ).userHistory.edges.map((edge: any) => edge.node);
  const userState = async (userId: string) =>
    (await read(`query ($id: ID!) { user(id: $id) { status personas { id personaStatus matchStatus matchId } } }`, { id: userId })).user;

  beforeAll(async () => {
    t = await startTestApp(await open(), '2026-09-01T14:00:00.000Z');
    admin = await t.token('admin', 'alice.admin');
    programId = (await ok('createProgram', 'CreateProgramInput', { name: 'Seeds', timeZone: 'America/New_York' }, 'program { id }')).program.id;
    await ok('turnMatchingOn', 'ProgramInput', { programId });
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  }, 180_000);

  test('"You can always revert any user status changes you make" (seed 000): an older change once the later one was reverted', async () => {
    const userId = await register('Rhea', 'MENTOR');
    await ok('completeApplication', 'UserInput', { userId });
    await ok('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'IW', reason: 'Said she was moving' });
    await ok('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'IR' });
    let entries = await history(userId);
    const toIw = entries.find((e: any) => e.eventType === 'UserStatusChanged' && e.to === 'IW');
    const toIr = entries.find((e: any) => e.eventType === 'UserStatusChanged' && e.to === 'IR');
    // While IW → IR stands, reverting SI → IW is refused and nothing is written.
    const before = await eventCount();
    const refused = await mutate('revertUserStatusChange', 'RevertUserStatusChangeInput', { userId, changeId: toIw.changeId });
    expect(refused.errors).toEqual([expect.objectContaining({ code: 'REVERT_AMBIGUOUS', message: expect.stringContaining(`Revert ${toIr.changeId} first`) })]);
    expect(await eventCount()).toBe(before);
    // Once IW → IR is itself reverted, nothing stands in the way.
    await ok('revertUserStatusChange', 'RevertUserStatusChangeInput', { userId, changeId: toIr.changeId });
    const undone = await ok('revertUserStatusChange', 'RevertUserStatusChangeInput', { userId, changeId: toIw.changeId }, 'user { status }');
    expect(undone.user.status).toBe('SI');
    entries = await history(userId);
    expect(entries.find((e: any) => e.changeId === toIw.changeId)).toBeDefined();
    expect(entries.filter((e: any) => e.eventType === 'UserStatusChangeReverted').map((e: any) => [e.from, e.to])).toEqual(
      expect.arrayContaining([
        ['IR', 'IW'],
        ['IW', 'SI'],
      ]),
    );
  }, 180_000);

  test('"When the user\'s application is finished, they will automatically move to SI" (seed 000): the move is credited to the system', async () => {
    const userId = await register('Sami', 'MENTEE');
    const self = await t.token('mentee', 'sami@example.org', userId);
    await ok('completeApplication', 'UserInput', { userId }, '', self);
    const entries = await history(userId);
    const completed = entries.find((e: any) => e.eventType === 'ApplicationCompleted');
    const automatic = entries.find((e: any) => e.eventType === 'UserStatusChanged' && e.from === 'AI' && e.to === 'SI');
    expect(completed.actor).toEqual({ id: userId, role: 'mentee' });
    expect(automatic.actor).toEqual({ id: 'lifecycle-automation', role: 'system' });
    expect(automatic.command).toBe('CompleteApplication');
    // In the log, the system's move names the completion as its cause.
    const log = await read(`query ($id: String!) { eventLog(filter: { streamId: $id }, first: 10) { edges { node { id type metadata { causationId actor { id role } } } } } }`, {
      id: `user-${userId}`,
    });
    const nodes = log.eventLog.edges.map((edge: any) => edge.node);
    const completion = nodes.find((n: any) => n.type === 'ApplicationCompleted');
    const move = nodes.find((n: any) => n.type === 'UserStatusChanged');
    expect(move.metadata).toMatchObject({ causationId: completion.id, actor: { id: 'lifecycle-automation', role: 'system' } });
  }, 180_000);

  test('seed 001\'s table ("N/A → RTBM: Change their User Status to Active"; no move back): reverting an activation and a direct A → SI agree', async () => {
    const viaRevert = await register('Vera', 'MENTOR');
    const viaChange = await register('Dino', 'MENTOR');
    for (const userId of [viaRevert, viaChange]) await activate(userId);
    const activation = (await history(viaRevert)).find((e: any) => e.eventType === 'UserStatusChanged' && e.to === 'A');
    await ok('revertUserStatusChange', 'RevertUserStatusChangeInput', { userId: viaRevert, changeId: activation.changeId });
    await ok('changeUserStatus', 'ChangeUserStatusInput', { userId: viaChange, status: 'SI' });
    const [reverted, changed] = [await userState(viaRevert), await userState(viaChange)];
    expect(reverted).toMatchObject({ status: 'SI', personas: [{ matchStatus: 'RTBM', personaStatus: 'ACTIVE' }] });
    expect(changed).toMatchObject({ status: 'SI', personas: [{ matchStatus: 'RTBM', personaStatus: 'ACTIVE' }] });
    // Neither path records a match-status move the table does not have (RTBM → N/A).
    for (const userId of [viaRevert, viaChange]) {
      const moves = (await history(userId)).filter((e: any) => e.field === 'MATCH_STATUS').map((e: any) => `${e.from}→${e.to}`);
      expect(moves).toEqual(['N/A→RTBM']);
    }
    // An SI user is not matchable, whichever way they got there.
    const funnel = await read(`query ($id: ID!) { availableMentors(programId: $id, first: 50) { edges { node { userId } } } }`, { id: programId });
    const available = funnel.availableMentors.edges.map((edge: any) => edge.node.userId);
    expect(available).not.toContain(viaRevert);
    expect(available).not.toContain(viaChange);
  }, 180_000);

  test('"All of these status changes need to be made manually ... (except when a mentor finishes their application ...)" (seed 001): the direct moves an admin may make', async () => {
    const userId = await register('Ayo', 'MENTEE');
    const before = await eventCount();
    const skipping = await mutate('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'A' });
    expect(skipping.errors).toEqual([
      expect.objectContaining({
        code: 'ILLEGAL_TRANSITION',
        message: expect.stringContaining('would skip the application and the screening'),
        details: expect.objectContaining({ from: 'AI', to: 'A', allowed: ['IW', 'IR', 'ID'] }),
      }),
    ]);
    expect(skipping.errors[0].message).toContain('From AI an admin may move them to: Inactive Withdrawn (IW), Inactive Rejected (IR), Inactive Deleted (ID).');
    const toSi = await mutate('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'SI' });
    expect(toSi.errors[0]).toMatchObject({ code: 'ILLEGAL_TRANSITION', message: expect.stringContaining('completeApplication') });
    expect(await eventCount()).toBe(before);
    // The way that is allowed: the application, then the screening.
    await activate(userId);
    expect((await userState(userId)).status).toBe('A');
  }, 180_000);

  test('"if you inactivate a matched mentor they will not be able to communicate with their mentee" (seed 001): the match closes and the mentor\'s place is freed', async () => {
    const mentor = await register('Milo', 'MENTOR');
    const firstMentee = await register('Fern', 'MENTEE');
    const secondMentee = await register('Gus', 'MENTEE');
    for (const userId of [mentor, firstMentee, secondMentee]) await activate(userId);
    await ok('setMentorCapacity', 'SetMentorCapacityInput', { userId: mentor, programId, capacity: 2 });
    const first = await ok('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: `${mentor}:p1`, menteePersonaId: `${firstMentee}:p1` }, 'matchId');
    const second = await ok('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: `${mentor}:p1`, menteePersonaId: `${secondMentee}:p1` }, 'matchId');
    const available = async () =>
      (await read(`query ($id: ID!) { availableMentors(programId: $id, first: 50) { edges { node { userId } } } }`, { id: programId })).availableMentors.edges.map(
        (edge: any) => edge.node.userId,
      );
    expect(await available()).not.toContain(mentor);
    const mentorState = await userState(mentor);
    const secondPersona = mentorState.personas.find((p: any) => p.matchId === second.matchId).id;
    const funnelBefore = (await read(`query ($id: ID!) { matchingFunnel(programId: $id) { activeMatches } }`, { id: programId })).matchingFunnel.activeMatches;

    // Without the confirmation: refused, nothing written.
    const before = await eventCount();
    const unconfirmed = await mutate('inactivatePersona', 'InactivatePersonaInput', { personaId: secondPersona });
    expect(unconfirmed.errors[0]).toMatchObject({ code: 'CONFIRMATION_REQUIRED', message: expect.stringContaining('the match is closed') });
    expect(await eventCount()).toBe(before);

    await ok('inactivatePersona', 'InactivatePersonaInput', { personaId: secondPersona, confirmCutCommunication: true, reason: 'Matched twice by mistake' });
    const match = (await read(`query ($id: ID!) { match(id: $id) { status closureReason mentorRematchIntent menteeRematchIntent } }`, { id: second.matchId })).match;
    expect(match).toEqual({ status: 'CLOSED', closureReason: 'Persona inactivated (created in error)', mentorRematchIntent: 'NO', menteeRematchIntent: 'MAYBE' });
    expect((await read(`query ($id: ID!) { match(id: $id) { status } }`, { id: first.matchId })).match.status).toBe('ACTIVE');
    expect((await userState(mentor)).personas.find((p: any) => p.id === secondPersona)).toMatchObject({ personaStatus: 'INACTIVE', matchStatus: 'CLOSED' });
    // The mentee whose match ended gets a rescreening persona (MAYBE, the default).
    expect((await userState(secondMentee)).personas.map((p: any) => p.matchStatus)).toEqual(['CLOSED', 'RESCREENING']);
    // Capacity 2, one live match: the mentor is available again, and the funnel counts one live match fewer.
    expect(await available()).toContain(mentor);
    expect((await read(`query ($id: ID!) { matchingFunnel(programId: $id) { activeMatches } }`, { id: programId })).matchingFunnel.activeMatches).toBe(funnelBefore - 1);
    // History of both sides says it.
    const mentorHistory = await history(mentor);
    expect(mentorHistory.find((e: any) => e.eventType === 'PersonaInactivated').summary).toContain('can no longer communicate');
    expect(mentorHistory.some((e: any) => e.eventType === 'MatchClosed' && e.summary.includes('Persona inactivated'))).toBe(true);
    expect((await history(secondMentee)).some((e: any) => e.eventType === 'MatchClosed' && e.summary.includes('Persona inactivated'))).toBe(true);
    // Reopening it is refused: one of its personas is inactive.
    const reopen = await mutate('reopenMatch', 'MatchInput', { matchId: second.matchId });
    expect(reopen.errors[0].code).toBe('RULE_VIOLATED');

    // A replay from zero, in SQL and in Node.js, gives the same read models.
    await t.app.runner.catchUp();
    const live = await readModelRows(t.app.db, serverProjections);
    for (const inDatabase of [true, false]) {
      await t.app.runner.replay([], undefined, undefined, { inDatabase });
      expect(await readModelRows(t.app.db, serverProjections)).toEqual(live);
    }
  }, 300_000);
});
