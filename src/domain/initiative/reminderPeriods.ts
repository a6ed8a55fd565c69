import { DateTime } from 'luxon';

/**
 * The reminders a registration gets: monthly while the volunteer searches for a mentee, quarterly
 * while the engagement is in progress. Each is sent once per period, and a period is the calendar
 * month ("2026-11") or quarter ("2026-Q4") of the initiative's own time zone: 31 October 23:30 in
 * New York is still October there, although it is November in UTC.
 */

export type ReminderKind = 'MONTHLY_SEARCH' | 'QUARTERLY_PROGRESS';
export const REMINDER_KINDS: readonly ReminderKind[] = ['MONTHLY_SEARCH', 'QUARTERLY_PROGRESS'];

export const reminderPeriod = (kind: ReminderKind, instant: string, timeZone: string): string => {
  const local = DateTime.fromISO(instant, { zone: 'utc' }).setZone(timeZone);
  if (!local.isValid) throw new Error(`Cannot place ${instant} in time zone ${timeZone}: ${local.invalidExplanation ?? local.invalidReason}`);
  return kind === 'MONTHLY_SEARCH' ? local.toFormat('yyyy-MM') : `${local.toFormat('yyyy')}-Q${local.quarter}`;
};

/** YYYY-MM-DD that is a real calendar day. */
export const isCalendarDate = (text: string): boolean =>
  /^\d{4}-\d{2}-\d{2}$/.test(text) && DateTime.fromISO(text, { zone: 'utc' }).isValid;
