import type { ManagerReportIssued } from '../../src/domain/report/managerReport';
import { managerReportCsvOf } from '../../src/reports/managerReportCsv';
import { assertNever } from '../../src/domain/shared/decider';
import type {
  MatchActivated,
  MatchRequestDeclined,
  MatchRequestExpired,
  MatchRequested,
  MenteeInvitedToMatch,
  NotificationKind,
  NotificationTemplateSet,
  PersonalDataErased,
  ProgramCreated,
  ProgramTimeZoneChanged,
  UserEmailChanged,
  UserProfileUpdated,
  UserRegistered,
} from '../../src/domain';
import { ERASED } from '../../src/domain/personalData';
import type { InitiativeCreated, RegistrationMessageSent, RegistrationReminderSent } from '../../src/domain/initiative';
import { userIdOfPersona } from '../../src/domain/user/userId';
import type { RecordedEvent } from '../../src/eventstore/eventStore';
import { engagementDatesSummary, humanDateTime, renderNotification, type ProgramTemplates } from '../../src/notifications/rendering';
import { linkMarker } from '../../src/links/oneClickLinks';
import type { GlobalPosition } from '../../src/eventstore/eventStore';
import { projection } from '../../src/projectionEngine/projection';
import {
  POSITION_COLUMNS,
  RowSet,
  allAfter,
  copyRows,
  insertRowsIgnoringExisting,
  notYetAppliedTo,
  positionOf,
  tableSpec,
  writeAll,
  type PositionedRow,
} from '../../src/projectionEngine/rows';
import type { SqlExecutor } from '../../src/sql/sqlDatabase';
import { LAST_POSITION_COLUMNS, asDomainEvent, positionParams } from '../shared/projectionSupport';
import { notificationsInDatabase } from './notifications.replay';

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
-- ADMIN added with the e-mail to administrators when a request waits for their approval; COORDINATOR
-- with the volunteers' messages to an initiative's coordinator mailbox (seed 003).
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_recipient_role_check CHECK (recipient_role IN ('MENTOR', 'MENTEE', 'MANAGER', 'ADMIN', 'COORDINATOR'));
CREATE INDEX IF NOT EXISTS notification_outbox_pending ON notification_outbox (next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX IF NOT EXISTS notification_outbox_sending ON notification_outbox (claimed_until) WHERE state = 'SENDING';
CREATE INDEX IF NOT EXISTS notification_outbox_newest ON notification_outbox (created_at DESC, event_position_major DESC, event_position_minor DESC);
CREATE INDEX IF NOT EXISTS notification_outbox_by_program ON notification_outbox (program_id, created_at DESC);
CREATE INDEX IF NOT EXISTS notification_outbox_by_recipient ON notification_outbox (recipient_user_id, created_at DESC);
-- The newest event with e-mails queued: a batch after it cannot conflict, and is written with COPY.
CREATE INDEX IF NOT EXISTS notification_outbox_by_event_position ON notification_outbox (event_position_major, event_position_minor);
`;

export type NotificationSourceEvent =
  | UserRegistered
  | UserEmailChanged
  | UserProfileUpdated
  | ProgramCreated
  | ProgramTimeZoneChanged
  | NotificationTemplateSet
  | MenteeInvitedToMatch
  | MatchRequested
  | MatchRequestDeclined
  | MatchRequestExpired
  | MatchActivated
  | InitiativeCreated
  | RegistrationReminderSent
  | RegistrationMessageSent
  | ManagerReportIssued
  | PersonalDataErased;

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

interface ContactRow {
  user_id: string;
  email: string;
  name: string;
}

interface ProgramRow extends PositionedRow {
  program_id: string;
  name: string;
  time_zone: string;
  templates: ProgramTemplates;
}

interface OutboxRow {
  id: string;
  event_id: string;
  event_type: string;
  event_position_major: string;
  event_position_minor: string;
  kind: string;
  program_id: string;
  recipient_role: string;
  recipient_user_id: string;
  to_address: string | null;
  to_name: string;
  subject: string;
  body: string;
  attachments: unknown;
  created_at: string;
  state: string;
  last_error: string | null;
}

const CONTACTS = tableSpec<ContactRow>({
  table: 'notification_contacts',
  key: ['user_id'],
  columns: [
    { name: 'user_id', type: 'text' },
    { name: 'email', type: 'text' },
    { name: 'name', type: 'text' },
  ],
});

const PROGRAMS = tableSpec<ProgramRow>({
  table: 'notification_programs',
  key: ['program_id'],
  columns: [
    { name: 'program_id', type: 'text' },
    { name: 'name', type: 'text' },
    { name: 'time_zone', type: 'text' },
    { name: 'templates', type: 'jsonb' },
    ...POSITION_COLUMNS,
  ],
});

const text = (...names: (keyof OutboxRow & string)[]) => names.map((name) => ({ name, type: 'text' }));
const OUTBOX = tableSpec<OutboxRow>({
  table: NOTIFICATION_OUTBOX_TABLE,
  key: ['id'],
  columns: [
    ...text('id', 'event_id', 'event_type'),
    { name: 'event_position_major', type: 'numeric' },
    { name: 'event_position_minor', type: 'numeric' },
    ...text('kind', 'program_id', 'recipient_role', 'recipient_user_id', 'to_address', 'to_name', 'subject', 'body'),
    { name: 'attachments', type: 'jsonb' },
    { name: 'created_at', type: 'timestamptz' },
    ...text('state', 'last_error'),
  ],
});

/** What one batch reads and writes: the contacts and programs it needs, the e-mails it adds (null: none wanted). */
interface Batch {
  readonly contacts: RowSet<ContactRow>;
  readonly programs: RowSet<ProgramRow>;
  readonly outbox: OutboxRow[] | null;
}

/** The events that only ever add e-mails: they change no table a replay rebuilds (the replay tests need not reach them). */
export const QUEUES_ONLY = new Set<string>([
  'MenteeInvitedToMatch',
  'MatchRequested',
  'MatchRequestDeclined',
  'MatchRequestExpired',
  'MatchActivated',
  'RegistrationReminderSent',
  'RegistrationMessageSent',
  'ManagerReportIssued',
]);

const programOf = (batch: Batch, programId: string): ProgramInfo => {
  const row = batch.programs.get(programId);
  // Events of a program always follow its ProgramCreated; this only guards against a damaged log.
  if (!row) return { name: programId, timeZone: 'UTC', templates: {} };
  const templates = typeof row.templates === 'string' ? (JSON.parse(row.templates) as ProgramTemplates) : row.templates;
  return { name: row.name, timeZone: row.time_zone, templates };
};

const contactsOf = (batch: Batch, ...userIds: string[]): Contact[] =>
  userIds.map((userId) => {
    const row = batch.contacts.get(userId);
    if (!row) return { userId, email: null, name: '(unknown participant)' };
    return { userId, email: row.email === ERASED ? null : row.email, name: row.name };
  });

const enqueue = (batch: Batch, recorded: RecordedEvent, programId: string, program: ProgramInfo, notices: readonly Notice[]): void => {
  if (batch.outbox === null) return;
  const [major, minor] = positionParams(recorded);
  for (const notice of notices) {
    const { subject, body } = renderNotification(notice.kind, program.templates, {
      ...notice.values,
      programName: program.name,
      recipientName: notice.recipient.name,
    });
    const address = notice.recipient.email;
    // Kept, but never sent: the outbox shows that this e-mail could not go out and why.
    const unsendable =
      address === null
        ? notice.recipient.name === ERASED
          ? `The personal data of user ${notice.recipient.userId} was erased; nothing was sent.`
          : `No e-mail address is known for user ${notice.recipient.userId}; nothing was sent.`
        : null;
    batch.outbox.push({
      id: `${recorded.id}:${notice.side}`,
      event_id: recorded.id,
      event_type: recorded.type,
      event_position_major: major,
      event_position_minor: minor,
      kind: notice.kind,
      program_id: programId,
      recipient_role: notice.side,
      recipient_user_id: notice.recipient.userId,
      to_address: address,
      to_name: notice.recipient.name,
      subject,
      body,
      attachments: null,
      created_at: recorded.metadata.occurredAt,
      state: unsendable ? 'FAILED' : 'PENDING',
      last_error: unsendable,
    });
  }
};

/**
 * An e-mail to the program's administrators, who are not users of the system: no address is known
 * here (the projection has no configuration); the worker addresses it to ADMIN_NOTIFICATION_EMAIL
 * when it sends, or marks it FAILED saying that variable is unset.
 */
const enqueueForAdmins = (
  batch: Batch,
  recorded: RecordedEvent,
  programId: string,
  program: ProgramInfo,
  kind: NotificationKind,
  values: Readonly<Record<string, string>>,
): void => {
  if (batch.outbox === null) return;
  const recipientName = 'Program administrators';
  const { subject, body } = renderNotification(kind, program.templates, { ...values, programName: program.name, recipientName });
  const [major, minor] = positionParams(recorded);
  batch.outbox.push({
    id: `${recorded.id}:ADMIN`,
    event_id: recorded.id,
    event_type: recorded.type,
    event_position_major: major,
    event_position_minor: minor,
    kind,
    program_id: programId,
    recipient_role: 'ADMIN',
    recipient_user_id: '',
    to_address: null,
    to_name: recipientName,
    subject,
    body,
    attachments: null,
    created_at: recorded.metadata.occurredAt,
    state: 'PENDING',
    last_error: null,
  });
};

const sideName = (side: Side, mentor: Contact, mentee: Contact): string => (side === 'MENTOR' ? mentor.name : mentee.name);

/** The users whose contacts an event needs (or, for a registration, provides). */
const usersOf = (event: NotificationSourceEvent): string[] => {
  switch (event.type) {
    case 'UserRegistered':
    case 'UserEmailChanged':
    case 'UserProfileUpdated':
    case 'MenteeInvitedToMatch':
    case 'RegistrationReminderSent':
    case 'RegistrationMessageSent':
    case 'PersonalDataErased':
      return [event.data.userId];
    case 'MatchRequested':
    case 'MatchRequestDeclined':
    case 'MatchRequestExpired':
      return [event.data.mentorUserId, event.data.menteeUserId];
    case 'MatchActivated':
      return [event.data.mentorPersonaId, event.data.menteePersonaId].map((personaId) => userIdOfPersona(personaId) ?? personaId);
    default:
      return [];
  }
};

/** The program (or initiative) whose name, time zone and templates an event needs or changes. */
const programIdOf = (event: NotificationSourceEvent): string | null => {
  switch (event.type) {
    case 'ManagerReportIssued':
    case 'UserRegistered':
    case 'UserEmailChanged':
    case 'UserProfileUpdated':
    case 'PersonalDataErased':
      return null;
    case 'InitiativeCreated':
    case 'RegistrationReminderSent':
    case 'RegistrationMessageSent':
      return event.data.initiativeId;
    default:
      return event.data.programId;
  }
};

const evolve = (batch: Batch, recorded: RecordedEvent<NotificationSourceEvent>): void => {
  if (batch.outbox === null && QUEUES_ONLY.has(recorded.type)) return;
  const event = asDomainEvent(recorded);
  switch (event.type) {
    case 'UserRegistered':
      batch.contacts.insert({ user_id: event.data.userId, email: event.data.email, name: event.data.name });
      return;
    // E-mails go to the address (and greet the name) the user has when the e-mail is made.
    case 'UserEmailChanged': {
      const row = batch.contacts.get(event.data.userId);
      if (!row) return;
      row.email = event.data.email;
      batch.contacts.touch(event.data.userId);
      return;
    }
    case 'UserProfileUpdated': {
      const row = batch.contacts.get(event.data.userId);
      if (!row || event.data.name === undefined) return;
      row.name = event.data.name;
      batch.contacts.touch(event.data.userId);
      return;
    }
    case 'PersonalDataErased': {
      // As a replay reads the erased registration. The outbox is erased in applyBatch (eraseFromOutbox).
      const row = batch.contacts.get(event.data.userId);
      if (row && row.name !== ERASED) {
        row.email = ERASED;
        row.name = ERASED;
        batch.contacts.touch(event.data.userId);
      }
      return;
    }
    case 'ProgramCreated':
      batch.programs.insert({ program_id: event.data.programId, name: event.data.name, time_zone: event.data.timeZone, templates: {}, ...positionOf(recorded) });
      return;
    case 'ProgramTimeZoneChanged': {
      // Dates in the program's e-mails are written on its clock from now on.
      const row = batch.programs.get(event.data.programId);
      if (!row || !notYetAppliedTo(row, recorded)) return;
      Object.assign(row, { time_zone: event.data.to }, positionOf(recorded));
      batch.programs.touch(event.data.programId);
      return;
    }
    case 'NotificationTemplateSet': {
      const { programId, kind, template } = event.data;
      const row = batch.programs.get(programId);
      if (!row || !notYetAppliedTo(row, recorded)) return;
      const templates: Record<string, unknown> = { ...programOf(batch, programId).templates };
      if (template === null) delete templates[kind];
      else templates[kind] = template;
      Object.assign(row, { templates }, positionOf(recorded));
      batch.programs.touch(programId);
      return;
    }
    case 'MenteeInvitedToMatch': {
      const { userId, programId } = event.data;
      const [mentee] = contactsOf(batch, userId);
      enqueue(batch, recorded, programId, programOf(batch, programId), [{ kind: 'PREFERENCES_INVITATION', side: 'MENTEE', recipient: mentee!, values: {} }]);
      return;
    }
    case 'MatchRequested': {
      const { programId, mentorUserId, menteeUserId, requestedBy, pendingApprovals, expiresAt, message } = event.data;
      // The requester's own approval is implied. An ADMIN approval is asked of the program's
      // administrators: one e-mail, addressed when it is sent (ADMIN_NOTIFICATION_EMAIL, see the worker).
      const asked = (['MENTOR', 'MENTEE'] as const).filter((side) => pendingApprovals.includes(side));
      const askAdmin = (pendingApprovals as readonly string[]).includes('ADMIN');
      if (asked.length === 0 && !askAdmin) return;
      const program = programOf(batch, programId);
      const [mentor, mentee] = contactsOf(batch, mentorUserId, menteeUserId);
      const values = {
        requesterName: sideName(requestedBy, mentor!, mentee!),
        mentorName: mentor!.name,
        menteeName: mentee!.name,
        message: message ?? NO_MESSAGE,
        expiresAt: humanDateTime(expiresAt, program.timeZone),
      };
      if (askAdmin) enqueueForAdmins(batch, recorded, programId, program, 'ADMIN_APPROVAL_REQUEST', values);
      enqueue(
        batch,
        recorded,
        programId,
        program,
        asked.map((side) => ({ kind: 'MATCH_REQUEST', side, recipient: side === 'MENTOR' ? mentor! : mentee!, values })),
      );
      return;
    }
    case 'MatchRequestDeclined': {
      const { programId, mentorUserId, menteeUserId, requestedBy, party, message } = event.data;
      const [mentor, mentee] = contactsOf(batch, mentorUserId, menteeUserId);
      const values = {
        declinerName: party === 'ADMIN' ? 'The program team' : sideName(party, mentor!, mentee!),
        mentorName: mentor!.name,
        menteeName: mentee!.name,
        message: message ?? NO_MESSAGE,
      };
      enqueue(batch, recorded, programId, programOf(batch, programId), [
        { kind: 'REQUEST_DECLINED', side: requestedBy, recipient: requestedBy === 'MENTOR' ? mentor! : mentee!, values },
      ]);
      return;
    }
    case 'MatchRequestExpired': {
      const { programId, mentorUserId, menteeUserId, requestedBy } = event.data;
      const [mentor, mentee] = contactsOf(batch, mentorUserId, menteeUserId);
      const values = { mentorName: mentor!.name, menteeName: mentee!.name };
      enqueue(batch, recorded, programId, programOf(batch, programId), [
        { kind: 'REQUEST_EXPIRED', side: requestedBy, recipient: requestedBy === 'MENTOR' ? mentor! : mentee!, values },
      ]);
      return;
    }
    case 'MatchActivated': {
      const { programId, endsAt } = event.data;
      const program = programOf(batch, programId);
      const [mentor, mentee] = contactsOf(batch, ...usersOf(event));
      const values = {
        mentorName: mentor!.name,
        menteeName: mentee!.name,
        mentorEmail: mentor!.email ?? '',
        menteeEmail: mentee!.email ?? '',
        endsAt: endsAt ? humanDateTime(endsAt, program.timeZone) : 'further notice',
      };
      enqueue(batch, recorded, programId, program, [
        { kind: 'MATCH_ACTIVATED', side: 'MENTOR', recipient: mentor!, values },
        { kind: 'MATCH_ACTIVATED', side: 'MENTEE', recipient: mentee!, values },
      ]);
      return;
    }
    case 'InitiativeCreated':
      // Initiatives (seed 003) have no templates of their own: each is kept as a pseudo program,
      // keyed by the initiative id, whose e-mails always use the defaults (programName is the
      // initiative's name). Initiative and program ids are both random UUIDs, so they never clash.
      batch.programs.insert({ program_id: event.data.initiativeId, name: event.data.name, time_zone: event.data.timeZone, templates: {}, ...positionOf(recorded) });
      return;
    case 'RegistrationReminderSent': {
      const { initiativeId, userId, kind, period, engagementPeriods } = event.data;
      const [volunteer] = contactsOf(batch, userId);
      // Markers, not links: the worker signs a link for the recipient when it sends (src/links/oneClickLinks.ts).
      const { registrationId } = event.data;
      const addDatesLink = linkMarker('ADD_DATES', registrationId);
      const notice: Notice =
        kind === 'MONTHLY_SEARCH'
          ? { kind: 'REGISTRATION_SEARCH_REMINDER', side: 'MENTOR', recipient: volunteer!, values: { period, addDatesLink } }
          : {
              kind: 'REGISTRATION_PROGRESS_REMINDER',
              side: 'MENTOR',
              recipient: volunteer!,
              values: {
                period,
                engagementDates: engagementDatesSummary(engagementPeriods),
                addDatesLink,
                missionEndedLink: linkMarker('MISSION_ENDED', registrationId),
              },
            };
      // A volunteer is the mentor side of the outbox: the recipient roles are MENTOR and MENTEE.
      enqueue(batch, recorded, initiativeId, programOf(batch, initiativeId), [notice]);
      return;
    }
    case 'RegistrationMessageSent': {
      const { initiativeId, userId, from, message, coordinatorEmail } = event.data;
      const initiative = programOf(batch, initiativeId);
      const [volunteer] = contactsOf(batch, userId);
      if (from === 'COORDINATOR') {
        const values = { senderName: 'The coordinator', message: message ?? '' };
        enqueue(batch, recorded, initiativeId, initiative, [{ kind: 'REGISTRATION_MESSAGE', side: 'MENTOR', recipient: volunteer!, values }]);
        return;
      }
      // To the initiative's coordinator mailbox. The row names the volunteer whose conversation it is
      // (`coordinator-of:<user id>`), so that their erasure finds it and takes the text out.
      const { subject, body } = renderNotification('REGISTRATION_MESSAGE', {}, {
        programName: initiative.name,
        recipientName: 'coordinator',
        senderName: volunteer!.name,
        message: message ?? '',
      });
      const [major, minor] = positionParams(recorded);
      batch.outbox?.push({
        id: `${recorded.id}:COORDINATOR`,
        event_id: recorded.id,
        event_type: recorded.type,
        event_position_major: major,
        event_position_minor: minor,
        kind: 'REGISTRATION_MESSAGE',
        program_id: initiativeId,
        recipient_role: 'COORDINATOR',
        recipient_user_id: coordinatorConversationOf(userId),
        to_address: coordinatorEmail,
        to_name: 'Coordinator',
        subject,
        body,
        attachments: null,
        created_at: recorded.metadata.occurredAt,
        state: coordinatorEmail === null ? 'FAILED' : 'PENDING',
        last_error:
          coordinatorEmail === null
            ? `Initiative ${initiative.name} has no coordinator e-mail address; the message is kept on the registration, nothing was sent.`
            : null,
      });
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
      const [major, minor] = positionParams(recorded);
      batch.outbox?.push({
        id: `${recorded.id}:MANAGER`,
        event_id: recorded.id,
        event_type: recorded.type,
        event_position_major: major,
        event_position_minor: minor,
        kind: 'MANAGER_REPORT',
        program_id: '',
        recipient_role: 'MANAGER',
        recipient_user_id: managerEmail,
        to_address: managerEmail,
        to_name: managerEmail,
        subject,
        body,
        attachments: [{ filename: `manager-report-${period.slice(0, 10)}.csv`, contentType: 'text/csv; charset=utf-8', content: csv }],
        created_at: recorded.metadata.occurredAt,
        state: 'PENDING',
        last_error: null,
      });
      return;
    }
    default:
      assertNever(event);
  }
};

/**
 * An erased person's e-mails: those to them lose address, name, text and attachments (and are not
 * sent if still pending); those to others that name them (a match partner's) have their name and
 * address replaced, and a manager report that lists them loses its text and CSV. Their contact row is already erased, so nothing later is sent.
 */
const eraseFromOutbox = async (
  tx: SqlExecutor,
  { userId, name, email }: { readonly userId: string; readonly name: string | null; readonly email: string | null },
): Promise<void> => {
  // The names and addresses they had before (a corrected name, a changed address) are in the e-mails sent to them then.
  const { rows: former } = await tx.query<{ to_name: string | null; to_address: string | null }>(
    `SELECT DISTINCT to_name, to_address FROM notification_outbox WHERE recipient_user_id = $1`,
    [userId],
  );
  const known = [...new Set([name, email, ...former.flatMap((row) => [row.to_name, row.to_address])])].filter(
    (value): value is string => value !== null && value !== ERASED && value !== '',
  );
  const scrub = (column: string) => known.reduce((sql, _, i) => `replace(${sql}, $${i + 3}, $2)`, column);
  const mentions = known.map((_, i) => `strpos(body, $${i + 3}) > 0 OR strpos(subject, $${i + 3}) > 0 OR strpos(coalesce(attachments::text, ''), $${i + 3}) > 0`);
  // A manager report that lists them is erased whole, as its event is (every line, and details such
  // as their company that a scrub of names and addresses would leave).
  const report = `(kind = 'MANAGER_REPORT' AND (${mentions.length > 0 ? mentions.join(' OR ') : 'false'}))`;
  await tx.query(
    `UPDATE notification_outbox SET
       to_address = CASE WHEN recipient_user_id = $1 THEN NULL ELSE to_address END,
       to_name = CASE WHEN recipient_user_id = $1 THEN $2 ELSE ${scrub('to_name')} END,
       subject = CASE WHEN recipient_user_id = $1 THEN $2 ELSE ${scrub('subject')} END,
       body = CASE WHEN recipient_user_id = $1 OR ${report} THEN $2 ELSE ${scrub('body')} END,
       attachments = CASE WHEN recipient_user_id = $1 OR ${report} THEN NULL ELSE (${scrub('attachments::text')})::jsonb END,
       state = CASE WHEN (recipient_user_id = $1 OR ${report}) AND state = 'PENDING' THEN 'FAILED' ELSE state END,
       last_error = CASE WHEN recipient_user_id = $1 AND state = 'PENDING' THEN 'Not sent: the personal data of the recipient was erased.'
                         WHEN ${report} AND state = 'PENDING' THEN 'Not sent: the personal data of an employee it lists was erased.'
                         ELSE last_error END
     WHERE recipient_user_id = $1 ${mentions.map((m) => `OR ${m}`).join(' ')}`,
    [userId, ERASED, ...known],
  );
};

/** The outbox's recipient for a volunteer's messages to the coordinator: names the volunteer, whose data they are. */
const coordinatorConversationOf = (userId: string): string => `coordinator-of:${userId}`;

/** The volunteer's messages to the coordinator lose their text too: it is the volunteer's personal data. */
const eraseConversationFromOutbox = async (tx: SqlExecutor, userId: string): Promise<void> => {
  await tx.query(
    `UPDATE notification_outbox SET subject = $2, body = $2,
       state = CASE WHEN state = 'PENDING' THEN 'FAILED' ELSE state END,
       last_error = CASE WHEN state = 'PENDING' THEN 'Not sent: the personal data of the sender was erased.' ELSE last_error END
     WHERE recipient_user_id = $1`,
    [coordinatorConversationOf(userId), ERASED],
  );
};

/** The position of the newest event the outbox has e-mails of, or null when it is empty. */
const lastQueued = async (tx: SqlExecutor): Promise<GlobalPosition | null> => {
  const { rows } = await tx.query<{ major: string; minor: string }>(
    `SELECT event_position_major::text AS major, event_position_minor::text AS minor FROM notification_outbox
      ORDER BY event_position_major DESC, event_position_minor DESC LIMIT 1`,
  );
  return rows[0] ? { major: BigInt(rows[0].major), minor: BigInt(rows[0].minor) } : null;
};

export const notificationsProjection = projection<NotificationSourceEvent>({
  name: 'notifications',
  handles: [
    'ManagerReportIssued',
    'UserRegistered',
    'UserEmailChanged',
    'UserProfileUpdated',
    'ProgramCreated',
    'ProgramTimeZoneChanged',
    'NotificationTemplateSet',
    'MenteeInvitedToMatch',
    'MatchRequested',
    'MatchRequestDeclined',
    'MatchRequestExpired',
    'MatchActivated',
    'InitiativeCreated',
    'RegistrationReminderSent',
    'RegistrationMessageSent',
    'PersonalDataErased',
  ],
  schema: NOTIFICATIONS_SCHEMA,
  // Never the outbox: a rebuild replays the whole log, and an emptied outbox would send every
  // e-mail of the program's history again. Its rows are keyed by event id, so the replay finds
  // them already there and adds nothing.
  tables: ['notification_contacts', 'notification_programs'],
  sideTables: [NOTIFICATION_OUTBOX_TABLE],
  readsWhileApplying: ['notification_outbox_by_event_position'],
  applyBatch: async (tx, events) => {
    const domain = events.map(asDomainEvent);
    const batch: Batch = {
      contacts: await RowSet.load(tx, CONTACTS, (row) => row.user_id, domain.flatMap((event) => usersOf(event).map((userId) => [userId]))),
      programs: await RowSet.load(
        tx,
        PROGRAMS,
        (row) => row.program_id,
        domain.flatMap((event) => {
          const programId = programIdOf(event);
          return programId === null ? [] : [[programId]];
        }),
      ),
      outbox: [],
    };
    // Who they were, read before evolve erases their contact: their e-mails already in the outbox name them.
    const erasures = domain.flatMap((event) => {
      const row = event.type === 'PersonalDataErased' ? batch.contacts.get(event.data.userId) : undefined;
      return event.type === 'PersonalDataErased' ? [{ userId: event.data.userId, name: row?.name ?? null, email: row?.email ?? null }] : [];
    });
    for (const event of events) evolve(batch, event);
    await batch.contacts.flush(tx);
    await batch.programs.flush(tx);
    // E-mails of events after the newest one queued cannot be there yet; before it, this is a
    // rebuild replaying events whose e-mails are queued (or sent) already, and they are kept as they are.
    if (allAfter(events, await lastQueued(tx))) await copyRows(tx, OUTBOX, batch.outbox!);
    else await insertRowsIgnoringExisting(tx, OUTBOX, batch.outbox!);
    for (const erasure of erasures) {
      await eraseFromOutbox(tx, erasure);
      await eraseConversationFromOutbox(tx, erasure.userId);
    }
  },
  replayInDatabase: notificationsInDatabase,
  // A replay's outbox is thrown away (the one in service is never replaced), so it renders no e-mail.
  replayApplier: () => {
    const contacts = RowSet.empty(CONTACTS, (row) => row.user_id);
    const programs = RowSet.empty(PROGRAMS, (row) => row.program_id);
    return {
      apply: (events) => {
        for (const event of events) evolve({ contacts, programs, outbox: null }, event);
      },
      takeWrites: () => writeAll(contacts.takeWrites(), programs.takeWrites()),
      writesOnceAtEnd: true,
    };
  },
});
