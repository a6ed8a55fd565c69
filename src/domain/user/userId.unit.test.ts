import { USER_ID_NAMESPACE, normalizeEmail, personaIdFor, userIdForEmail, userIdOfPersona, uuidV5 } from './userId';

describe('uuidV5', () => {
  it('matches the RFC test vector (www.example.com in the DNS namespace)', () =>
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2'));
  it('sets version 5 and the RFC variant', () => expect(uuidV5('anything', USER_ID_NAMESPACE)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/));
  it('refuses a namespace that is not a UUID', () => expect(() => uuidV5('x', 'not-a-uuid')).toThrow('is not a UUID'));
});

describe('userIdForEmail', () => {
  it('is the same for any case and surrounding spaces', () => {
    const id = userIdForEmail('maria.mentor@example.org');
    expect(userIdForEmail('Maria.Mentor@Example.ORG')).toBe(id);
    expect(userIdForEmail('  MARIA.MENTOR@EXAMPLE.ORG\t')).toBe(id);
  });
  // Pinned (cross-checked with Python's uuid.uuid5): stored streams are named by these ids.
  it('is a fixed value that must never change', () => expect(userIdForEmail('Maria.Mentor@example.org')).toBe('ac6c88b6-1126-5c85-9b63-61082ce0209c'));
  it('differs for different addresses', () => expect(userIdForEmail('a@example.org')).not.toBe(userIdForEmail('b@example.org')));
  it('normalises by trimming and lower-casing only', () => expect(normalizeEmail('  A.B+Tag@Example.ORG ')).toBe('a.b+tag@example.org'));
});

describe('persona ids', () => {
  const userId = userIdForEmail('maria.mentor@example.org');
  it('are <userId>:p<n>', () => expect(personaIdFor(userId, 2)).toBe(`${userId}:p2`));
  it('name their user', () => expect(userIdOfPersona(`${userId}:p12`)).toBe(userId));
  it.each(['p1', `${userId}:p0`, `${userId}:x1`, `${userId}`])('reject "%s"', (id) => expect(userIdOfPersona(id)).toBeNull());
});
