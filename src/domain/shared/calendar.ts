import type HolidaysLibrary from 'date-holidays';
import { DateTime } from 'luxon';

/**
 * Dates the matching rules count in a program's own time zone: request expiry in business days,
 * match duration in calendar months. Instants are ISO-8601 strings in UTC.
 *
 * A business day is a whole local day (00:00 to 24:00 on the program's clock) that is Monday to
 * Friday, not a public holiday of the program's country/region (`date-holidays`, holidays of type
 * "public" only, substitute days included), and not one of the program's own closed days.
 *
 * The expiry rule (issue 18, seed 002: "If the mentor does not decide within 3 business days, the
 * request will expire"): a request has N whole business days of business time.
 * - Made during a business day, its clock starts at once: it expires at the same local time of day
 *   on the N-th business day after (Thursday 10:00 + 3 = Tuesday 10:00; Friday 10:00 + 3 = Wednesday
 *   10:00). What is left of the first day plus the part of the last day adds up to one whole day.
 * - Made outside business days (a weekend, a holiday, a closed day), its clock starts at the next
 *   business day's start (00:00) and it expires at the end of the N-th business day counted from
 *   that one, i.e. at 00:00 of the following calendar day (Saturday 10:00 + 3 = end of Wednesday =
 *   Thursday 00:00; a request at Monday 00:00 sharp expires at the same instant).
 * Days are counted on the local calendar, so a day of 23 or 25 hours (daylight-saving changes) is
 * one business day, and local times of day are kept across the change; a local time that does not
 * exist on the day (spring forward) moves forward by the gap, as luxon does.
 */

export interface BusinessCalendar {
  /** IANA name. */
  readonly timeZone: string;
  /** ISO 3166-1 alpha-2 country whose public holidays are closed (null: none). */
  readonly holidayCountry: string | null;
  /** ISO 3166-2 subdivision code within the country (e.g. "NY" in "US"), adding its own holidays. */
  readonly holidayRegion: string | null;
  /** The program's own closed days, local dates "YYYY-MM-DD". */
  readonly closedDays: readonly string[];
}

const inZone = (instant: string, timeZone: string): DateTime => {
  const local = DateTime.fromISO(instant, { zone: 'utc' }).setZone(timeZone);
  if (!local.isValid) throw new Error(`Cannot place ${instant} in time zone ${timeZone}: ${local.invalidExplanation ?? local.invalidReason}`);
  return local;
};

const isWeekend = (day: DateTime): boolean => day.weekday === 6 || day.weekday === 7;

// The holiday tables are fixed for a given library version: computing a year once per
// country/region is a cache of a pure function, not state.
const holidayYears = new Map<string, ReadonlySet<string>>();

/**
 * `date-holidays` with its tables takes a few hundred milliseconds to load: loaded on first use, so
 * the tools and everything that only names the domain's types start without it (bench cli-startup).
 */
let holidaysLibrary: typeof HolidaysLibrary | undefined;
// The package is CommonJS whose export is the class itself.
const Holidays = (): typeof HolidaysLibrary => (holidaysLibrary ??= require('date-holidays') as typeof HolidaysLibrary);

/** The local dates ("YYYY-MM-DD") of the public holidays of `year` in the country/region. */
export const publicHolidays = (country: string, region: string | null, year: number): ReadonlySet<string> => {
  const key = `${country}/${region ?? ''}/${year}`;
  let dates = holidayYears.get(key);
  if (!dates) {
    const calendar = region ? new (Holidays())(country, region, { types: ['public'] }) : new (Holidays())(country, { types: ['public'] });
    const found = new Set<string>();
    for (const holiday of calendar.getHolidays(year) || []) {
      if (holiday.type !== 'public') continue;
      // "date" is the local date in the country's own calendar; a holiday spanning days lists its first.
      const first = DateTime.fromISO(holiday.date.slice(0, 10));
      const days = Math.max(1, Math.round((holiday.end.getTime() - holiday.start.getTime()) / 86_400_000));
      for (let offset = 0; offset < days; offset++) found.add(first.plus({ days: offset }).toISODate()!);
    }
    dates = found;
    holidayYears.set(key, dates);
  }
  return dates;
};

const holidayLists = () => new (Holidays())();

/** Whether `date-holidays` knows the country (ISO 3166-1 alpha-2, upper case). */
export const isKnownHolidayCountry = (country: string): boolean => Object.prototype.hasOwnProperty.call(holidayLists().getCountries() ?? {}, country);

/** The subdivision codes the library knows for a country (empty when it has none). */
export const holidayRegionsOf = (country: string): string[] => Object.keys(holidayLists().getStates(country) ?? {});

const calendarOf = (calendar: BusinessCalendar | string): BusinessCalendar =>
  typeof calendar === 'string' ? { timeZone: calendar, holidayCountry: null, holidayRegion: null, closedDays: [] } : calendar;

/** Whether the local day of `day` is a business day of the calendar. */
const businessDay = (day: DateTime, calendar: BusinessCalendar): boolean => {
  if (isWeekend(day)) return false;
  const date = day.toISODate()!;
  if (calendar.closedDays.includes(date)) return false;
  if (calendar.holidayCountry && publicHolidays(calendar.holidayCountry, calendar.holidayRegion, day.year).has(date)) return false;
  return true;
};

/** Whether `instant` falls on a business day of the calendar (its local day, in the calendar's zone). */
export const isBusinessDay = (instant: string, calendar: BusinessCalendar | string): boolean => {
  const resolved = calendarOf(calendar);
  return businessDay(inZone(instant, resolved.timeZone), resolved);
};

// No program closes for years on end; a calendar that does (a bad closed-day list) must not loop forever.
const MAX_DAYS_SEARCHED = 3660;

/** The start (00:00 local) of the first business day after the local day of `day`. */
const nextBusinessDay = (day: DateTime, calendar: BusinessCalendar): DateTime => {
  let next = day.startOf('day');
  for (let searched = 0; searched < MAX_DAYS_SEARCHED; searched++) {
    next = next.plus({ days: 1 }).startOf('day');
    if (businessDay(next, calendar)) return next;
  }
  throw new Error(`No business day within ${MAX_DAYS_SEARCHED} days after ${day.toISODate()} in this calendar.`);
};

/**
 * The instant `days` whole business days of business time after `instant` (the rule above). A time
 * zone alone stands for a calendar of weekends only.
 */
export const addBusinessDays = (instant: string, days: number, calendar: BusinessCalendar | string): string => {
  const resolved = calendarOf(calendar);
  const local = inZone(instant, resolved.timeZone);
  if (days <= 0) return local.toUTC().toISO()!;
  const startsAtOnce = businessDay(local, resolved);
  // Outside business days the first business day counts whole, from its start.
  let day = startsAtOnce ? local.startOf('day') : nextBusinessDay(local, resolved);
  for (let counted = startsAtOnce ? 0 : 1; counted < days; counted++) day = nextBusinessDay(day, resolved);
  const end = startsAtOnce
    ? // The request's local time of day on that date (built from the date, so a gap on an earlier day cannot shift it).
      DateTime.fromObject(
        { year: day.year, month: day.month, day: day.day, hour: local.hour, minute: local.minute, second: local.second, millisecond: local.millisecond },
        { zone: resolved.timeZone },
      )
    : day.plus({ days: 1 }).startOf('day');
  return end.toUTC().toISO()!;
};

/** The instant `months` calendar months after `instant` (Jan 31 + 1 month = Feb 28/29). */
export const addMonths = (instant: string, months: number, timeZone: string): string =>
  inZone(instant, timeZone).plus({ months }).toUTC().toISO()!;

/** `instant` has been reached at `now` (both ISO-8601). */
export const hasPassed = (instant: string, now: string): boolean => Date.parse(instant) <= Date.parse(now);
