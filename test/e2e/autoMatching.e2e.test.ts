import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/**
 * Auto-matching over real HTTP (issue 5): an admin sets the criteria, participants their profiles,
 * the run stages the optimal pairs with their scores and why, hard constraints hold, and approving
 * the staged result makes the matches live.
 */

const PAYLOAD = 'errors { code message field details } position';

describe.each(sqlBackends())('auto-matching over GraphQL on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  let lastPosition = '';

  beforeAll(async () => {
    t = await startTestApp(await open(), '2026-09-01T14:00:00.000Z');
    admin = await t.token('admin', 'alice.admin');
  });
  afterAll(async () => {
    await t?.close();
  });

  const run = async (mutation: string, inputType: string, input: Record<string, unknown>, select = '', token = admin) => {
    const response = await t.gql(`mutation ($input: ${inputType}!) { ${mutation}(input: $input) { ${select} } }`, { input }, { token });
    expect(response.errors).toBeUndefined();
    const payload = response.data![mutation];
    if (payload.position) lastPosition = payload.position;
    return payload;
  };
  const ok = async (mutation: string, inputType: string, input: Record<string, unknown>, select = '', token = admin) => {
    const payload = await run(mutation, inputType, input, `${PAYLOAD} ${select}`, token);
    expect(payload.errors).toEqual([]);
    return payload;
  };
  const query = async (text: string, variables: Record<string, unknown> = {}, token = admin) => {
    const response = await t.gql(text, variables, { token, headers: lastPosition ? { 'x-consistent-with': lastPosition } : {} });
    expect(response.errors).toBeUndefined();
    return response.data!;
  };

  let counter = 0;
  const participant = async (
    programId: string,
    role: 'MENTOR' | 'MENTEE',
    name: string,
    attributes: Record<string, unknown>,
    manager?: { name: string; email: string },
  ) => {
    counter += 1;
    const email = `${name.toLowerCase().replace(/[^a-z]+/g, '.')}.${counter}@example.org`;
    const { user } = await ok('registerUser', 'RegisterUserInput', { email, name, programId, role, ...(manager ? { manager } : {}) }, 'user { id }');
    await ok('completeApplication', 'UserInput', { userId: user.id });
    await ok('changeUserStatus', 'ChangeUserStatusInput', { userId: user.id, status: 'A' });
    await ok('setProfileAttributes', 'SetProfileAttributesInput', { userId: user.id, attributes });
    return { userId: user.id as string, personaId: `${user.id}:p1`, email, name };
  };

  test('criteria, profiles and a ban in; the optimal pairs staged with scores that add up; approved, they go live', async () => {
    const { program } = await ok('createProgram', 'CreateProgramInput', { name: 'Auto cohort', timeZone: 'America/New_York' }, 'program { id }');
    const programId = program.id as string;
    await ok('turnMatchingOn', 'ProgramInput', { programId });

    // Running before any criteria exist says what to do first.
    const early = await run('runAutoMatching', 'RunAutoMatchingInput', { programId }, 'errors { code message }');
    expect(early.errors).toEqual([expect.objectContaining({ code: 'RULE_VIOLATED', message: expect.stringContaining('setMatchingCriteria') })]);

    const criteria = [
      { attribute: 'languages', kind: 'SET_SIMILARITY', weight: 5, required: true, label: 'languages' },
      { attribute: 'interests', kind: 'SET_SIMILARITY', weight: 20, label: 'interests' },
      { attribute: 'industry', kind: 'EQUALITY', weight: 10 },
      { attribute: 'utcOffset', kind: 'DISTANCE', weight: 8, maxDistance: 6, label: 'time zone' },
      { attribute: 'gender', kind: 'PREFERENCE', preferenceAttribute: 'preferredMentorGender', weight: 4, label: 'gender' },
    ];
    const unknownKind = await t.gql(`mutation ($input: SetMatchingCriteriaInput!) { setMatchingCriteria(input: $input) { errors { code } } }`, {
      input: { programId, criteria: [{ attribute: 'x', kind: 'NOPE', weight: 1 }] },
    }, { token: admin });
    expect(unknownKind.errors?.[0]?.extensions?.code).toBeDefined();
    const badDistance = await run('setMatchingCriteria', 'SetMatchingCriteriaInput', { programId, criteria: [{ attribute: 'utcOffset', kind: 'DISTANCE', weight: 8 }] }, 'errors { code field }');
    expect(badDistance.errors).toEqual([{ code: 'VALIDATION_FAILED', field: 'criteria.0.maxDistance' }]);
    await ok('setMatchingCriteria', 'SetMatchingCriteriaInput', { programId, criteria, objective: 'MAX_MATCHED_THEN_SCORE' });

    // Two mentors, three mentees: Ana would score best with Rob, but hard constraints rule her out.
    const rob = await participant(programId, 'MENTOR', 'Rob Robotics', { languages: ['en', 'es'], interests: ['robotics', 'chess', 'music'], industry: 'tech', utcOffset: -5, gender: 'M' });
    const fay = await participant(programId, 'MENTOR', 'Fay Finance', { languages: ['fr'], interests: ['finance', 'music'], industry: 'banking', utcOffset: 1, gender: 'F' });
    const ana = await participant(programId, 'MENTEE', 'Ana', { languages: ['en', 'fr'], interests: ['robotics', 'music'], industry: 'tech', utcOffset: -5, preferredMentorGender: 'any' }, { name: 'Rob Robotics', email: rob.email });
    const ben = await participant(programId, 'MENTEE', 'Ben', { languages: ['en'], interests: ['robotics', 'chess'], industry: 'tech', utcOffset: -6 });
    const cat = await participant(programId, 'MENTEE', 'Cat', { languages: ['fr'], interests: ['finance'], industry: 'banking', utcOffset: 1, preferredMentorGender: 'F' });
    // Ana reports to Rob: never paired. An admin bans Fay with Ben (they share no language anyway).
    await ok('banPair', 'PairBanInput', { programId, mentorUserId: fay.userId, menteeUserId: ana.userId });

    const suggestions = (await query(`query ($id: ID!) { suggestMentors(menteePersonaId: $id) { mentorPersonaId name score explanation { criterion points detail } } }`, { id: ben.personaId })).suggestMentors;
    expect(suggestions).toEqual([expect.objectContaining({ mentorPersonaId: rob.personaId })]); // Fay shares no language with Ben
    const sum = (parts: { points: number }[]) => Math.round(parts.reduce((total, p) => total + p.points, 0) * 100) / 100;
    expect(sum(suggestions[0].explanation)).toBe(suggestions[0].score);

    const result = await run('runAutoMatching', 'RunAutoMatchingInput', { programId }, `errors { code message } position
      run { runId criteriaVersion objective menteesConsidered mentorsConsidered stagedMatchIds refusedPairs totalScore upperBound gap method }
      matches { id status source score runId explanation { criterion points detail } mentor { id } mentee { id } }`);
    expect(result.errors).toEqual([]);
    expect(result.run).toMatchObject({ criteriaVersion: 1, objective: 'MAX_MATCHED_THEN_SCORE', menteesConsidered: 3, mentorsConsidered: 2, refusedPairs: 0 });
    expect(result.run.gap).toBeLessThanOrEqual(0.001);
    expect(result.run.upperBound).toBeGreaterThanOrEqual(result.run.totalScore);
    const pairs = result.matches.map((m: any) => [m.mentor.id, m.mentee.id]).sort();
    // Ana cannot have Rob (reporting line) nor Fay (banned); Ben needs English (Rob); Cat needs French (Fay).
    expect(pairs).toEqual([[rob.personaId, ben.personaId], [fay.personaId, cat.personaId]].sort());
    for (const match of result.matches) {
      expect(match).toMatchObject({ status: 'STAGED', source: 'AUTO', runId: result.run.runId });
      expect(sum(match.explanation)).toBe(match.score);
      expect(match.explanation.map((p: any) => p.criterion)).toEqual(['languages', 'interests', 'industry', 'time zone', 'gender']);
    }
    expect(result.run.totalScore).toBeCloseTo(result.matches.reduce((total: number, m: any) => total + m.score, 0), 2);
    const robBen = result.matches.find((m: any) => m.mentee.id === ben.personaId);
    expect(robBen.explanation[1]).toMatchObject({ criterion: 'interests', detail: expect.stringContaining('shares 2 of 3 interests') });

    // The run is on the program's record, with the criteria version it used.
    const recorded = (await t.app.store.readStream(`program-${programId}`)).events.at(-1)!;
    expect(recorded).toMatchObject({ type: 'AutoMatchingRan', data: { runId: result.run.runId, criteriaVersion: 1 } });

    // A second run finds the staged mentees taken: nothing new to stage for them.
    const again = await run('runAutoMatching', 'RunAutoMatchingInput', { programId }, 'errors { code } run { menteesConsidered stagedMatchIds }');
    expect(again.run).toMatchObject({ menteesConsidered: 1, stagedMatchIds: [] });

    // Approving the staged result makes both live.
    const approved = await run('approveStagedMatches', 'StagedMatchesInput', { programId, confirm: true }, 'succeeded refused position');
    expect(approved).toMatchObject({ succeeded: 2, refused: 0 });
    lastPosition = approved.position;
    for (const id of result.run.stagedMatchIds) {
      expect((await query(`query ($id: ID!) { match(id: $id) { status score } }`, { id })).match).toMatchObject({ status: 'ACTIVE' });
    }
  });
});

announcePostgresSkip('auto-matching over GraphQL');
