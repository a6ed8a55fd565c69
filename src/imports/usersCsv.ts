import { DomainError } from '../domain/shared/decider';
import type { BulkRegistrationRow } from '../application/bulkRegistration';

/**
 * The CSV file of `POST /imports/users.csv`: RFC 4180 (comma-separated, fields with commas, quotes
 * or line breaks in double quotes, `""` for a quote), UTF-8 with or without a BOM, CRLF or LF.
 * The first record names the columns, in any order and case:
 *
 *   email, name, role (MENTOR or MENTEE), company, manager_name, manager_email
 *
 * email, name and role are required; an unknown column is refused (a misspelt "compnay" would
 * otherwise lose data silently). Each data record's row number is its record's number with the
 * header as 1, which is the row a spreadsheet shows when no field spans lines.
 */

export const USERS_CSV_COLUMNS = ['email', 'name', 'role', 'company', 'manager_name', 'manager_email'] as const;
type Column = (typeof USERS_CSV_COLUMNS)[number];
const REQUIRED: readonly Column[] = ['email', 'name', 'role'];

/** `managerName`, `Manager Name`, `manager-name` all read as manager_name. */
const columnKey = (header: string): string => header.trim().replace(/([a-z])([A-Z])/g, '$1_$2').replace(/[\s-]+/g, '_').toLowerCase();

export interface CsvRecord {
  /** The line of the file the record starts on, from 1. */
  readonly line: number;
  readonly fields: string[];
}

/** The records of a CSV text (blank lines are none); throws VALIDATION_FAILED on a quote left open. */
export const parseCsvRecords = (text: string): CsvRecord[] => {
  const records: CsvRecord[] = [];
  let recordLine = 1;
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let quoteOpenedOnLine = 0;
  const endRecord = () => {
    record.push(field);
    // A blank line is no record.
    if (!(record.length === 1 && record[0] === '' && !fieldStarted)) records.push({ line: recordLine, fields: record });
    record = [];
    field = '';
    fieldStarted = false;
  };
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      fieldStarted = true;
      quoteOpenedOnLine = line;
    } else if (c === ',') {
      record.push(field);
      field = '';
      fieldStarted = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      line++;
      endRecord();
      recordLine = line;
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (quoted) {
    throw new DomainError('VALIDATION_FAILED', `The quote opened on line ${quoteOpenedOnLine} is never closed; nothing was imported.`, { field: 'file', line: quoteOpenedOnLine });
  }
  if (field !== '' || fieldStarted || record.length > 0) endRecord();
  return records;
};

/** The rows of a users CSV file; throws VALIDATION_FAILED (nothing registered) when the file itself is wrong. */
export const parseUsersCsv = (text: string): BulkRegistrationRow[] => {
  if (text.includes('\u0000')) {
    throw new DomainError('VALIDATION_FAILED', 'The file contains NUL characters: it is not a text CSV file. Export it as CSV (UTF-8) and try again.', { field: 'file' });
  }
  const records = parseCsvRecords(text);
  if (records.length === 0) {
    throw new DomainError('VALIDATION_FAILED', `The file is empty: the first line must name the columns (${USERS_CSV_COLUMNS.join(',')}).`, { field: 'file' });
  }
  const header = records[0]!.fields.map(columnKey);
  const unknown = header.filter((name) => !(USERS_CSV_COLUMNS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `Unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n.slice(0, 40)}"`).join(', ')} in the first line; the columns are ${USERS_CSV_COLUMNS.join(', ')}.`,
      { field: 'file', unknown },
    );
  }
  const missing = REQUIRED.filter((name) => !header.includes(name));
  if (missing.length > 0) {
    throw new DomainError('VALIDATION_FAILED', `The first line must name the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`, {
      field: 'file',
      missing,
    });
  }
  const repeated = header.filter((name, index) => header.indexOf(name) !== index);
  if (repeated.length > 0) {
    throw new DomainError('VALIDATION_FAILED', `The column ${repeated[0]} appears twice in the first line.`, { field: 'file' });
  }
  const at = (record: readonly string[], column: Column): string | null => {
    const index = header.indexOf(column);
    return index < 0 ? null : (record[index] ?? null);
  };
  return records.slice(1).map(({ line, fields: record }) => ({
    row: line,
    email: at(record, 'email') ?? '',
    name: at(record, 'name') ?? '',
    role: at(record, 'role') ?? '',
    company: at(record, 'company'),
    managerName: at(record, 'manager_name'),
    managerEmail: at(record, 'manager_email'),
  }));
};
