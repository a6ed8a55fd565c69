import { addBusinessDays, addMonths, hasPassed, isBusinessDay, type BusinessCalendar } from './calendar';

const NEW_YORK = 'America/New_York';

describe('addBusinessDays', () => {
  it.each([
    // 10:00 in New York (EDT, UTC-4) on each day of one week in September 2025.
    ['Monday', '2025-09-01T14:00:00.000Z', 'Thursday', '2025-09-04T14:00:00.000Z'],
    ['Wednesday', '2025-09-03T14:00:00.000Z', 'Monday', '2025-09-08T14:00:00.000Z'],
    ['Thursday', '2025-09-04T14:00:00.000Z', 'Tuesday', '2025-09-09T14:00:00.000Z'],
    ['Friday', '2025-09-05T14:00:00.000Z', 'Wednesday', '2025-09-10T14:00:00.000Z'],
  ])('3 business days from %s 10:00 end on %s 10:00', (_from, instant, _to, expected) =>
    expect(addBusinessDays(instant, 3, NEW_YORK)).toBe(expected));

  // Issue 18: "a request made on Saturday 10:00 expires Wednesday 10:00, 58 hours of business time
  // instead of 3 whole business days". Outside business days the clock starts at the next one's start.
  it.each([
    ['Saturday 10:00', '2025-09-06T14:00:00.000Z'],
    ['Sunday 10:00', '2025-09-07T14:00:00.000Z'],
    ['Saturday 00:00', '2025-09-06T04:00:00.000Z'],
    ['Sunday 23:59', '2025-09-08T03:59:00.000Z'],
    ['Monday 00:00 sharp (the clock starts at once: the same instant)', '2025-09-08T04:00:00.000Z'],
  ])('3 business days from %s end at the end of Wednesday (Thursday 00:00 in New York)', (_from, instant) =>
    expect(addBusinessDays(instant, 3, NEW_YORK)).toBe('2025-09-11T04:00:00.000Z'));

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
    expect(addBusinessDays('2025-09-06T02:00:00.000Z', 3, 'UTC')).toBe('2025-09-11T00:00:00.000Z'); // Saturday there: end of Wednesday
  });

  it('refuses an instant it cannot read', () => expect(() => addBusinessDays('next Tuesday', 3, NEW_YORK)).toThrow('Cannot place next Tuesday in time zone'));
  it('refuses a zone it does not know', () => expect(() => addBusinessDays('2025-09-04T14:00:00.000Z', 3, 'Mars/Olympus_Mons')).toThrow('Mars/Olympus_Mons'));
});

const US: BusinessCalendar = { timeZone: NEW_YORK, holidayCountry: 'US', holidayRegion: null, closedDays: [] };
const US_NY: BusinessCalendar = { ...US, holidayRegion: 'NY' };

describe('addBusinessDays with public holidays and closed days', () => {
  it.each([
    // [case, calendar, from (UTC), days, expected (UTC)]
    ['Friday before Labor Day (Mon 1 Sep 2025) 10:00 + 3: Tue, Wed, Thu 10:00', US, '2025-08-29T14:00:00.000Z', 3, '2025-09-04T14:00:00.000Z'],
    ['the same without holidays: Wednesday 10:00', { ...US, holidayCountry: null }, '2025-08-29T14:00:00.000Z', 3, '2025-09-03T14:00:00.000Z'],
    ['on Labor Day 10:00 + 3: Tue, Wed, Thu whole, end of Thursday', US, '2025-09-01T14:00:00.000Z', 3, '2025-09-05T04:00:00.000Z'],
    ['Wednesday before Thanksgiving (27 Nov) 10:00 EST + 3: Fri, Mon, Tue 10:00', US, '2025-11-26T15:00:00.000Z', 3, '2025-12-02T15:00:00.000Z'],
    ['Thursday 2 July 2026 + 1: Friday 3 July is the substitute for the 4th, so Monday 10:00', US, '2026-07-02T14:00:00.000Z', 1, '2026-07-06T14:00:00.000Z'],
    ["Lincoln's Birthday (Thu 12 Feb 2026) is a holiday in New York State only: US", US, '2026-02-11T15:00:00.000Z', 1, '2026-02-12T15:00:00.000Z'],
    ["Lincoln's Birthday (Thu 12 Feb 2026) is a holiday in New York State only: US/NY", US_NY, '2026-02-11T15:00:00.000Z', 1, '2026-02-13T15:00:00.000Z'],
    [
      'closed 24 and 26 Dec, Christmas a holiday: Tue 23 Dec 10:00 + 3 = Mon 29, Tue 30, Wed 31 10:00',
      { ...US, closedDays: ['2025-12-24', '2025-12-26'] },
      '2025-12-23T15:00:00.000Z',
      3,
      '2025-12-31T15:00:00.000Z',
    ],
    [
      'made on a closed day (24 Dec 10:00) + 3: Mon 29 to Wed 31 whole, end of Wednesday = 1 Jan 00:00',
      { ...US, closedDays: ['2025-12-24', '2025-12-26'] },
      '2025-12-24T15:00:00.000Z',
      3,
      '2026-01-01T05:00:00.000Z',
    ],
    ['Paris: Friday 1 May 2026 (Fête du travail) 10:00 + 1: Monday 4 May whole, end = Tuesday 00:00', { timeZone: 'Europe/Paris', holidayCountry: 'FR', holidayRegion: null, closedDays: [] }, '2026-05-01T08:00:00.000Z', 1, '2026-05-04T22:00:00.000Z'],
  ])('%s', (_case, calendar, from, days, expected) => expect(addBusinessDays(from, days, calendar)).toBe(expected));

  it.each([
    // Daylight saving: days are counted on the local calendar; a 23- or 25-hour day is one day.
    ['New York, summer time starts Sun 8 Mar 2026: Saturday 10:00 EST + 3 = end of Wed 11 (00:00 EDT)', NEW_YORK, '2026-03-07T15:00:00.000Z', 3, '2026-03-12T04:00:00.000Z'],
    ['New York, summer time ends Sun 2 Nov 2025: Saturday 10:00 EDT + 3 = end of Wed 5 (00:00 EST)', NEW_YORK, '2025-11-01T14:00:00.000Z', 3, '2025-11-06T05:00:00.000Z'],
    ['Paris, summer time starts Sun 29 Mar 2026: Friday 10:00 CET + 1 = Monday 10:00 CEST', 'Europe/Paris', '2026-03-27T09:00:00.000Z', 1, '2026-03-30T08:00:00.000Z'],
    ['Paris, Saturday 23:30 CET before the change + 1: Monday whole, end = Tuesday 00:00 CEST', 'Europe/Paris', '2026-03-28T22:30:00.000Z', 1, '2026-03-30T22:00:00.000Z'],
    ['Paris, summer time ends Sun 25 Oct 2026: Friday 10:00 CEST + 1 = Monday 10:00 CET', 'Europe/Paris', '2026-10-23T08:00:00.000Z', 1, '2026-10-26T09:00:00.000Z'],
    ['Sydney (southern hemisphere), summer time starts Sun 4 Oct 2026: Friday 10:00 AEST + 1 = Monday 10:00 AEDT', 'Australia/Sydney', '2026-10-02T00:00:00.000Z', 1, '2026-10-04T23:00:00.000Z'],
  ])('%s', (_case, zone, from, days, expected) => expect(addBusinessDays(from, days, zone)).toBe(expected));

  it('knows which days are business days in the program’s zone', () => {
    expect(isBusinessDay('2025-09-01T14:00:00.000Z', US)).toBe(false); // Labor Day
    expect(isBusinessDay('2025-09-01T14:00:00.000Z', NEW_YORK)).toBe(true); // no holidays known
    expect(isBusinessDay('2025-09-02T03:30:00.000Z', US)).toBe(false); // still Labor Day evening in New York
    expect(isBusinessDay('2025-09-02T04:30:00.000Z', US)).toBe(true);
  });
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
