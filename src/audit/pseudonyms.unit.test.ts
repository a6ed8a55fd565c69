import { Pseudonyms, PSEUDONYMISED } from './pseudonyms';

describe('pseudonyms for analysts', () => {
  const pseudonyms = Pseudonyms.withKey(Buffer.alloc(32, 7));

  test('the same subject always reads the same; another subject or another key reads differently', () => {
    expect(pseudonyms.of('u1')).toMatch(/^person-[0-9a-f]{16}$/);
    expect(pseudonyms.of('u1')).toBe(pseudonyms.of('u1'));
    expect(pseudonyms.of('u2')).not.toBe(pseudonyms.of('u1'));
    expect(Pseudonyms.withKey(Buffer.alloc(32, 8)).of('u1')).not.toBe(pseudonyms.of('u1'));
  });

  test("an event's names and e-mails become its subject's pseudonym; free text, details and the reason are left out", () => {
    const event = {
      type: 'UserRegistered',
      data: { userId: 'u1', email: 'maya@example.org', normalizedEmail: 'maya@example.org', name: 'Maya', company: 'Acme', manager: { name: 'B', email: 'b@x.org' }, role: 'MENTOR' },
      metadata: { occurredAt: '2026-01-01T00:00:00.000Z', reason: 'Maya asked' },
    };
    expect(pseudonyms.event(event)).toEqual({
      type: 'UserRegistered',
      data: { userId: 'u1', email: pseudonyms.of('u1'), normalizedEmail: pseudonyms.of('u1'), name: pseudonyms.of('u1'), company: null, manager: null, role: 'MENTOR', personalDataPseudonymised: true },
      metadata: { occurredAt: '2026-01-01T00:00:00.000Z', reason: PSEUDONYMISED },
    });
    const request = { type: 'MatchRequested', data: { matchId: 'm', mentorUserId: 'a', menteeUserId: 'b', message: 'Hi from Maya' }, metadata: {} };
    expect(pseudonyms.event(request).data).toEqual({ matchId: 'm', mentorUserId: 'a', menteeUserId: 'b', message: null, personalDataPseudonymised: true });
  });

  test("a folded state: a user's name becomes their pseudonym, a program's name stays", () => {
    expect(pseudonyms.state({ userId: 'u1', name: 'Maya', profile: { a: 1 }, personas: [{ personaId: 'p' }] })).toEqual({
      userId: 'u1',
      name: pseudonyms.of('u1'),
      profile: {},
      personas: [{ personaId: 'p' }],
    });
    expect(pseudonyms.state({ programId: 'p1', name: 'Riverside 2026' })).toEqual({ programId: 'p1', name: 'Riverside 2026' });
  });
});
