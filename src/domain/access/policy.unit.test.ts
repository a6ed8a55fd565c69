import { fieldVisible, visibility, type MatchFacts, type Viewer } from './policy';

const match = (status: MatchFacts['status'], overrides: Partial<MatchFacts> = {}): MatchFacts => ({
  matchId: `m-${status}`,
  status,
  mentorUserId: 'mia',
  menteeUserId: 'ed',
  mentorPersonaId: 'mia:p1',
  menteePersonaId: 'ed:p1',
  ...overrides,
});

const participant = (role: 'mentor' | 'mentee', userId: string, matches: MatchFacts[], programIds = ['p1']): Viewer => ({
  role,
  actorId: userId,
  userId,
  programIds,
  matches,
});
const staff = (role: Viewer['role'], actorId = 'staff'): Viewer => ({ role, actorId, programIds: [], matches: [] });

const shown = (viewer: Viewer, ...fields: string[]) => (object: Parameters<typeof visibility<'user'>>[2]) =>
  fields.filter((field) => fieldVisible(visibility(viewer, 'user', object), field));

describe('access policy', () => {
  test('a participant sees themselves fully and a live partner by name only', () => {
    const mia = participant('mentor', 'mia', [match('ACTIVE')]);
    expect(shown(mia, 'id', 'name', 'email', 'status', 'personas')({ userId: 'mia' })).toEqual(['id', 'name', 'email', 'status', 'personas']);
    expect(shown(mia, 'id', 'name', 'email', 'status', 'personas')({ userId: 'ed' })).toEqual(['id', 'name']);
    expect(visibility(mia, 'user', { userId: 'someone-else' }).visible).toBe(false);
  });

  test('a past partner stays known by name; a staged or discarded one is nobody', () => {
    const ed = participant('mentee', 'ed', [match('CLOSED'), match('STAGED', { mentorUserId: 'sam', mentorPersonaId: 'sam:p1' })]);
    expect(visibility(ed, 'user', { userId: 'mia' }).visible).toBe(true);
    expect(visibility(ed, 'user', { userId: 'sam' }).visible).toBe(false);
    expect(visibility(ed, 'match', match('STAGED')).visible).toBe(false);
    expect(visibility(ed, 'match', match('DISCARDED')).visible).toBe(false);
    expect(visibility(ed, 'historyEntry', { userId: 'ed', eventType: 'MatchCreated' }).visible).toBe(false);
    expect(visibility(ed, 'historyEntry', { userId: 'ed', eventType: 'MatchActivated' }).visible).toBe(true);
  });

  test("a partner's persona shows only its side and the link to their name; their other personas are hidden", () => {
    const mia = participant('mentor', 'mia', [match('ACTIVE', { menteePersonaId: 'ed:p2' })]);
    const partnerPersona = visibility(mia, 'persona', { personaId: 'ed:p2', userId: 'ed' });
    expect(['id', 'role', 'user', 'matchStatus', 'partner'].filter((field) => fieldVisible(partnerPersona, field))).toEqual(['id', 'role', 'user']);
    expect(visibility(mia, 'persona', { personaId: 'ed:p1', userId: 'ed' }).visible).toBe(false);
  });

  test('a participant knows a partner in a match list by name, never by e-mail', () => {
    const mentor = visibility(participant('mentor', 'mia', [match('REQUESTED')]), 'matchListItem', match('REQUESTED'));
    expect(['mentorEmail', 'menteeEmail', 'menteeName', 'score'].filter((field) => fieldVisible(mentor, field))).toEqual(['mentorEmail', 'menteeName']);
  });

  test('a manager sees their own team report and registrations, and no participant record', () => {
    const manager = staff('manager', 'Morgan@Acme.test');
    expect(visibility(manager, 'managerReportRow', { managerEmail: 'morgan@acme.test' }).visible).toBe(true);
    expect(visibility(manager, 'managerReportRow', { managerEmail: 'olga@acme.test' }).visible).toBe(false);
    expect(visibility(manager, 'registration', { userId: 'mia', managerEmail: 'morgan@acme.test' }).visible).toBe(true);
    for (const object of [{ userId: 'ed' }, { userId: 'mia' }]) expect(visibility(manager, 'user', object).visible).toBe(false);
    expect(visibility(manager, 'match', match('ACTIVE')).visible).toBe(false);
  });

  test('a mentee sees the available mentors of their own programs only, without workload or e-mail', () => {
    const ed = participant('mentee', 'ed', [], ['p1']);
    const own = visibility(ed, 'availableMentor', { programId: 'p1' });
    expect(['name', 'email', 'liveMatches', 'capacityLeft'].filter((field) => fieldVisible(own, field))).toEqual(['name', 'capacityLeft']);
    expect(visibility(ed, 'availableMentor', { programId: 'p2' }).visible).toBe(false);
  });

  test('admins, auditors and analysts read everything', () => {
    for (const role of ['admin', 'auditor', 'analyst'] as const) {
      expect(visibility(staff(role), 'match', match('STAGED'))).toEqual({ visible: true });
      expect(visibility(staff(role), 'user', { userId: 'ed' })).toEqual({ visible: true });
    }
    expect(visibility(staff('coordinator'), 'user', { userId: 'ed' }).visible).toBe(false);
  });
});
