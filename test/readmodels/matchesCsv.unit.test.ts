import { localDate, matchesCsvRecord, neutralizeFormula } from '../../src/export/matchesCsv';

describe('the matches CSV', () => {
  test('text a spreadsheet would run as a formula gets a leading apostrophe; other text is left alone', () => {
    for (const formula of ['=1+1', '+33 1 23', '-2+3', '@SUM(A1)', '\t=1', '\r=1']) expect(neutralizeFormula(formula)).toBe(`'${formula}`);
    for (const plain of ['Ana', ' =not first', "O'Brien", 'a=b', '']) expect(neutralizeFormula(plain)).toBe(plain);
  });

  test('the matched date is the local date in the program time zone', () => {
    expect(localDate('2025-01-11T02:30:00.000Z', 'America/New_York')).toBe('2025-01-10');
    expect(localDate('2025-01-10T23:30:00.000Z', 'Europe/Paris')).toBe('2025-01-11');
    expect(() => localDate('2025-01-10T23:30:00.000Z', 'Mars/Olympus')).toThrow('Mars/Olympus');
  });

  test('statuses, sources, dates and scores are written as the system wrote them', () => {
    expect(
      matchesCsvRecord({
        matchId: 'm-1',
        mentorUserId: 'u-ana',
        menteeUserId: 'u-bo',
        programName: '-Pilot',
        programTimeZone: 'UTC',
        mentorName: 'Ana',
        mentorEmail: 'ana@example.org',
        menteeName: '@Bo',
        menteeEmail: 'bo@example.org',
        status: 'STAGED',
        source: 'AUTO',
        matchedAt: '2025-03-01T10:00:00.000Z',
        score: -0.5,
      }),
    ).toEqual(['Ana', 'ana@example.org', "'@Bo", 'bo@example.org', "'-Pilot", 'STAGED', 'AUTO', '2025-03-01', '-0.5']);
  });
});
