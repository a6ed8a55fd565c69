import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { REGISTRATION_STATUS_LABELS } from '../domain/initiative';
import type { ParticipationDateRow, RegistrationExportRow } from '../../projections/registrations/registrations.queries';
import { localDate, neutralizeFormula } from './matchesCsv';
import type { Pseudonyms } from '../audit/pseudonyms';

/**
 * Seed 003's two exports, as CSV like the matches export (RFC 4180, CRLF, UTF-8 byte order mark,
 * streamed, text people typed neutralized against formula injection):
 * - "Initiatives - Registrations follow-up": every registration, whatever its status;
 * - "Initiatives - Participation dates follow-up": one row per engagement period, and registrations
 *   still in Application / Exchange or Search for a mentee never appear (not even when the manager
 *   sent entered dates back).
 */

export const REGISTRATIONS_EXPORT_TITLE = 'Initiatives - Registrations follow-up';
export const PARTICIPATION_DATES_EXPORT_TITLE = 'Initiatives - Participation dates follow-up';

export const REGISTRATIONS_CSV_HEADER = [
  'Initiative',
  'Company',
  'Volunteer',
  'Volunteer e-mail',
  'Manager',
  'Manager e-mail',
  'Status',
  'Registered date',
  'Validated date',
  'First engagement date',
  'Last engagement date',
  'Confirmed by',
  'Confirmed date',
] as const;

export const PARTICIPATION_DATES_CSV_HEADER = [
  'Initiative',
  'Company',
  'Volunteer',
  'Volunteer e-mail',
  'Manager',
  'Manager e-mail',
  'Status',
  'Start date',
  'End date',
] as const;

const CONFIRMED_BY_LABELS = { VOLUNTEER: 'Volunteer', PARTNER_ORGANIZATION: 'Partner organization' } as const;

const text = (value: string | null): string => (value === null ? '' : neutralizeFormula(value));

export const registrationsCsvRecord = (row: RegistrationExportRow): string[] => [
  text(row.initiativeName),
  text(row.company),
  text(row.volunteerName),
  text(row.volunteerEmail),
  text(row.managerName),
  text(row.managerEmail),
  REGISTRATION_STATUS_LABELS[row.status],
  localDate(row.registeredAt, row.timeZone),
  row.validatedAt === null ? '' : localDate(row.validatedAt, row.timeZone),
  row.firstEngagementDate ?? '',
  row.lastEngagementDate ?? '',
  row.confirmedBy === null ? '' : CONFIRMED_BY_LABELS[row.confirmedBy],
  row.confirmedAt === null ? '' : localDate(row.confirmedAt, row.timeZone),
];

export const participationDatesCsvRecord = (row: ParticipationDateRow): string[] => [
  text(row.initiativeName),
  text(row.company),
  text(row.volunteerName),
  text(row.volunteerEmail),
  text(row.managerName),
  text(row.managerEmail),
  REGISTRATION_STATUS_LABELS[row.status],
  row.startDate,
  row.endDate ?? '',
];

type PersonalColumns = Pick<RegistrationExportRow, 'userId' | 'volunteerName' | 'volunteerEmail' | 'managerName' | 'managerEmail'>;

/**
 * A row of either export as analysts download it without `personal-data:raw`: the volunteer's and the
 * manager's names and e-mails as the pseudonyms of whom they name (a manager: the subject their address
 * would be as a user, as in the log).
 */
export const pseudonymisedRegistrationRow = <Row extends PersonalColumns>(row: Row, pseudonyms: Pseudonyms): Row => ({
  ...row,
  volunteerName: pseudonyms.named(row.volunteerName, row.userId),
  volunteerEmail: pseudonyms.named(row.volunteerEmail, row.userId),
  managerName: pseudonyms.manager(row.managerName, row.managerEmail),
  managerEmail: pseudonyms.manager(row.managerEmail, row.managerEmail),
});

const writeCsv = async <Row>(rows: AsyncIterable<Row>, header: readonly string[], record: (row: Row) => string[], output: Writable) => {
  async function* records() {
    for await (const row of rows) yield record(row);
  }
  await pipeline(Readable.from(records()), stringify({ header: true, columns: [...header], bom: true, record_delimiter: 'windows' }), output);
};

export const writeRegistrationsCsv = (rows: AsyncIterable<RegistrationExportRow>, output: Writable): Promise<void> =>
  writeCsv(rows, REGISTRATIONS_CSV_HEADER, registrationsCsvRecord, output);

export const writeParticipationDatesCsv = (rows: AsyncIterable<ParticipationDateRow>, output: Writable): Promise<void> =>
  writeCsv(rows, PARTICIPATION_DATES_CSV_HEADER, participationDatesCsvRecord, output);
