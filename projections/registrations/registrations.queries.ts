import {
  REGISTRATION_STATUSES,
  STATUSES_WITH_ENGAGEMENT,
  reminderPeriod,
  type ConfirmingParty,
  type EngagementPeriod,
  type MessageParty,
  type RegistrationStatus,
  type ReminderKind,
} from '../../src/domain/initiative';
import { DomainError } from '../../src/domain/shared/decider';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { isoTimestamp } from '../shared/projectionSupport';

/** What the initiatives API, the exports and the reminder scheduler read (seed 003). */

export interface InitiativeView {
  readonly initiativeId: string;
  readonly name: string;
  readonly company: string;
  readonly timeZone: string;
  readonly managerValidationRequired: boolean;
  readonly createdAt: string;
}

export interface RegistrationTaskView {
  readonly taskId: string;
  readonly title: string;
  readonly assignedAt: string;
  readonly completedAt: string | null;
}

export interface ReminderView {
  readonly kind: ReminderKind;
  readonly period: string;
  readonly sentAt: string;
}

export interface RegistrationView {
  readonly registrationId: string;
  readonly initiativeId: string;
  readonly userId: string;
  readonly volunteerName: string;
  readonly volunteerEmail: string;
  readonly managerName: string | null;
  readonly managerEmail: string | null;
  readonly status: RegistrationStatus;
  readonly registeredAt: string;
  readonly validatedAt: string | null;
  readonly datesSetAt: string | null;
  readonly datesApprovedAt: string | null;
  /** The manager's message when they sent the dates back. */
  readonly rejectionMessage: string | null;
  readonly completedAt: string | null;
  readonly confirmedBy: ConfirmingParty | null;
  readonly confirmedAt: string | null;
  /** As last entered, sorted by start (kept when the manager sent them back). */
  readonly engagementPeriods: readonly EngagementPeriod[];
  readonly tasks: readonly RegistrationTaskView[];
  readonly reminders: readonly ReminderView[];
}

export interface RegistrationFilter {
  readonly initiativeId?: string;
  readonly statuses?: readonly RegistrationStatus[];
  readonly userId?: string;
  /** Compared case-insensitively. */
  readonly managerEmail?: string;
}

export interface DueReminder {
  readonly registrationId: string;
  readonly kind: ReminderKind;
  readonly period: string;
}

/** "Initiatives - Registrations follow-up": one row per registration, whatever its status. */
export interface RegistrationExportRow {
  /** The volunteer. */
  readonly userId: string;
  readonly initiativeName: string;
  readonly company: string;
  readonly timeZone: string;
  readonly volunteerName: string;
  readonly volunteerEmail: string;
  readonly managerName: string | null;
  readonly managerEmail: string | null;
  readonly status: RegistrationStatus;
  readonly registeredAt: string;
  readonly validatedAt: string | null;
  /** Only once the dates count (not in APPLICATION or SEARCHING_MENTEE). */
  readonly firstEngagementDate: string | null;
  /** The latest end date; null while the last period is open-ended. */
  readonly lastEngagementDate: string | null;
  readonly confirmedBy: ConfirmingParty | null;
  readonly confirmedAt: string | null;
}

/** "Initiatives - Participation dates follow-up": one row per engagement period of a registration past the search. */
export interface ParticipationDateRow {
  /** The volunteer. */
  readonly userId: string;
  readonly initiativeName: string;
  readonly company: string;
  readonly volunteerName: string;
  readonly volunteerEmail: string;
  readonly managerName: string | null;
  readonly managerEmail: string | null;
  readonly status: RegistrationStatus;
  readonly startDate: string;
  readonly endDate: string | null;
}

/** One message of a registration's conversation (seed 003); `message` is null once the volunteer's data was erased. */
export interface RegistrationMessageView {
  readonly registrationId: string;
  readonly messageId: string;
  /** The volunteer. */
  readonly userId: string;
  readonly from: MessageParty;
  readonly senderId: string;
  readonly message: string | null;
  readonly sentAt: string;
}

export interface InitiativeReadModel {
  /** The registration's conversation, oldest first. */
  messages(registrationId: string, limit?: number): Promise<readonly RegistrationMessageView[]>;
  initiative(initiativeId: string): Promise<InitiativeView | null>;
  initiatives(): Promise<readonly InitiativeView[]>;
  registration(registrationId: string): Promise<RegistrationView | null>;
  /** Oldest registration first. */
  registrations(filter: RegistrationFilter, limit?: number): Promise<readonly RegistrationView[]>;
  /** Reminders due at `now`: each registration's current month (searching) or quarter (in progress) in its initiative's time zone, not yet sent. */
  dueReminders(now: string, limit?: number): Promise<readonly DueReminder[]>;
  registrationsForExport(initiativeId: string | null): AsyncIterable<RegistrationExportRow>;
  participationDatesForExport(initiativeId: string | null): AsyncIterable<ParticipationDateRow>;
}

interface RegistrationRow {
  registration_id: string;
  initiative_id: string;
  user_id: string;
  volunteer_name: string;
  volunteer_email: string;
  manager_name: string | null;
  manager_email: string | null;
  status: RegistrationStatus;
  registered_at: string;
  validated_at: string | null;
  dates_set_at: string | null;
  dates_approved_at: string | null;
  rejection_message: string | null;
  completed_at: string | null;
  confirmed_by: ConfirmingParty | null;
  confirmed_at: string | null;
}

const REGISTRATION_COLUMNS = `r.registration_id, r.initiative_id, r.user_id, r.volunteer_name, r.volunteer_email, r.manager_name,
  r.manager_email, r.status, ${isoTimestamp('r.registered_at')} AS registered_at, ${isoTimestamp('r.validated_at')} AS validated_at,
  ${isoTimestamp('r.dates_set_at')} AS dates_set_at, ${isoTimestamp('r.dates_approved_at')} AS dates_approved_at, r.rejection_message,
  ${isoTimestamp('r.completed_at')} AS completed_at, r.confirmed_by, ${isoTimestamp('r.confirmed_at')} AS confirmed_at`;

const INITIATIVE_COLUMNS = `initiative_id, name, company, time_zone, manager_validation_required, ${isoTimestamp('created_at')} AS created_at`;

interface InitiativeRow {
  initiative_id: string;
  name: string;
  company: string;
  time_zone: string;
  manager_validation_required: boolean;
  created_at: string;
}

const toInitiative = (row: InitiativeRow): InitiativeView => ({
  initiativeId: row.initiative_id,
  name: row.name,
  company: row.company,
  timeZone: row.time_zone,
  managerValidationRequired: row.manager_validation_required,
  createdAt: row.created_at,
});

const EXPORT_BATCH = 500;
const DEFAULT_LIMIT = 500;

const requireStatuses = (statuses: readonly string[]): RegistrationStatus[] => {
  const unknown = statuses.filter((status) => !REGISTRATION_STATUSES.includes(status as RegistrationStatus));
  if (unknown.length > 0) {
    throw new DomainError('VALIDATION_FAILED', `Unknown registration status ${unknown.join(', ')}; use ${REGISTRATION_STATUSES.join(', ')}.`, {
      field: 'statuses',
    });
  }
  return [...statuses] as RegistrationStatus[];
};

export class SqlInitiativeReadModel implements InitiativeReadModel {
  constructor(private readonly db: SqlDatabase) {}

  async initiative(initiativeId: string): Promise<InitiativeView | null> {
    const { rows } = await this.db.query<InitiativeRow>(`SELECT ${INITIATIVE_COLUMNS} FROM rm_initiatives WHERE initiative_id = $1`, [initiativeId]);
    return rows[0] ? toInitiative(rows[0]) : null;
  }

  async initiatives(): Promise<readonly InitiativeView[]> {
    const { rows } = await this.db.query<InitiativeRow>(`SELECT ${INITIATIVE_COLUMNS} FROM rm_initiatives ORDER BY created_at, initiative_id`);
    return rows.map(toInitiative);
  }

  async messages(registrationId: string, limit = DEFAULT_LIMIT): Promise<readonly RegistrationMessageView[]> {
    const { rows } = await this.db.query<{
      registration_id: string;
      message_id: string;
      user_id: string;
      from_party: MessageParty;
      sender_id: string;
      message: string | null;
      sent_at: string;
    }>(
      `SELECT registration_id, message_id, user_id, from_party, sender_id, message, ${isoTimestamp('sent_at')} AS sent_at
         FROM rm_registration_messages WHERE registration_id = $1
        ORDER BY position_major, position_minor LIMIT $2`,
      [registrationId, limit],
    );
    return rows.map((row) => ({
      registrationId: row.registration_id,
      messageId: row.message_id,
      userId: row.user_id,
      from: row.from_party,
      senderId: row.sender_id,
      message: row.message,
      sentAt: row.sent_at,
    }));
  }

  /** The ids of a user's registrations (for erasing their personal data). */
  async registrationIdsOfUser(userId: string): Promise<readonly string[]> {
    const { rows } = await this.db.query<{ registration_id: string }>(
      `SELECT registration_id FROM rm_registrations WHERE user_id = $1 ORDER BY registration_id`,
      [userId],
    );
    return rows.map((row) => row.registration_id);
  }

  async registration(registrationId: string): Promise<RegistrationView | null> {
    return (await this.registrations({}, 1, registrationId))[0] ?? null;
  }

  async registrations(filter: RegistrationFilter, limit = DEFAULT_LIMIT, registrationId?: string): Promise<readonly RegistrationView[]> {
    const values: unknown[] = [];
    const where: string[] = [];
    if (registrationId !== undefined) where.push(`r.registration_id = $${values.push(registrationId)}`);
    if (filter.initiativeId !== undefined) where.push(`r.initiative_id = $${values.push(filter.initiativeId)}`);
    if (filter.statuses !== undefined) where.push(`r.status = ANY($${values.push(requireStatuses(filter.statuses))}::text[])`);
    if (filter.userId !== undefined) where.push(`r.user_id = $${values.push(filter.userId)}`);
    if (filter.managerEmail !== undefined) where.push(`lower(r.manager_email) = lower($${values.push(filter.managerEmail.trim())})`);
    const { rows } = await this.db.query<RegistrationRow>(
      `SELECT ${REGISTRATION_COLUMNS} FROM rm_registrations r
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY r.registered_at, r.registration_id
        LIMIT $${values.push(limit)}`,
      values,
    );
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.registration_id);
    const [periods, tasks, reminders] = await Promise.all([
      this.db.query<{ registration_id: string; start_date: string; end_date: string | null }>(
        `SELECT registration_id, start_date, end_date FROM rm_engagement_periods WHERE registration_id = ANY($1::text[]) ORDER BY registration_id, ordinal`,
        [ids],
      ),
      this.db.query<{ registration_id: string; task_id: string; title: string; assigned_at: string; completed_at: string | null }>(
        `SELECT registration_id, task_id, title, ${isoTimestamp('assigned_at')} AS assigned_at, ${isoTimestamp('completed_at')} AS completed_at
           FROM rm_registration_tasks WHERE registration_id = ANY($1::text[]) ORDER BY assigned_at, task_id`,
        [ids],
      ),
      this.db.query<{ registration_id: string; kind: ReminderKind; period: string; sent_at: string }>(
        `SELECT registration_id, kind, period, ${isoTimestamp('sent_at')} AS sent_at
           FROM rm_registration_reminders WHERE registration_id = ANY($1::text[]) ORDER BY sent_at, kind`,
        [ids],
      ),
    ]);
    const byId = <Row extends { registration_id: string }>(list: Row[]) => {
      const grouped = new Map<string, Row[]>();
      for (const row of list) grouped.set(row.registration_id, [...(grouped.get(row.registration_id) ?? []), row]);
      return grouped;
    };
    const periodsOf = byId(periods.rows);
    const tasksOf = byId(tasks.rows);
    const remindersOf = byId(reminders.rows);
    return rows.map((row) => ({
      registrationId: row.registration_id,
      initiativeId: row.initiative_id,
      userId: row.user_id,
      volunteerName: row.volunteer_name,
      volunteerEmail: row.volunteer_email,
      managerName: row.manager_name,
      managerEmail: row.manager_email,
      status: row.status,
      registeredAt: row.registered_at,
      validatedAt: row.validated_at,
      datesSetAt: row.dates_set_at,
      datesApprovedAt: row.dates_approved_at,
      rejectionMessage: row.rejection_message,
      completedAt: row.completed_at,
      confirmedBy: row.confirmed_by,
      confirmedAt: row.confirmed_at,
      engagementPeriods: (periodsOf.get(row.registration_id) ?? []).map((p) => ({ start: p.start_date, end: p.end_date })),
      tasks: (tasksOf.get(row.registration_id) ?? []).map((t) => ({ taskId: t.task_id, title: t.title, assignedAt: t.assigned_at, completedAt: t.completed_at })),
      reminders: (remindersOf.get(row.registration_id) ?? []).map((r) => ({ kind: r.kind, period: r.period, sentAt: r.sent_at })),
    }));
  }

  async dueReminders(now: string, limit = DEFAULT_LIMIT): Promise<readonly DueReminder[]> {
    // Months and quarters are the initiatives' own: computed here (luxon) per time zone, not in SQL,
    // so that both back ends agree whatever time-zone data the database carries.
    const { rows: initiatives } = await this.db.query<{ initiative_id: string; time_zone: string }>(
      `SELECT i.initiative_id, i.time_zone FROM rm_initiatives i
        WHERE EXISTS (SELECT 1 FROM rm_registrations r WHERE r.initiative_id = i.initiative_id AND r.status IN ('SEARCHING_MENTEE', 'IN_PROGRESS'))`,
    );
    if (initiatives.length === 0) return [];
    const ids = initiatives.map((i) => i.initiative_id);
    const months = initiatives.map((i) => reminderPeriod('MONTHLY_SEARCH', now, i.time_zone));
    const quarters = initiatives.map((i) => reminderPeriod('QUARTERLY_PROGRESS', now, i.time_zone));
    const { rows } = await this.db.query<{ registration_id: string; kind: ReminderKind; period: string }>(
      `WITH current_period AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS p(initiative_id, month, quarter)
       ), due AS (
         SELECT r.registration_id, r.registered_at,
                CASE r.status WHEN 'SEARCHING_MENTEE' THEN 'MONTHLY_SEARCH' ELSE 'QUARTERLY_PROGRESS' END AS kind,
                CASE r.status WHEN 'SEARCHING_MENTEE' THEN p.month ELSE p.quarter END AS period
           FROM rm_registrations r JOIN current_period p ON p.initiative_id = r.initiative_id
          WHERE r.status IN ('SEARCHING_MENTEE', 'IN_PROGRESS')
       )
       SELECT d.registration_id, d.kind, d.period FROM due d
        WHERE NOT EXISTS (SELECT 1 FROM rm_registration_reminders s
                           WHERE s.registration_id = d.registration_id AND s.kind = d.kind AND s.period = d.period)
        ORDER BY d.registered_at, d.registration_id
        LIMIT $4`,
      [ids, months, quarters, limit],
    );
    return rows.map((row) => ({ registrationId: row.registration_id, kind: row.kind, period: row.period }));
  }

  async *registrationsForExport(initiativeId: string | null): AsyncGenerator<RegistrationExportRow> {
    let after: { registeredAt: string; registrationId: string } | null = null;
    for (;;) {
      const values: unknown[] = [initiativeId, STATUSES_WITH_ENGAGEMENT];
      const keyset: string = after
        ? `AND (r.registered_at, r.registration_id) > ($${values.push(after.registeredAt)}::timestamptz, $${values.push(after.registrationId)}::text)`
        : '';
      const { rows }: { rows: (RegistrationRow & InitiativeNameRow & { first_date: string | null; last_date: string | null; open_ended: boolean })[] } =
        await this.db.query(
          `SELECT ${REGISTRATION_COLUMNS}, i.name AS initiative_name, i.company, i.time_zone,
                  dates.first_date, dates.last_date, COALESCE(dates.open_ended, false) AS open_ended
             FROM rm_registrations r
             JOIN rm_initiatives i ON i.initiative_id = r.initiative_id
             LEFT JOIN LATERAL (
               SELECT min(p.start_date) AS first_date, max(p.end_date) AS last_date, bool_or(p.end_date IS NULL) AS open_ended
                 FROM rm_engagement_periods p
                WHERE p.registration_id = r.registration_id AND r.status = ANY($2::text[])
             ) dates ON true
            WHERE ($1::text IS NULL OR r.initiative_id = $1) ${keyset}
            ORDER BY r.registered_at, r.registration_id
            LIMIT $${values.push(EXPORT_BATCH)}`,
          values,
        );
      for (const row of rows) {
        yield {
          userId: row.user_id,
          initiativeName: row.initiative_name,
          company: row.company,
          timeZone: row.time_zone,
          volunteerName: row.volunteer_name,
          volunteerEmail: row.volunteer_email,
          managerName: row.manager_name,
          managerEmail: row.manager_email,
          status: row.status,
          registeredAt: row.registered_at,
          validatedAt: row.validated_at,
          firstEngagementDate: row.first_date,
          lastEngagementDate: row.open_ended ? null : row.last_date,
          confirmedBy: row.confirmed_by,
          confirmedAt: row.confirmed_at,
        };
      }
      if (rows.length < EXPORT_BATCH) return;
      const last = rows.at(-1)!;
      after = { registeredAt: last.registered_at, registrationId: last.registration_id };
    }
  }

  async *participationDatesForExport(initiativeId: string | null): AsyncGenerator<ParticipationDateRow> {
    let after: { registeredAt: string; registrationId: string; ordinal: number } | null = null;
    for (;;) {
      const values: unknown[] = [initiativeId, STATUSES_WITH_ENGAGEMENT];
      const keyset: string = after
        ? `AND (r.registered_at, r.registration_id, p.ordinal) > ($${values.push(after.registeredAt)}::timestamptz, $${values.push(after.registrationId)}::text, $${values.push(after.ordinal)}::integer)`
        : '';
      const { rows }: { rows: (RegistrationRow & InitiativeNameRow & { ordinal: number; start_date: string; end_date: string | null })[] } =
        await this.db.query(
          `SELECT ${REGISTRATION_COLUMNS}, i.name AS initiative_name, i.company, i.time_zone, p.ordinal, p.start_date, p.end_date
             FROM rm_registrations r
             JOIN rm_initiatives i ON i.initiative_id = r.initiative_id
             JOIN rm_engagement_periods p ON p.registration_id = r.registration_id
            WHERE ($1::text IS NULL OR r.initiative_id = $1) AND r.status = ANY($2::text[]) ${keyset}
            ORDER BY r.registered_at, r.registration_id, p.ordinal
            LIMIT $${values.push(EXPORT_BATCH)}`,
          values,
        );
      for (const row of rows) {
        yield {
          userId: row.user_id,
          initiativeName: row.initiative_name,
          company: row.company,
          volunteerName: row.volunteer_name,
          volunteerEmail: row.volunteer_email,
          managerName: row.manager_name,
          managerEmail: row.manager_email,
          status: row.status,
          startDate: row.start_date,
          endDate: row.end_date,
        };
      }
      if (rows.length < EXPORT_BATCH) return;
      const last = rows.at(-1)!;
      after = { registeredAt: last.registered_at, registrationId: last.registration_id, ordinal: Number(last.ordinal) };
    }
  }
}

interface InitiativeNameRow {
  initiative_name: string;
  company: string;
  time_zone: string;
}
