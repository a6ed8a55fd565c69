import { stringify } from 'csv-stringify/sync';
import { neutralizeFormula } from '../export/matchesCsv';
import { MANAGER_REPORT_ROLE_LABELS, MANAGER_REPORT_STATUS_LABELS, type ManagerReportRow } from '../../projections/managerReport/managerReport.queries';
import type { ManagerReportLine } from '../domain/report/managerReport';
import { PSEUDONYMISED, type Pseudonyms } from '../audit/pseudonyms';

/** A row as analysts read it without `personal-data:raw`: the mentor by pseudonym, their company left out (the mentee is "Mentee" for everyone). */
export const pseudonymisedManagerReportRow = (row: ManagerReportRow, pseudonyms: Pseudonyms): ManagerReportRow => ({
  ...row,
  mentorName: pseudonyms.named(row.mentorName, row.mentorUserId),
  mentorEmail: pseudonyms.named(row.mentorEmail, row.mentorUserId),
  company: row.company === '' ? row.company : PSEUDONYMISED,
});

/**
 * The seed-004 columns, in its order, then the employee's role: the report lists employees taking
 * part as mentors or as mentees, and on a Mentee row the Mentor Name and Mentor Email columns are
 * the employee's own.
 */
export const MANAGER_REPORT_HEADER = [
  'Matching Status',
  'Upcoming Meetings',
  'Completed Meetings',
  'Program',
  'Current Company/Organization',
  'Mentor Name',
  'Mentor Email',
  'Registered (MM-DD-YYYY)',
  'Mentee Name',
  'Match Date',
  'Role',
] as const;

/** The CSV of a report as it was issued (the lines recorded in `ManagerReportIssued`). */
export const managerReportCsvOf = (lines: readonly ManagerReportLine[]): string =>
  stringify(
    [
      [...MANAGER_REPORT_HEADER],
      ...lines.map((line) =>
        [
          line.matchingStatus,
          String(line.upcomingMeetings),
          String(line.completedMeetings),
          line.program,
          line.company,
          line.mentorName,
          line.mentorEmail,
          line.registered,
          line.menteeName,
          line.matchDate,
          line.role ?? 'Mentor',
        ].map(neutralizeFormula),
      ),
    ],
    { record_delimiter: '\r\n' },
  );

export const managerReportCsv = (rows: readonly ManagerReportRow[]): string =>
  stringify(
    [
      [...MANAGER_REPORT_HEADER],
      ...rows.map((row) =>
        [
          MANAGER_REPORT_STATUS_LABELS[row.status],
          String(row.upcomingMeetings),
          String(row.completedMeetings),
          row.program,
          row.company,
          row.mentorName,
          row.mentorEmail,
          row.registered,
          row.menteeName,
          row.matchDate,
          MANAGER_REPORT_ROLE_LABELS[row.role],
        ].map(neutralizeFormula),
      ),
    ],
    { record_delimiter: '\r\n' },
  );
