import { addBusinessDays, addMonths, hasPassed } from './calendar';

const NEW_YORK = 'America/New_York';

describe('addBusinessDays', () => {
  it.each([
    // 10:00 in New York (EDT, UTC-4) on each day of one week in September 2025.
    ['Monday', '2025-09-01T14:00:00.000Z', 'Thursday', '2025-09-04T14:00:00.000Z'],
    ['Wednesday', '2025-09-03T14:00:00.000Z', 'Monday', '2025-09-08T14:00:00.000Z'],
    ['Thursday', '2025-09-04T14:00:00.000Z', 'Tuesday', '2025-09-09T14:00:00.000Z'],
    ['Friday', '2025-09-05T14:00:00.000Z', 'Wednesday', '2025-09-10T14:00:00.000Z'],
    ['Saturday', '2025-09-06T14:00:00.000Z', 'Wednesday', '2025-09-10T14:00:00.000Z'],
    ['Sunday', '2025-09-07T14:00:00.000Z', 'Wednesday', '2025-09-10T14:00:00.000Z'],
  ])('3 business days from %s 10:00 end on %s 10:00', (_from, instant, _to, expected) =>
    expect(addBusinessDays(instant, 3, NEW_YORK)).toBe(expected));

  it('skips the weekend counting 5 days: Thursday to the next Thursday', () =>
    expect(addBusinessDays('2025-09-04T14:00:00.000Z', 5, NEW_YORK)).toBe('2025-09-11T14:00:00.000Z'));

  it('0 days is the same instant', () => expect(addBusinessDays('2025-09-04T14:00:00.000Z', 0, NEW_YORK)).toBe('2025-09-04T14:00:00.000Z'));

  it('keeps the local time when daylight saving ends in between (10:00 EDT → 10:00 EST)', () =>
    expect(addBusinessDays('2025-10-30T14:00:00.000Z', 3, NEW_YORK)).toBe('2025-11-04T15:00:00.000Z'));

  it('keeps the local time when daylight saving starts over the weekend (Friday 10:00 EST → Wednesday 10:00 EDT)', () =>
    expect(addBusinessDays('2026-03-06T15:00:00.000Z', 3, NEW_YORK)).toBe('2026-03-11T14:00:00.000Z'));

  it('follows the program’s own zone’s changes (Paris leaves summer time on 26 October)', () =>
    expect(addBusinessDays('2025-10-23T08:00:00.000Z', 3, 'Europe/Paris')).toBe('2025-10-28T09:00:00.000Z'));

  it('counts from the local day: Friday 22:00 in New York is already Saturday in UTC', () => {
    expect(addBusinessDays('2025-09-06T02:00:00.000Z', 3, NEW_YORK)).toBe('2025-09-11T02:00:00.000Z'); // Wednesday 22:00 there
    expect(addBusinessDays('2025-09-06T02:00:00.000Z', 3, 'UTC')).toBe('2025-09-10T02:00:00.000Z');
  });

  it('refuses an instant it cannot read', () => expect(() => addBusinessDays('next Tuesday', 3, NEW_YORK)).toThrow('Cannot place next Tuesday in time zone'));
  it('refuses a zone it does not know', () => expect(() => addBusinessDays('2025-09-04T14:00:00.000Z', 3, 'Mars/Olympus_Mons')).toThrow('Mars/Olympus_Mons'));
});

describe('addMonths', () => {
  it('keeps the local time across a daylight-saving change (10:00 EDT → 10:00 EST)', () =>
    expect(addMonths('2025-09-04T14:00:00.000Z', 6, NEW_YORK)).toBe('2026-03-04T15:00:00.000Z'));

  it.each([
    ['Jan 31 + 1 month is Feb 28', '2025-01-31T17:00:00.000Z', 1, '2025-02-28T17:00:00.000Z'],
    ['Jan 31 + 1 month is Feb 29 in a leap year', '2024-01-31T17:00:00.000Z', 1, '2024-02-29T17:00:00.000Z'],
    ['Aug 31 + 6 months is Feb 28', '2025-08-31T16:00:00.000Z', 6, '2026-02-28T17:00:00.000Z'],
    ['Mar 31 + 1 month is Apr 30', '2025-03-31T16:00:00.000Z', 1, '2025-04-30T16:00:00.000Z'],
    ['Jan 15 + 12 months is Jan 15', '2025-01-15T17:00:00.000Z', 12, '2026-01-15T17:00:00.000Z'],
  ])('%s', (_case, instant, months, expected) => expect(addMonths(instant, months, NEW_YORK)).toBe(expected));

  it('takes the end of the month in the program’s zone: Jan 30 20:00 UTC is Jan 31 in Tokyo, so Feb 28 there', () => {
    expect(addMonths('2025-01-30T20:00:00.000Z', 1, 'Asia/Tokyo')).toBe('2025-02-27T20:00:00.000Z');
    expect(addMonths('2025-01-30T20:00:00.000Z', 1, NEW_YORK)).toBe('2025-02-28T20:00:00.000Z');
  });
});

describe('hasPassed', () => {
  it('is true at the instant itself', () => expect(hasPassed('2025-09-09T14:00:00.000Z', '2025-09-09T14:00:00.000Z')).toBe(true));
  it('is true after it', () => expect(hasPassed('2025-09-09T14:00:00.000Z', '2025-09-09T14:00:00.001Z')).toBe(true));
  it('is false before it', () => expect(hasPassed('2025-09-09T14:00:00.000Z', '2025-09-09T13:59:59.999Z')).toBe(false));
  it('compares instants, not spellings', () => expect(hasPassed('2025-09-09T10:00:00-04:00', '2025-09-09T14:00:00.000Z')).toBe(true));
});
