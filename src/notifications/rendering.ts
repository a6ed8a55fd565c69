import { DateTime } from 'luxon';
import {
  DEFAULT_TEMPLATES,
  renderTemplate,
  type NotificationKind,
  type NotificationTemplate,
} from '../domain/notification/templates';

/**
 * How a notification's text is made: the program's template for the kind (or the default), filled
 * with values the projection gathered, dates shown in the program's own time zone.
 */

/** A program's replacements of the defaults, by kind (what `NotificationTemplateSet` left in force). */
export type ProgramTemplates = Partial<Record<NotificationKind, NotificationTemplate>>;

export interface RenderedNotification {
  readonly subject: string;
  readonly body: string;
}

export const templateFor = (kind: NotificationKind, templates: ProgramTemplates): NotificationTemplate =>
  templates[kind] ?? DEFAULT_TEMPLATES[kind];

export const renderNotification = (
  kind: NotificationKind,
  templates: ProgramTemplates,
  values: Readonly<Record<string, string>>,
): RenderedNotification => {
  const template = templateFor(kind, templates);
  // A value can never break the subject onto a second header line.
  const subject = renderTemplate(template.subject, values).replace(/[\r\n]+/g, ' ').trim();
  return { subject, body: renderTemplate(template.body, values) };
};

/**
 * An instant as a person in the program reads it: "Tuesday, November 24, 2026 at 10:00 AM EST".
 * English, as the default templates are; a time zone the runtime does not know falls back to UTC
 * rather than losing the e-mail.
 */
export const humanDateTime = (instant: string, timeZone: string): string => {
  const utc = DateTime.fromISO(instant, { zone: 'utc' });
  if (!utc.isValid) return instant;
  const local = utc.setZone(timeZone);
  return (local.isValid ? local : utc).setLocale('en-US').toFormat("cccc, LLLL d, yyyy 'at' h:mm a ZZZZ");
};

/**
 * A volunteer's engagement periods as the quarterly reminder lists them, one a line:
 * "- November 2, 2026 to December 18, 2026" or "- from January 4, 2027 (ongoing)".
 */
export const engagementDatesSummary = (periods: readonly { readonly start: string; readonly end: string | null }[]): string => {
  const day = (date: string) => {
    const parsed = DateTime.fromISO(date, { zone: 'utc' });
    return parsed.isValid ? parsed.setLocale('en-US').toFormat('LLLL d, yyyy') : date;
  };
  if (periods.length === 0) return '- (none entered)';
  return periods.map((p) => (p.end === null ? `- from ${day(p.start)} (ongoing)` : `- ${day(p.start)} to ${day(p.end)}`)).join('\n');
};
