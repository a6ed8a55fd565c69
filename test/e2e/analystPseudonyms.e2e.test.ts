import { randomBytes } from 'node:crypto';
import {
  getNamedType,
  isLeafType,
  isNonNullType,
  isObjectType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { RAW_PERSONAL_DATA, mintToken } from '../../src/graphql/auth';
import { buildApiSchema } from '../../src/graphql/schema';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * Issue 15: analysts read pseudonymised by default. An analyst without `personal-data:raw` sends,
 * over real HTTP, one operation per root query field for every value of its required arguments,
 * selecting every field of the answer to DEPTH levels (generated from the schema, so a new query or
 * field is read without touching this file), pages through the whole event log, opens the chain of
 * every event and the state and diff of every stream, and downloads the four CSV exports: no answer
 * holds a name, an e-mail, a company or a word of free text of the seeded people, and every answer
 * is the same when read again (stable pseudonyms). With the permission, the names are there and the
 * read is in the read audit.
 */

announcePostgresSkip('analysts read pseudonymised');

const DEPTH = 4;

describe.each(sqlBackends())('analysts read pseudonymised on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let schema: GraphQLSchema;
  let position = '';
  // Unique to this run: the search cannot find another run's people.
  const tag = randomBytes(3).toString('hex');
  const MANAGER_EMAIL = `ignatius.pellworth.${tag}@quorvex.example`;
  const people = {
    harriet: { name: `Harriet Vandermolen${tag}`, email: `harriet.vandermolen.${tag}@example.org` },
    ottoline: { name: `Ottoline Fairweather${tag}`, email: `ottoline.fairweather.${tag}@example.org` },
    cornelius: { name: `Cornelius Ashdown${tag}`, email: `cornelius.ashdown.${tag}@example.org` },
    desmond: { name: `Desmond Yarborough${tag}`, email: `desmond.yarborough.${tag}@example.org` },
    bartholomew: { name: `Bartholomew Quennell${tag}`, email: `bartholomew.quennell.${tag}@example.org` },
    percival: { name: `Percival Stroud${tag}`, email: `percival.stroud.${tag}@example.org` },
  };
  const NEW_EMAIL = `percy.stroud.${tag}@newmail.example`;
  const FREE_TEXT = `Zanzibarian${tag}`;
  const COMPANY = `Quorvex Labs ${tag}`;
  const needles = [
    ...Object.values(people).flatMap((p) => [p.name, p.name.split(' ')[1]!, p.email]),
    NEW_EMAIL,
    MANAGER_EMAIL,
    `Ignatius Pellworth${tag}`,
    FREE_TEXT,
    COMPANY,
  ];
  const leaks = (text: string): string[] => needles.filter((needle) => text.toLowerCase().includes(needle.toLowerCase()));

  const ids = {
    users: {} as Record<keyof typeof people, string>,
    programs: [] as string[],
    matches: [] as string[],
    registrations: [] as string[],
    initiatives: [] as string[],
    meetings: [] as string[],
  };

  const mutate = async (mutation: string, inputType: string, input: Record<string, unknown>, select = '', token = admin) => {
    const response = await t.gql(`mutation ($input: ${inputType}!) { ${mutation}(input: $input) { errors { code message } position ${select} } }`, { input }, { token });
    expect(response.errors).toBeUndefined();
    const payload = response.data![mutation];
    expect(payload.errors).toEqual([]);
    if (payload.position) position = payload.position;
    return payload;
  };
  const gql = (query: string, variables: Record<string, unknown>, token: string) =>
    t.gql(query, variables, { token, headers: position ? { 'x-consistent-with': position } : {} });
  const download = async (path: string, token: string) => {
    const response = await fetch(new URL(path, t.http.url), { headers: { authorization: `Bearer ${token}` } });
    expect({ path, status: response.status }).toEqual({ path, status: 200 });
    return response.text();
  };

  const seed = async () => {
    const program = async (name: string, settings: Record<string, unknown>) => {
      const created = await mutate('createProgram', 'CreateProgramInput', { name, timeZone: 'America/New_York', settings }, 'program { id }');
      await mutate('turnMatchingOn', 'ProgramInput', { programId: created.program.id });
      ids.programs.push(created.program.id);
      return created.program.id as string;
    };
    const adminLed = await program('Admin-led cohort', {});
    const userLed = await program('User-led cohort', { matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR'] });
    const register = async (key: keyof typeof people, programId: string, role: 'MENTOR' | 'MENTEE') => {
      const { name, email } = people[key];
      const manager = role === 'MENTOR' ? { company: COMPANY, manager: { name: `Ignatius Pellworth${tag}`, email: MANAGER_EMAIL } } : {};
      const registered = await mutate('registerUser', 'RegisterUserInput', { programId, email, name, role, ...manager, reason: `${name} signed up` }, 'userId');
      const userId = registered.userId as string;
      await mutate('completeApplication', 'UserInput', { userId });
      await mutate('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'A', reason: `Screened ${name}` });
      await mutate('setProfileAttributes', 'SetProfileAttributesInput', { userId, attributes: { languages: [FREE_TEXT, 'en'], nickname: name } });
      ids.users[key] = userId;
      return { userId, personaId: `${userId}:p1`, token: await t.token(role === 'MENTOR' ? 'mentor' : 'mentee', email, userId) };
    };
    const harriet = await register('harriet', adminLed, 'MENTOR');
    const ottoline = await register('ottoline', adminLed, 'MENTEE');
    await register('cornelius', adminLed, 'MENTEE');
    await register('desmond', adminLed, 'MENTOR');
    const bartholomew = await register('bartholomew', userLed, 'MENTOR');
    const percival = await register('percival', userLed, 'MENTEE');

    // A live match with meetings (titled, cancelled, recorded), naming people in every free text.
    const live = await mutate('matchPersonas', 'MatchPersonasInput', { programId: adminLed, mentorPersonaId: harriet.personaId, menteePersonaId: ottoline.personaId, reason: `${people.ottoline.name} asked` }, 'matchId');
    ids.matches.push(live.matchId);
    const scheduled = await mutate('scheduleMeeting', 'ScheduleMeetingInput', { matchId: live.matchId, startsAt: '2026-09-08T14:00:00Z', durationMinutes: 60, title: `Intro ${people.ottoline.name} ${FREE_TEXT}` }, 'meetingId', harriet.token);
    const cancelled = await mutate('scheduleMeeting', 'ScheduleMeetingInput', { matchId: live.matchId, startsAt: '2026-09-09T14:00:00Z', durationMinutes: 30, title: `Follow-up with ${people.harriet.name}` }, 'meetingId', harriet.token);
    await mutate('cancelMeeting', 'CancelMeetingInput', { meetingId: cancelled.meetingId, reason: `${people.ottoline.name} is ill` }, '', harriet.token);
    ids.meetings.push(scheduled.meetingId, cancelled.meetingId);
    // Auto-matching stages Desmond with Cornelius, with an explanation that compares their profiles.
    await mutate('setMatchingCriteria', 'SetMatchingCriteriaInput', { programId: adminLed, criteria: [{ attribute: 'languages', kind: 'SET_SIMILARITY', weight: 1 }] });
    const run = await mutate('runAutoMatching', 'RunAutoMatchingInput', { programId: adminLed }, 'run { stagedMatchIds }');
    expect(run.run.stagedMatchIds).toHaveLength(1);
    ids.matches.push(...run.run.stagedMatchIds);
    // A request declined with a message, then one approved, in the user-led program.
    const declined = await mutate('requestMatch', 'RequestMatchInput', { mentorPersonaId: bartholomew.personaId, menteePersonaId: percival.personaId, message: `Hi ${people.bartholomew.name}, ${people.percival.name} here` }, 'match { id }', percival.token);
    await mutate('respondToMatchRequest', 'RespondToMatchRequestInput', { matchId: declined.match.id, decision: 'DECLINE', message: `Sorry ${people.percival.name}` }, '', bartholomew.token);
    const approved = await mutate('requestMatch', 'RequestMatchInput', { mentorPersonaId: bartholomew.personaId, menteePersonaId: percival.personaId, message: `Again, ${FREE_TEXT}` }, 'match { id }', percival.token);
    await mutate('respondToMatchRequest', 'RespondToMatchRequestInput', { matchId: approved.match.id, decision: 'APPROVE' }, '', bartholomew.token);
    ids.matches.push(declined.match.id, approved.match.id);
    // Identity changes: a new address, a corrected name.
    await mutate('changeUserEmail', 'ChangeUserEmailInput', { userId: percival.userId, email: NEW_EMAIL, reason: `${people.percival.name} moved` });
    await mutate('updateUserProfile', 'UpdateUserProfileInput', { userId: bartholomew.userId, name: `${people.bartholomew.name}`, company: `${COMPANY} Intl`, reason: 'Spelling' });
    // A volunteer registration whose dates the manager sends back with a message.
    const coordinator = await t.token('coordinator', 'cora.coordinator');
    const initiative = await mutate('createInitiative', 'CreateInitiativeInput', { name: 'Read with me', company: 'Acme', timeZone: 'Europe/Paris', managerValidationRequired: true }, 'initiativeId', coordinator);
    ids.initiatives.push(initiative.initiativeId);
    const registration = await mutate('registerForInitiative', 'RegisterForInitiativeInput', { initiativeId: initiative.initiativeId }, 'registrationId', harriet.token);
    ids.registrations.push(registration.registrationId);
    await mutate('validateRegistration', 'RegistrationInput', { registrationId: registration.registrationId }, '', coordinator);
    await mutate('setEngagementDates', 'SetEngagementDatesInput', { registrationId: registration.registrationId, periods: [{ start: '2026-10-12' }] }, '', harriet.token);
    await mutate('rejectEngagementDates', 'RejectEngagementDatesInput', { registrationId: registration.registrationId, message: `Not in October, ${people.harriet.name}` }, '', await t.token('manager', MANAGER_EMAIL));
    await mutate('setEngagementDates', 'SetEngagementDatesInput', { registrationId: registration.registrationId, periods: [{ start: '2026-11-02', end: '2026-12-18' }] }, '', harriet.token);
    // E-mails rendered and sent; five weeks later the live match with no meeting needs a check-in.
    await t.app.runner.catchUp();
    await t.app.jobs.notifications.runOnce();
    t.clock.set('2026-10-20T14:00:00.000Z');
  };

  beforeAll(async () => {
    t = await startTestApp(await open(), '2026-09-01T14:00:00.000Z', { env: { MAX_QUERY_COST: '10000000', MAX_QUERY_DEPTH: '30', MAX_EXPENSIVE_FIELDS: '100' } });
    admin = await t.token('admin', 'alice.admin');
    schema = await buildApiSchema();
    await seed();
  }, 240_000);
  afterAll(async () => {
    await t?.close();
  });

  /** Every field of an object type, selected to DEPTH levels of object fields. */
  const selectionOf = (type: GraphQLObjectType, depth: number): string => {
    const parts = ['__typename'];
    for (const field of Object.values(type.getFields())) {
      if (field.args.some((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined)) throw new Error(`${type.name}.${field.name} needs arguments; teach the walk.`);
      const named = getNamedType(field.type);
      if (isLeafType(named)) parts.push(field.name);
      else if (isObjectType(named) && depth < DEPTH) parts.push(`${field.name} { ${selectionOf(named, depth + 1)} }`);
    }
    return parts.join(' ');
  };

  /** Every stream that holds a person's data: their users, personas, matches, meetings and registrations. */
  const streams = () => [
    ...Object.values(ids.users).flatMap((userId) => [`user-${userId}`, `persona-${userId}:p1`]),
    ...ids.matches.map((id) => `match-${id}`),
    ...ids.meetings.map((id) => `meeting-${id}`),
    ...ids.registrations.map((id) => `registration-${id}`),
  ];

  const argumentValues = (field: GraphQLField<unknown, unknown>, argName: string, eventIds: readonly string[]): unknown[] => {
    const users = Object.values(ids.users);
    const byName: Record<string, unknown[]> = {
      userId: users,
      programId: ids.programs,
      matchId: ids.matches,
      menteePersonaId: users.map((userId) => `${userId}:p1`),
      eventId: [...eventIds],
      streamId: streams(),
      at: ['2026-12-01T00:00:00.000Z'],
      from: ['2026-01-01T00:00:00.000Z'],
      to: ['2026-12-01T00:00:00.000Z'],
      // previewNotification: staff's; an analyst is refused it, which the walk must see too.
      kind: ['MATCH_REQUEST', 'REGISTRATION_MESSAGE'],
    };
    if (argName === 'id') {
      const byType: Record<string, unknown[]> = {
        User: users,
        Persona: users.map((userId) => `${userId}:p1`),
        Match: ids.matches,
        Program: ids.programs,
        Registration: ids.registrations,
        Initiative: ids.initiatives,
      };
      const values = byType[getNamedType(field.type).name];
      if (values) return values;
    }
    const values = byName[argName];
    if (!values) throw new Error(`Query.${field.name}(${argName}:) has no values to try; add them to argumentValues.`);
    return values;
  };

  /** Every root query with every value of its required arguments, plus what optional arguments reach (the manager report, whole pages). */
  const operations = (eventIds: readonly string[]) => {
    const generated = Object.values(schema.getQueryType()!.getFields()).flatMap((field) => {
      const required = field.args.filter((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined);
      const combinations = required.reduce<Record<string, unknown>[]>(
        (sofar, arg) => sofar.flatMap((partial) => argumentValues(field, arg.name, eventIds).map((value) => ({ ...partial, [arg.name]: value }))),
        [{}],
      );
      const named = getNamedType(field.type);
      const selection = isObjectType(named) ? ` { ${selectionOf(named, 1)} }` : '';
      const declared = required.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
      const passed = required.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
      const query = `query${declared ? `(${declared})` : ''} { ${field.name}${passed ? `(${passed})` : ''}${selection} }`;
      return combinations.map((variables) => ({ name: field.name, query, variables }));
    });
    const type = (name: string) => schema.getType(name) as GraphQLObjectType;
    const extra = [
      { name: 'managerReport(managerEmail)', query: `query ($m: String) { managerReport(managerEmail: $m) { ${selectionOf(type('ManagerReportRow'), 1)} } }`, variables: { m: MANAGER_EMAIL } },
      { name: 'notifications(all)', query: `{ notifications(first: 500) { ${selectionOf(type('Notification'), 1)} } }`, variables: {} },
      ...ids.programs.map((programId) => ({
        name: 'programMatches(all)',
        query: `query ($p: ID!) { programMatches(programId: $p, first: 100) { edges { node { ${selectionOf(type('MatchListItem'), 2)} } } } }`,
        variables: { p: programId },
      })),
      { name: 'users(all)', query: `{ users(first: 100) { edges { node { ${selectionOf(type('User'), 2)} } } } }`, variables: {} },
    ];
    return [...generated, ...extra];
  };

  /** The whole event log as the caller reads it, page by page. */
  const wholeLog = async (token: string) => {
    const pages: unknown[] = [];
    for (let after: string | null = null, more = true; more; ) {
      const response = await gql(`query ($after: String) { eventLog(first: 100, after: $after) { edges { cursor node { ${selectionOf(schema.getType('LoggedEvent') as GraphQLObjectType, 1)} } } pageInfo { hasNextPage } } }`, { after }, token);
      expect(response.errors).toBeUndefined();
      const page: any = response.data!.eventLog;
      pages.push(page);
      more = page.pageInfo.hasNextPage;
      after = page.edges.at(-1)?.cursor ?? null;
    }
    return pages;
  };

  const exports = () => [
    ...ids.programs.map((programId) => `/exports/matches.csv?programId=${programId}&status=ACTIVE,STAGED,DECLINED,REQUESTED,CLOSED`),
    `/exports/manager-report.csv?managerEmail=${encodeURIComponent(MANAGER_EMAIL)}`,
    '/exports/registrations.csv',
    '/exports/participation-dates.csv',
  ];

  /** Everything an analyst can read, each answer as text. */
  const readEverything = async (token: string): Promise<Map<string, string>> => {
    const answers = new Map<string, string>();
    const log = await wholeLog(token);
    answers.set('eventLog (every page)', JSON.stringify(log));
    const eventIds = (log as { edges: { node: { id: string } }[] }[]).flatMap((page) => page.edges.map((edge) => edge.node.id));
    for (const [i, operation] of operations(eventIds).entries()) {
      const response = await gql(operation.query, operation.variables, token);
      // Each answer's request id (in refusals' extensions) is the request's own, not data: left out of the comparison.
      answers.set(`${operation.name} #${i} ${JSON.stringify(operation.variables)}`, JSON.stringify(response, (key, value) => (key === 'requestId' ? undefined : value)));
    }
    for (const path of exports()) answers.set(`GET ${path}`, await download(path, token));
    return answers;
  };

  test('without personal-data:raw: no name, e-mail, company or free text in any query, the log or an export; the same pseudonyms on every read', async () => {
    // The search can fail: an admin reads every needle somewhere.
    const asAdmin = [...(await readEverything(admin)).values()].join('\n');
    expect(leaks(asAdmin).sort()).toEqual([...needles].sort());

    const analyst = await t.token('analyst', 'ana.analyst');
    const first = await readEverything(analyst);
    const found = [...first.entries()].flatMap(([where, text]) => leaks(text).map((needle) => `${where}: ${needle}`));
    expect(found).toEqual([]);
    const everything = [...first.values()].join('\n');
    expect(everything).toContain('person-');
    // Every person reads as one pseudonym everywhere: the users query, the log, the CSVs.
    const pseudonymOf = new Map<string, string>();
    const users = JSON.parse([...first.entries()].find(([key]) => key.startsWith('users(all)'))![1]).data.users.edges.map((edge: any) => edge.node);
    for (const user of users) {
      expect(user.name).toMatch(/^person-[0-9a-f]{16}$/);
      expect(user.email).toBe(user.name);
      expect(user.company).toBeNull();
      expect(user.manager).toBeNull();
      expect(user.profile).toEqual({});
      pseudonymOf.set(user.id, user.name);
    }
    expect(pseudonymOf.size).toBe(Object.keys(people).length);
    for (const pseudonym of pseudonymOf.values()) {
      for (const where of ['eventLog (every page)', `GET ${exports()[0]}`]) {
        if (where.startsWith('GET') && ![ids.users.harriet, ids.users.ottoline].some((id) => pseudonymOf.get(id) === pseudonym)) continue;
        expect({ where, pseudonym, found: first.get(where)!.includes(pseudonym) }).toEqual({ where, pseudonym, found: true });
      }
    }
    // History sentences name people by pseudonym.
    const history = [...first.entries()].find(([key]) => key.startsWith('userHistory') && key.includes(ids.users.percival))![1];
    expect(history).toContain(`${pseudonymOf.get(ids.users.percival)} <${pseudonymOf.get(ids.users.percival)}> registered`);

    // Read again: every answer the same, pseudonyms included.
    const second = await readEverything(analyst);
    const differing = [...first.keys()].filter((key) => first.get(key) !== second.get(key));
    expect(differing).toEqual([]);
    // No raw read was recorded for the pseudonymised analyst.
    const auditor = await t.token('auditor', 'audrey.auditor');
    const reads = await gql(`{ personalDataReads(first: 100, filter: { actorId: "ana.analyst" }) { edges { node { kind } } } }`, {}, auditor);
    const kinds = reads.data!.personalDataReads.edges.map((edge: any) => edge.node.kind);
    expect(kinds.length).toBeGreaterThan(0);
    expect(kinds).not.toContain('RAW_PERSONAL_DATA');
  }, 300_000);

  test('with personal-data:raw the analyst reads names and e-mails, and the read audit records it', async () => {
    const raw = await mintToken({ secret: t.app.config.tokenKeys!, subject: 'rita.raw', role: 'analyst', permissions: [RAW_PERSONAL_DATA], expiresIn: '1h', now: t.clock.now });
    const user = await gql(`query ($id: ID!) { user(id: $id) { name email company } }`, { id: ids.users.harriet }, raw);
    expect(user.data!.user).toEqual({ name: people.harriet.name, email: people.harriet.email, company: COMPANY });
    const history = await gql(`query ($id: ID!) { userHistory(userId: $id, first: 50) { edges { node { summary } } } }`, { id: ids.users.harriet }, raw);
    expect(JSON.stringify(history)).toContain(people.harriet.email);
    const csv = await download(`/exports/matches.csv?programId=${ids.programs[0]}`, raw);
    expect(csv).toContain(people.harriet.email);
    const auditor = await t.token('auditor', 'audrey.auditor');
    const reads = await gql(`{ personalDataReads(first: 100, filter: { actorId: "rita.raw" }) { edges { node { kind objectId subjectUserId via actor { role } } } } }`, {}, auditor);
    const rawReads = reads.data!.personalDataReads.edges.map((edge: any) => edge.node).filter((node: any) => node.kind === 'RAW_PERSONAL_DATA');
    expect(rawReads).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ subjectUserId: ids.users.harriet, via: 'User', actor: expect.objectContaining({ role: 'analyst' }) }),
        expect.objectContaining({ subjectUserId: ids.users.harriet, via: 'Query.userHistory' }),
        expect.objectContaining({ objectId: expect.stringContaining('/exports/matches.csv'), via: 'GET /exports/matches.csv' }),
      ]),
    );
  }, 120_000);
});
