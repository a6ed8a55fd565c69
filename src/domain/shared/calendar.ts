import { DateTime } from 'luxon';

/**
 * Dates the matching rules count in a program's own time zone: request expiry in business days
 * (Monday to Friday; public holidays are not known), match duration in calendar months. Both keep
 * the local time of day across daylight-saving changes. Instants are ISO-8601 strings in UTC.
 */

const inZone = (instant: string, timeZone: string): DateTime => {
  const local = DateTime.fromISO(instant, { zone: 'utc' }).setZone(timeZone);
  if (!local.isValid) throw new Error(`Cannot place ${instant} in time zone ${timeZone}: ${local.invalidExplanation ?? local.invalidReason}`);
  return local;
};

const isWeekend = (day: DateTime): boolean => day.weekday === 6 || day.weekday === 7;

/**
 * The instant `days` business days after `instant`: the same local time on the `days`-th weekday
 * after the local day of `instant`. A request made on Thursday 10:00 with 3 business days expires on
 * Tuesday 10:00; one made on Saturday expires on Wednesday at that time of day.
 */
export const addBusinessDays = (instant: string, days: number, timeZone: string): string => {
  let day = inZone(instant, timeZone);
  for (let counted = 0; counted < days; ) {
    day = day.plus({ days: 1 });
    if (!isWeekend(day)) counted++;
  }
  return day.toUTC().toISO()!;
};

/** The instant `months` calendar months after `instant` (Jan 31 + 1 month = Feb 28/29). */
export const addMonths = (instant: string, months: number, timeZone: string): string =>
  inZone(instant, timeZone).plus({ months }).toUTC().toISO()!;

/** `instant` has been reached at `now` (both ISO-8601). */
export const hasPassed = (instant: string, now: string): boolean => Date.parse(instant) <= Date.parse(now);
