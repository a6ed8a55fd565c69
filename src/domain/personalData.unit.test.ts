import { ERASED, PERSONAL_DATA, maskInlinePersonalData, matchScope, splitPersonalData } from './personalData';
import { userIdForEmail } from './user/userId';

describe('personal data map', () => {
  const registered = {
    userId: 'u1',
    email: 'Maya@example.org',
    normalizedEmail: 'maya@example.org',
    name: 'Maya',
    programId: 'p1',
    role: 'MENTOR',
    company: 'Acme',
    manager: { name: 'Boss', email: 'boss@example.org' },
    userStatus: 'AI',
  };

  test('splits the personal fields off, keeps the rest, and says whose they are', () => {
    const split = splitPersonalData('UserRegistered', registered);
    expect(split.kept).toEqual({ userId: 'u1', programId: 'p1', role: 'MENTOR', userStatus: 'AI' });
    expect(split.personal?.values).toEqual({
      email: 'Maya@example.org',
      normalizedEmail: 'maya@example.org',
      name: 'Maya',
      company: 'Acme',
      manager: { name: 'Boss', email: 'boss@example.org' },
    });
    expect(split.personal?.subjects).toEqual(['u1']);
    expect(split.personal?.erased).toEqual({
      email: ERASED,
      normalizedEmail: ERASED,
      name: ERASED,
      company: null,
      manager: null,
      personalDataErased: true,
    });
  });

  test('an event without personal fields, or without the mapped fields present, is not split', () => {
    expect(splitPersonalData('UserStatusChanged', { userId: 'u1', from: 'AI', to: 'SI' })).toEqual({
      kept: { userId: 'u1', from: 'AI', to: 'SI' },
      personal: null,
    });
    expect(splitPersonalData('MatchRequested', { matchId: 'm1' }).personal).toBeNull();
  });

  test('free text of a match belongs to both participants and to the match', () => {
    const split = splitPersonalData('MatchRequested', { matchId: 'm1', mentorUserId: 'a', menteeUserId: 'b', message: 'Hi, I am Maya' });
    expect(split.personal?.subjects).toEqual(['a', 'b', matchScope('m1')]);
    expect(split.kept).toEqual({ matchId: 'm1', mentorUserId: 'a', menteeUserId: 'b' });
    expect(splitPersonalData('MeetingRecorded', { meetingId: 'x', matchId: 'm1', notes: 'n' }).personal?.subjects).toEqual([matchScope('m1')]);
  });

  test("a manager report is about its manager and every mentor it lists, found by e-mail", () => {
    const split = splitPersonalData('ManagerReportIssued', {
      managerEmail: 'boss@example.org',
      period: '2026-11-16/2026-11-29',
      lines: [{ mentorEmail: 'maya@example.org', mentorName: 'Maya' }],
    });
    expect(split.personal?.subjects).toEqual([userIdForEmail('boss@example.org'), userIdForEmail('maya@example.org')]);
    expect(split.personal?.erased).toEqual({ managerEmail: ERASED, lines: [], personalDataErased: true });
    // A line that names its mentor's (random) user id is theirs by that id too: erasing the mentor erases the report.
    const named = splitPersonalData('ManagerReportIssued', {
      managerEmail: 'boss@example.org',
      period: '2026-11-16/2026-11-29',
      lines: [{ mentorEmail: 'maya@example.org', mentorName: 'Maya', mentorUserId: 'random-id-of-maya' }],
    });
    expect(named.personal?.subjects).toEqual([userIdForEmail('boss@example.org'), 'random-id-of-maya', userIdForEmail('maya@example.org')]);
  });

  test('inline personal data of an old event is masked only for an erased subject', () => {
    expect(maskInlinePersonalData('UserRegistered', registered, new Set(['someone else']))).toBeNull();
    expect(maskInlinePersonalData('UserRegistered', registered, new Set(['u1']))).toMatchObject({ name: ERASED, personalDataErased: true });
    expect(maskInlinePersonalData('UserStatusChanged', { userId: 'u1' }, new Set(['u1']))).toBeNull();
  });

  test('every mapped field has an erased value', () => {
    for (const [type, rule] of Object.entries(PERSONAL_DATA)) {
      const erased = splitPersonalData(type, Object.fromEntries(rule.fields.map((field) => [field, 'x']))).personal?.erased ?? {};
      for (const field of rule.fields) expect(erased[field] === null || erased[field] !== 'x').toBe(true);
    }
  });
});
