import type { ManagerReportIssued } from '../src/domain/report/managerReport';
import { managerReportCsvOf } from '../src/reports/managerReportCsv';
import { assertNever } from '../src/domain/shared/decider';
import type {
  MatchActivated,
  MatchRequestDeclined,
  MatchRequestExpired,
  MatchRequested,
  MenteeInvitedToMatch,
  NotificationKind,
  NotificationTemplateSet,
  ProgramCreated,
  UserRegistered,
} from '../src/domain';
import type { InitiativeCreated, RegistrationReminderSent } from '../src/domain/initiative';
import { userIdOfPersona } from '../src/domain/user/userId';
import type { RecordedEvent } from '../src/eventstore/eventStore';
import { engagementDatesSummary, humanDateTime, renderNotification, type ProgramTemplates } from '../src/notifications/rendering';
import { projection } from '../src/projections/projection';
import type { SqlExecutor } from '../src/sql/sqlDatabase';
import { LAST_POSITION_COLUMNS, asDomainEvent, jsonParam, notYetApplied, positionParams } from './shared';

/**
 * The notification outbox: one row per e-mail to send, written in the same transaction as the
 * projection's checkpoint, so every notifying event yields its rows exactly once; the worker
 * (`src/notifications/worker.ts`) sends them.
 *
 * Contacts and programs are copied into tables of this projection's own, so that it never depends on
 * how far another projection has got. The text is rendered here, with the template in force when the
 * event happened; a template changed later does not rewrite e-mails already due.
 */
export const NOTIFICATION_OUTBOX_TABLE = 'notification_outbox';

export const NOTIFICATIONS_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS notification_contacts (
  user_id text PRIMARY KEY,
  email text NOT NULL,
  name text NOT NULL
);
CREATE TABLE IF NOT EXISTS notification_programs (
  program_id text PRIMARY KEY,
  name text NOT NULL,
  time_zone text NOT NULL,
  templates jsonb NOT NULL DEFAULT '{}'::jsonb,${LAST_POSITION_COLUMNS}
);
CREATE TABLE IF NOT EXISTS notification_outbox (
  id text PRIMARY KEY,
  event_id text NOT NULL,
  event_type text NOT NULL,
  -- The event's place in the log: rows of one instant are listed and sent in log order.
  event_position_major numeric(20) NOT NULL,
  event_position_minor numeric(20) NOT NULL,
  kind text NOT NULL,
  program_id text NOT NULL,
  recipient_role text NOT NULL CHECK (recipient_role IN ('MENTOR', 'MENTEE')),
  recipient_user_id text NOT NULL,
  to_address text,
  to_name text NOT NULL,
  subject text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL,
  state text NOT NULL CHECK (state IN ('PENDING', 'SENDING', 'SENT', 'FAILED')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  claimed_until timestamptz,
  claimed_by text,
  last_error text,
  sent_at timestamptz,
  message_id text,
  smtp_response text
);
-- Added with the manager report: managers receive e-mail (with the report attached) but are not users.
ALTER TABLE notification_outbox ADD COLUMN IF NOT EXISTS attachments jsonb;
ALTER TABLE notification_outbox DROP CONSTRAINT IF EXISTS notification_outbox_recipient_role_check;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_recipient_role_check CHECK (recipient_role IN ('MENTOR', 'MENTEE', 'MANAGER'));
CREATE INDEX IF NOT EXISTS notification_outbox_pending ON notification_outbox (next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX IF NOT EXISTS notification_outbox_sending ON notification_outbox (claimed_until) WHERE state = 'SENDING';
CREATE INDEX IF NOT EXISTS notification_outbox_newest ON notification_outbox (created_at DESC, event_position_major DESC, event_position_minor DESC);
CREATE INDEX IF NOT EXISTS notification_outbox_by_program ON notification_outbox (program_id, created_at DESC);
CREATE INDEX IF NOT EXISTS notification_outbox_by_recipient ON notification_outbox (recipient_user_id, created_at DESC);
`;

export type NotificationSourceEvent =
  | UserRegistered
  | ProgramCreated
  | NotificationTemplateSet
  | MenteeInvitedToMatch
  | MatchRequested
  | MatchRequestDeclined
  | MatchRequestExpired
  | MatchActivated
  | InitiativeCreated
  | RegistrationReminderSent
  | ManagerReportIssued;

type Side = 'MENTOR' | 'MENTEE';

interface Contact {
  readonly userId: string;
  readonly email: string | null;
  readonly name: string;
}

interface ProgramInfo {
  readonly name: string;
  readonly timeZone: string;
  readonly templates: ProgramTemplates;
}

/** One e-mail an event asks for; `values` are the kind's placeholders beyond the common two. */
interface Notice {
  readonly kind: NotificationKind;
  readonly side: Side;
  readonly recipient: Contact;
  readonly values: Readonly<Record<string, string>>;
}

const NO_MESSAGE = '(none)';

const loadProgram = async (tx: SqlExecutor, programId: string): Promise<ProgramInfo> => {
  const { rows } = await tx.query<{ name: string; time_zone: string; templates: ProgramTemplates | string }>(
    `SELECT name, time_zone, templates FROM notification_programs WHERE program_id = $1`,
    [programId],
  );
  const row = rows[0];
  // Events of a program always follow its ProgramCreated; this only guards against a damaged log.
  if (!row) return { name: programId, timeZone: 'UTC', templates: {} };
  const templates = typeof row.templates === 'string' ? (JSON.parse(row.templates) as ProgramTemplates) : row.templates;
  return { name: row.name, timeZone: row.time_zone, templates };
};

const loadContacts = async (tx: SqlExecutor, ...userIds: string[]): Promise<Contact[]> => {
  const { rows } = await tx.query<{ user_id: string; email: string; name: string }>(
    `SELECT user_id, email, name FROM notification_contacts WHERE user_id = ANY($1::text[])`,
    [userIds],
  );
  const byId = new Map(rows.map((row) => [row.user_id, row]));
  return userIds.map((userId) => {
    const row = byId.get(userId);
    return row ? { userId, email: row.email, name: row.name } : { userId, email: null, name: '(unknown participant)' };
  });
};

const enqueue = async (tx: SqlExecutor, recorded: RecordedEvent, programId: string, program: ProgramInfo, notices: readonly Notice[]) => {
  for (const notice of notices) {
    const { subject, body } = renderNotification(notice.kind, program.templates, {
      ...notice.values,
      programName: program.name,
      recipientName: notice.recipient.name,
    });
    const address = notice.recipient.email;
    // Kept, but never sent: the outbox shows that this e-mail could not go out and why.
    const unsendable = address === null ? `No e-mail address is known for user ${notice.recipient.userId}; nothing was sent.` : null;
    await tx.query(
      `INSERT INTO notification_outbox (id, event_id, event_type, event_position_major, event_position_minor, kind, program_id,
                                        recipient_role, recipient_user_id, to_address, to_name, subject, body, created_at,
                                        state, last_error)
       VALUES ($1, $2, $3, $4::numeric, $5::numeric, $6, $7, $8, $9, $10, $11, $12, $13, $14::timestamptz, $15, $16)
       ON CONFLICT (id) DO NOTHING`,
      [
        `${recorded.id}:${notice.side}`,
        recorded.id,
        recorded.type,
        ...positionParams(recorded),
        notice.kind,
        programId,
        notice.side,
        notice.recipient.userId,
        address,
        notice.recipient.name,
        subject,
        body,
        recorded.metadata.occurredAt,
        unsendable ? 'FAILED' : 'PENDING',
        unsendable,
      ],
    );
  }
};

const sideName = (side: Side, mentor: Contact, mentee: Contact): string => (side === 'MENTOR' ? mentor.name : mentee.name);

export const notificationsProjection = projection<NotificationSourceEvent>({
  name: 'notifications',
  handles: [
    'ManagerReportIssued',
    'UserRegistered',
    'ProgramCreated',
    'NotificationTemplateSet',
    'MenteeInvitedToMatch',
    'MatchRequested',
    'MatchRequestDeclined',
    'MatchRequestExpired',
    'MatchActivated',
    'InitiativeCreated',
    'RegistrationReminderSent',
  ],
  schema: NOTIFICATIONS_SCHEMA,
  // Never the outbox: a rebuild replays the whole log, and an emptied outbox would send every
  // e-mail of the program's history again. Its rows are keyed by event id, so the replay finds
  // them already there and adds nothing.
  tables: ['notification_contacts', 'notification_programs'],
  apply: async (tx, recorded) => {
    const event = asDomainEvent(recorded);
    switch (event.type) {
      case 'UserRegistered':
        await tx.query(
          `INSERT INTO notification_contacts (user_id, email, name) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING`,
          [event.data.userId, event.data.email, event.data.name],
        );
        return;
      case 'ProgramCreated': {
        const [major, minor] = positionParams(recorded);
        await tx.query(
          `INSERT INTO notification_programs (program_id, name, time_zone, last_position_major, last_position_minor)
           VALUES ($1, $2, $3, $4::numeric, $5::numeric) ON CONFLICT (program_id) DO NOTHING`,
          [event.data.programId, event.data.name, event.data.timeZone, major, minor],
        );
        return;
      }
      case 'NotificationTemplateSet': {
        const [major, minor] = positionParams(recorded);
        const { programId, kind, template } = event.data;
        await tx.query(
          `UPDATE notification_programs
              SET templates = CASE WHEN $3::jsonb IS NULL THEN templates - $2::text
                                   ELSE jsonb_set(templates, ARRAY[$2::text], $3::jsonb) END,
                  last_position_major = $4::numeric, last_position_minor = $5::numeric
            WHERE program_id = $1 AND ${notYetApplied('notification_programs', 4, 5)}`,
          [programId, kind, template === null ? null : jsonParam(template), major, minor],
        );
        return;
      }
      case 'MenteeInvitedToMatch': {
        const { userId, programId } = event.data;
        const [mentee] = await loadContacts(tx, userId);
        await enqueue(tx, recorded, programId, await loadProgram(tx, programId), [
          { kind: 'PREFERENCES_INVITATION', side: 'MENTEE', recipient: mentee!, values: {} },
        ]);
        return;
      }
      case 'MatchRequested': {
        const { programId, mentorUserId, menteeUserId, requestedBy, pendingApprovals, expiresAt, message } = event.data;
        // The requester's own approval is implied; an ADMIN approval is asked for in the admin UI.
        const asked = (['MENTOR', 'MENTEE'] as const).filter((side) => pendingApprovals.includes(side));
        if (asked.length === 0) return;
        const program = await loadProgram(tx, programId);
        const [mentor, mentee] = await loadContacts(tx, mentorUserId, menteeUserId);
        const values = {
          requesterName: sideName(requestedBy, mentor!, mentee!),
          mentorName: mentor!.name,
          menteeName: mentee!.name,
          message: message ?? NO_MESSAGE,
          expiresAt: humanDateTime(expiresAt, program.timeZone),
        };
        await enqueue(
          tx,
          recorded,
          programId,
          program,
          asked.map((side) => ({ kind: 'MATCH_REQUEST', side, recipient: side === 'MENTOR' ? mentor! : mentee!, values })),
        );
        return;
      }
      case 'MatchRequestDeclined': {
        const { programId, mentorUserId, menteeUserId, requestedBy, party, message } = event.data;
        const [mentor, mentee] = await loadContacts(tx, mentorUserId, menteeUserId);
        const values = {
          declinerName: party === 'ADMIN' ? 'The program team' : sideName(party, mentor!, mentee!),
          mentorName: mentor!.name,
          menteeName: mentee!.name,
          message: message ?? NO_MESSAGE,
        };
        await enqueue(tx, recorded, programId, await loadProgram(tx, programId), [
          { kind: 'REQUEST_DECLINED', side: requestedBy, recipient: requestedBy === 'MENTOR' ? mentor! : mentee!, values },
        ]);
        return;
      }
      case 'MatchRequestExpired': {
        const { programId, mentorUserId, menteeUserId, requestedBy } = event.data;
        const [mentor, mentee] = await loadContacts(tx, mentorUserId, menteeUserId);
        const values = { mentorName: mentor!.name, menteeName: mentee!.name };
        await enqueue(tx, recorded, programId, await loadProgram(tx, programId), [
          { kind: 'REQUEST_EXPIRED', side: requestedBy, recipient: requestedBy === 'MENTOR' ? mentor! : mentee!, values },
        ]);
        return;
      }
      case 'MatchActivated': {
        const { programId, mentorPersonaId, menteePersonaId, endsAt } = event.data;
        const program = await loadProgram(tx, programId);
        const [mentor, mentee] = await loadContacts(
          tx,
          userIdOfPersona(mentorPersonaId) ?? mentorPersonaId,
          userIdOfPersona(menteePersonaId) ?? menteePersonaId,
        );
        const values = {
          mentorName: mentor!.name,
          menteeName: mentee!.name,
          mentorEmail: mentor!.email ?? '',
          menteeEmail: mentee!.email ?? '',
          endsAt: endsAt ? humanDateTime(endsAt, program.timeZone) : 'further notice',
        };
        await enqueue(tx, recorded, programId, program, [
          { kind: 'MATCH_ACTIVATED', side: 'MENTOR', recipient: mentor!, values },
          { kind: 'MATCH_ACTIVATED', side: 'MENTEE', recipient: mentee!, values },
        ]);
        return;
      }
      case 'InitiativeCreated': {
        // Initiatives (seed 003) have no templates of their own: each is kept as a pseudo program,
        // keyed by the initiative id, whose e-mails always use the defaults (programName is the
        // initiative's name). Initiative and program ids are both random UUIDs, so they never clash.
        const [major, minor] = positionParams(recorded);
        await tx.query(
          `INSERT INTO notification_programs (program_id, name, time_zone, last_position_major, last_position_minor)
           VALUES ($1, $2, $3, $4::numeric, $5::numeric) ON CONFLICT (program_id) DO NOTHING`,
          [event.data.initiativeId, event.data.name, event.data.timeZone, major, minor],
        );
        return;
      }
      case 'RegistrationReminderSent': {
        const { initiativeId, userId, kind, period, engagementPeriods } = event.data;
        const [volunteer] = await loadContacts(tx, userId);
        const notice: Notice =
          kind === 'MONTHLY_SEARCH'
            ? { kind: 'REGISTRATION_SEARCH_REMINDER', side: 'MENTOR', recipient: volunteer!, values: { period } }
            : {
                kind: 'REGISTRATION_PROGRESS_REMINDER',
                side: 'MENTOR',
                recipient: volunteer!,
                values: { period, engagementDates: engagementDatesSummary(engagementPeriods) },
              };
        // A volunteer is the mentor side of the outbox: the recipient roles are MENTOR and MENTEE.
        await enqueue(tx, recorded, initiativeId, await loadProgram(tx, initiativeId), [notice]);
        return;
      }
      case 'ManagerReportIssued': {
        // Not a program's e-mail: the default template, the CSV attached. The recipient is the manager's address.
        const { managerEmail, period, lines } = event.data;
        const { subject, body } = renderNotification('MANAGER_REPORT', {}, {
          programName: 'your mentoring programs',
          recipientName: managerEmail,
          period,
          mentorCount: String(lines.length),
        });
        const csv = `\uFEFF${managerReportCsvOf(lines)}`;
        await tx.query(
          `INSERT INTO notification_outbox (id, event_id, event_type, event_position_major, event_position_minor, kind, program_id,
                                            recipient_role, recipient_user_id, to_address, to_name, subject, body, attachments, created_at, state)
           VALUES ($1, $2, $3, $4::numeric, $5::numeric, 'MANAGER_REPORT', '', 'MANAGER', $6, $6, $6, $7, $8, $9::jsonb, $10::timestamptz, 'PENDING')
           ON CONFLICT (id) DO NOTHING`,
          [
            `${recorded.id}:MANAGER`,
            recorded.id,
            recorded.type,
            ...positionParams(recorded),
            managerEmail,
            subject,
            body,
            JSON.stringify([{ filename: `manager-report-${period.slice(0, 10)}.csv`, contentType: 'text/csv; charset=utf-8', content: csv }]),
            recorded.metadata.occurredAt,
          ],
        );
        return;
      }
      default:
        assertNever(event);
    }
  },
});
