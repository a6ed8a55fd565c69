import { isEmail } from '../graphql/validators';
import { normalizeEmail, programDecider, programStream, type ParticipantRole } from '../domain';
import { DomainError, fold } from '../domain/shared/decider';
import type { EventStore, GlobalPosition } from '../eventstore/eventStore';
import { comparePositions } from '../eventstore/eventStore';
import type { CommandContext } from '../commands/pipeline';
import type { LifecycleCommands } from './lifecycleCommands';

/**
 * Many registrations in one call (a program's start-up: 2,000 employees), from the GraphQL mutation
 * `registerUsers` or the CSV upload `POST /imports/users.csv`. Each row is one `registerUser`
 * command, so each person's events, the address's reservation stream and the personal data split
 * are exactly those of a single registration; a row never touches another row's streams.
 *
 * Idempotent on re-upload without any bookkeeping of its own: an address already held (by an earlier
 * upload of the same file, or anyone) is refused by its reservation stream with ALREADY_EXISTS, which
 * is reported as ALREADY_REGISTERED with the holder's id. An upload cut in the middle is finished by
 * uploading the same file again.
 */

/** One person as the caller sent them (strings as typed: validated here, row by row). */
export interface BulkRegistrationRow {
  /** The row's number as the caller counts it: the CSV's line of record (header = 1), the list's position from 1. */
  readonly row: number;
  readonly email: string;
  readonly name: string;
  readonly role: string;
  readonly company?: string | null;
  readonly managerName?: string | null;
  readonly managerEmail?: string | null;
}

export type BulkRowStatus = 'CREATED' | 'ALREADY_REGISTERED' | 'REFUSED';

export interface BulkRowResult {
  readonly row: number;
  readonly status: BulkRowStatus;
  /** The new user, or the user who already holds the address; null when refused. */
  readonly userId: string | null;
  /** Why the row was refused: a stable code and a sentence; null otherwise. */
  readonly error: { readonly code: string; readonly message: string; readonly field: string | null } | null;
  /** Where the row's events landed (CREATED only). */
  readonly position: GlobalPosition | null;
}

export interface BulkRegistrationSummary {
  readonly total: number;
  readonly created: number;
  readonly alreadyRegistered: number;
  readonly refused: number;
  /** The highest position written (for X-Consistent-With), null when nothing was. */
  readonly position: GlobalPosition | null;
}

export interface BulkRegistrationLimits {
  /** Most rows one call may carry (the same on every door: GraphQL over HTTP or WebSocket, CSV upload). */
  readonly maxRows: number;
  /** Rows registered at once; each is its own small transaction. */
  readonly concurrency: number;
}

const ROLES: readonly ParticipantRole[] = ['MENTOR', 'MENTEE'];
const MAX_NAME = 200;
const MAX_EMAIL = 320;

type Valid = {
  readonly email: string;
  readonly name: string;
  readonly role: ParticipantRole;
  readonly company: string | null;
  readonly manager: { readonly name: string; readonly email: string } | null;
};

const blank = (value: string | null | undefined): boolean => value === undefined || value === null || value.trim() === '';

/** One row's own checks (no store involved): the same rules as `registerUser`'s input. */
export const validateRow = (row: BulkRegistrationRow): Valid | { code: string; message: string; field: string } => {
  const email = (row.email ?? '').trim();
  const name = (row.name ?? '').trim();
  const role = (row.role ?? '').trim().toUpperCase();
  if (email === '') return { code: 'VALIDATION_FAILED', message: `Row ${row.row} has no e-mail address.`, field: 'email' };
  if (email.length > MAX_EMAIL || !isEmail(email)) {
    return { code: 'VALIDATION_FAILED', message: `Row ${row.row}: "${email.slice(0, 80)}" is not an e-mail address.`, field: 'email' };
  }
  if (name === '') return { code: 'VALIDATION_FAILED', message: `Row ${row.row} has no name.`, field: 'name' };
  if (name.length > MAX_NAME) return { code: 'VALIDATION_FAILED', message: `Row ${row.row}: the name is longer than ${MAX_NAME} characters.`, field: 'name' };
  if (!ROLES.includes(role as ParticipantRole)) {
    return { code: 'VALIDATION_FAILED', message: `Row ${row.row}: role must be MENTOR or MENTEE (got "${(row.role ?? '').slice(0, 40)}").`, field: 'role' };
  }
  const company = blank(row.company) ? null : row.company!.trim();
  if (company !== null && company.length > MAX_NAME) {
    return { code: 'VALIDATION_FAILED', message: `Row ${row.row}: the company is longer than ${MAX_NAME} characters.`, field: 'company' };
  }
  let manager: Valid['manager'] = null;
  if (!blank(row.managerName) || !blank(row.managerEmail)) {
    if (blank(row.managerName) || blank(row.managerEmail)) {
      return {
        code: 'VALIDATION_FAILED',
        message: `Row ${row.row}: give the manager's name and e-mail together, or neither.`,
        field: blank(row.managerName) ? 'managerName' : 'managerEmail',
      };
    }
    const managerEmail = row.managerEmail!.trim();
    if (managerEmail.length > MAX_EMAIL || !isEmail(managerEmail)) {
      return { code: 'VALIDATION_FAILED', message: `Row ${row.row}: the manager's e-mail "${managerEmail.slice(0, 80)}" is not an e-mail address.`, field: 'managerEmail' };
    }
    const managerName = row.managerName!.trim();
    if (managerName.length > MAX_NAME) {
      return { code: 'VALIDATION_FAILED', message: `Row ${row.row}: the manager's name is longer than ${MAX_NAME} characters.`, field: 'managerName' };
    }
    manager = { name: managerName, email: managerEmail };
  }
  return { email, name, role: role as ParticipantRole, company, manager };
};

const refusedRow = (row: number, code: string, message: string, field: string | null = null): BulkRowResult => ({
  row,
  status: 'REFUSED',
  userId: null,
  error: { code, message, field },
  position: null,
});

export class BulkRegistration {
  constructor(
    private readonly commands: Pick<LifecycleCommands, 'registerUser'>,
    private readonly store: Pick<EventStore, 'readStream'>,
    readonly limits: BulkRegistrationLimits,
  ) {}

  /**
   * Refuses the whole call (DomainError, nothing written) when it cannot start: too many rows, or
   * no such program. Otherwise registers every valid row, `concurrency` at a time, telling
   * `onResult` of each row as it is decided (in completion order), and answers with the counts.
   */
  async register(
    context: CommandContext,
    programId: string,
    rows: readonly BulkRegistrationRow[],
    onResult: (result: BulkRowResult) => void | Promise<void> = () => undefined,
  ): Promise<BulkRegistrationSummary> {
    this.checkSize(rows.length);
    await this.checkProgram(programId);
    let created = 0;
    let alreadyRegistered = 0;
    let refused = 0;
    let position: GlobalPosition | null = null;
    const report = async (result: BulkRowResult) => {
      if (result.status === 'CREATED') created += 1;
      else if (result.status === 'ALREADY_REGISTERED') alreadyRegistered += 1;
      else refused += 1;
      if (result.position && (position === null || comparePositions(result.position, position) > 0)) position = result.position;
      await onResult(result);
    };

    // In-file checks first, so a row's fate does not depend on which of two copies ran first.
    const firstRowOf = new Map<string, number>();
    const work: { row: number; valid: Valid }[] = [];
    for (const row of rows) {
      const valid = validateRow(row);
      if ('code' in valid) {
        await report(refusedRow(row.row, valid.code, valid.message, valid.field));
        continue;
      }
      const address = normalizeEmail(valid.email);
      const earlier = firstRowOf.get(address);
      if (earlier !== undefined) {
        await report(refusedRow(row.row, 'VALIDATION_FAILED', `Row ${row.row} repeats the e-mail address of row ${earlier}; list each person once.`, 'email'));
        continue;
      }
      firstRowOf.set(address, row.row);
      work.push({ row: row.row, valid });
    }

    let next = 0;
    const worker = async () => {
      while (next < work.length) {
        const item = work[next++]!;
        await report(await this.registerOne(context, programId, item.row, item.valid));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.limits.concurrency, work.length)) }, worker));
    return { total: rows.length, created, alreadyRegistered, refused, position };
  }

  /** Throws what `register` would refuse the whole call with, before anything is written. */
  async check(programId: string, count: number): Promise<void> {
    this.checkSize(count);
    await this.checkProgram(programId);
  }

  private checkSize(count: number): void {
    if (count === 0) throw new DomainError('VALIDATION_FAILED', 'There is nobody to register: send at least one row.', { field: 'rows' });
    if (count > this.limits.maxRows) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `One import may register at most ${this.limits.maxRows} people; this one has ${count} rows. Split it into several files.`,
        { field: 'rows', maxRows: this.limits.maxRows, rows: count },
      );
    }
  }

  private async checkProgram(programId: string): Promise<void> {
    const program = fold(programDecider, (await this.store.readStream(programStream(programId))).events as never[]);
    if (program.status !== 'CREATED') {
      throw new DomainError('NOT_FOUND', `There is no program ${programId}; nobody was registered.`, { field: 'programId', programId });
    }
  }

  private async registerOne(context: CommandContext, programId: string, row: number, valid: Valid): Promise<BulkRowResult> {
    const rowContext: CommandContext = {
      ...context,
      ...(context.idempotencyKey !== undefined ? { idempotencyKey: `${context.idempotencyKey}:row-${row}` } : {}),
    };
    try {
      const { userId, outcome } = await this.commands.registerUser(rowContext, { programId, ...valid });
      if (outcome.duplicate) return { row, status: 'ALREADY_REGISTERED', userId, error: null, position: null };
      return { row, status: 'CREATED', userId, error: null, position: outcome.position };
    } catch (error) {
      if (error instanceof DomainError) {
        if (error.code === 'ALREADY_EXISTS' && typeof error.details.userId === 'string') {
          return { row, status: 'ALREADY_REGISTERED', userId: error.details.userId, error: null, position: null };
        }
        const field = typeof error.details.field === 'string' ? error.details.field : null;
        return refusedRow(row, error.code, `Row ${row}: ${error.message}`, field);
      }
      throw error;
    }
  }
}
