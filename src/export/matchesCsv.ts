import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { DateTime } from 'luxon';
import type { MatchExportRow } from '../../projections/matching/matching.types';
import type { Pseudonyms } from '../audit/pseudonyms';

/**
 * The matches export as CSV (RFC 4180: CRLF line ends, fields quoted when they need it), streamed
 * row by row so a large program never sits in memory. It starts with a UTF-8 byte order mark: the
 * file is opened in spreadsheets, and Excel reads names with accents wrongly without it.
 */

export const MATCHES_CSV_HEADER = ['Mentor', 'Mentor e-mail', 'Mentee', 'Mentee e-mail', 'Program', 'Status', 'Source', 'Matched date', 'Score'] as const;

/**
 * A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before one) as a
 * formula: a name typed as `=HYPERLINK(...)` would run on an admin's machine. Such text gets a
 * leading apostrophe, which spreadsheets show as text (OWASP "CSV injection").
 */
export const neutralizeFormula = (text: string): string => (/^[=+\-@\t\r]/.test(text) ? `'${text}` : text);

/** YYYY-MM-DD of an instant in a time zone. */
export const localDate = (instant: string, timeZone: string): string => {
  const local = DateTime.fromISO(instant, { zone: 'utc' }).setZone(timeZone);
  if (!local.isValid) throw new Error(`Cannot place ${instant} in time zone ${timeZone}: ${local.invalidExplanation ?? local.invalidReason}`);
  return local.toISODate()!;
};

/** One CSV record; the text people typed is neutralized, what the system wrote (statuses, dates, numbers) is not. */
export const matchesCsvRecord = (row: MatchExportRow): string[] => [
  neutralizeFormula(row.mentorName),
  neutralizeFormula(row.mentorEmail),
  neutralizeFormula(row.menteeName),
  neutralizeFormula(row.menteeEmail),
  neutralizeFormula(row.programName),
  row.status,
  row.source,
  localDate(row.matchedAt, row.programTimeZone),
  row.score === null ? '' : String(row.score),
];

/** A row as analysts download it without `personal-data:raw`: names and e-mails as the pseudonyms of whom they name. */
export const pseudonymisedMatchExportRow = (row: MatchExportRow, pseudonyms: Pseudonyms): MatchExportRow => ({
  ...row,
  mentorName: pseudonyms.named(row.mentorName, row.mentorUserId),
  mentorEmail: pseudonyms.named(row.mentorEmail, row.mentorUserId),
  menteeName: pseudonyms.named(row.menteeName, row.menteeUserId),
  menteeEmail: pseudonyms.named(row.menteeEmail, row.menteeUserId),
});

/**
 * Writes the header and one record per row to `output` (an HTTP response), respecting its
 * backpressure, and ends it. Rejects (and destroys `output`) if reading the rows or writing fails.
 */
export const writeMatchesCsv = async (rows: AsyncIterable<MatchExportRow>, output: Writable): Promise<void> => {
  async function* records() {
    for await (const row of rows) yield matchesCsvRecord(row);
  }
  await pipeline(
    Readable.from(records()),
    stringify({ header: true, columns: [...MATCHES_CSV_HEADER], bom: true, record_delimiter: 'windows' }),
    output,
  );
};
