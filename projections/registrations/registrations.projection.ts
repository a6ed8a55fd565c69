import { assertNever } from '../../src/domain/shared/decider';
import {
  INITIATIVE_EVENT_TYPES,
  REGISTRATION_EVENT_TYPES,
  REGISTRATION_STATUSES,
  type InitiativesEvent,
  type EngagementPeriod,
} from '../../src/domain/initiative';
import { ERASED, type PersonalDataErased, type UserEmailChanged, type UserProfileUpdated } from '../../src/domain';
import { eventByEvent, projection } from '../../src/projectionEngine/projection';
import { LAST_POSITION_COLUMNS, asDomainEvent, notYetApplied, positionParams } from '../shared/projectionSupport';

/**
 * Seed 003's read models: initiatives, one row per registration (where it stands, when it was
 * registered, validated, completed, confirmed), its engagement periods, its tasks and the reminders
 * it was sent. Periods, tasks and reminders are rewritten only when the registration's own row
 * accepted the event (`notYetApplied`), so a replay changes nothing.
 *
 * The volunteer's name and address follow the user's later corrections (UserEmailChanged,
 * UserProfileUpdated); the manager stays the one the registration names, who validates its dates.
 *
 * Engagement dates are days (YYYY-MM-DD) in the initiative's calendar, kept as text: no time zone
 * can shift them.
 */
export const REGISTRATIONS_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS rm_initiatives (
  initiative_id text PRIMARY KEY,
  name text NOT NULL,
  company text NOT NULL,
  time_zone text NOT NULL,
  manager_validation_required boolean NOT NULL,
  created_at timestamptz NOT NULL,${LAST_POSITION_COLUMNS}
);
CREATE TABLE IF NOT EXISTS rm_registrations (
  registration_id text PRIMARY KEY,
  initiative_id text NOT NULL,
  user_id text NOT NULL,
  volunteer_name text NOT NULL,
  volunteer_email text NOT NULL,
  manager_name text,
  manager_email text,
  status text NOT NULL CHECK (status IN (${REGISTRATION_STATUSES.map((status) => `'${status}'`).join(', ')})),
  registered_at timestamptz NOT NULL,
  validated_at timestamptz,
  dates_set_at timestamptz,
  dates_approved_at timestamptz,
  rejection_message text,
  completed_at timestamptz,
  confirmed_by text,
  confirmed_at timestamptz,
  updated_at timestamptz NOT NULL,${LAST_POSITION_COLUMNS}
);
CREATE INDEX IF NOT EXISTS rm_registrations_by_initiative ON rm_registrations (initiative_id, status, registered_at, registration_id);
CREATE INDEX IF NOT EXISTS rm_registrations_by_user ON rm_registrations (user_id);
CREATE INDEX IF NOT EXISTS rm_registrations_by_manager ON rm_registrations (lower(manager_email));
CREATE INDEX IF NOT EXISTS rm_registrations_reminded ON rm_registrations (status) WHERE status IN ('SEARCHING_MENTEE', 'IN_PROGRESS');
CREATE TABLE IF NOT EXISTS rm_engagement_periods (
  registration_id text NOT NULL,
  ordinal integer NOT NULL,
  start_date text NOT NULL,
  end_date text,
  PRIMARY KEY (registration_id, ordinal)
);
CREATE TABLE IF NOT EXISTS rm_registration_tasks (
  registration_id text NOT NULL,
  task_id text NOT NULL,
  title text NOT NULL,
  assigned_at timestamptz NOT NULL,
  completed_at timestamptz,
  PRIMARY KEY (registration_id, task_id)
);
CREATE TABLE IF NOT EXISTS rm_registration_messages (
  registration_id text NOT NULL,
  message_id text NOT NULL,
  user_id text NOT NULL,
  from_party text NOT NULL,
  sender_id text NOT NULL,
  message text,
  sent_at timestamptz NOT NULL,
  position_major numeric NOT NULL,
  position_minor numeric NOT NULL,
  PRIMARY KEY (registration_id, message_id)
);
CREATE INDEX IF NOT EXISTS rm_registration_messages_thread ON rm_registration_messages (registration_id, position_major, position_minor);
CREATE INDEX IF NOT EXISTS rm_registration_messages_by_user ON rm_registration_messages (user_id);
CREATE TABLE IF NOT EXISTS rm_registration_reminders (
  registration_id text NOT NULL,
  kind text NOT NULL,
  period text NOT NULL,
  sent_at timestamptz NOT NULL,
  PRIMARY KEY (registration_id, kind, period)
);
`;

/** `$1` registration id, `$2` occurredAt, `$3`/`$4` position; `set` may use `$5` on. Returns the row when it applied. */
const UPDATE = (set: string) => /* sql */ `
  UPDATE rm_registrations
     SET ${set}${set ? ', ' : ''}updated_at = $2::timestamptz, last_position_major = $3::numeric, last_position_minor = $4::numeric
   WHERE registration_id = $1 AND ${notYetApplied('rm_registrations', 3, 4)}
  RETURNING registration_id`;

type RegistrationsEvent = InitiativesEvent | UserEmailChanged | UserProfileUpdated | PersonalDataErased;

export const registrationsProjection = projection<RegistrationsEvent>({
  name: 'registrations',
  handles: [...INITIATIVE_EVENT_TYPES, ...REGISTRATION_EVENT_TYPES, 'UserEmailChanged', 'UserProfileUpdated', 'PersonalDataErased'],
  schema: REGISTRATIONS_SCHEMA,
  tables: ['rm_initiatives', 'rm_registrations', 'rm_engagement_periods', 'rm_registration_tasks', 'rm_registration_reminders', 'rm_registration_messages'],
  applyBatch: eventByEvent<RegistrationsEvent>(async (tx, recorded) => {
    const event = asDomainEvent(recorded);
    // Absolute values, applied in log order: a replay leaves the same rows.
    if (event.type === 'UserEmailChanged') {
      await tx.query(`UPDATE rm_registrations SET volunteer_email = $2 WHERE user_id = $1`, [event.data.userId, event.data.email]);
      return;
    }
    if (event.type === 'UserProfileUpdated') {
      if (event.data.name !== undefined) {
        await tx.query(`UPDATE rm_registrations SET volunteer_name = $2 WHERE user_id = $1`, [event.data.userId, event.data.name]);
      }
      return;
    }
    const at = recorded.metadata.occurredAt;
    const [major, minor] = positionParams(recorded);
    if (event.type === 'PersonalDataErased') {
      // As a replay reads the volunteer's erased registration events; their dates and statuses stay.
      await tx.query(
        `UPDATE rm_registrations SET volunteer_name = $2, volunteer_email = $2, manager_name = NULL, manager_email = NULL, rejection_message = NULL
          WHERE user_id = $1`,
        [event.data.userId, ERASED],
      );
      // The conversation's text goes with the volunteer (a replay reads it erased: null).
      await tx.query(`UPDATE rm_registration_messages SET message = NULL WHERE user_id = $1`, [event.data.userId]);
      return;
    }
    if (event.type === 'InitiativeCreated') {
      const { initiativeId, name, company, timeZone, managerValidationRequired } = event.data;
      await tx.query(
        `INSERT INTO rm_initiatives (initiative_id, name, company, time_zone, manager_validation_required, created_at,
                                     last_position_major, last_position_minor)
         VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7::numeric, $8::numeric) ON CONFLICT (initiative_id) DO NOTHING`,
        [initiativeId, name, company, timeZone, managerValidationRequired, at, major, minor],
      );
      return;
    }
    const { registrationId } = event.data;
    /** True when the registration's row took the event (false on a replay). */
    const update = async (set: string, ...extra: unknown[]): Promise<boolean> =>
      (await tx.query(UPDATE(set), [registrationId, at, major, minor, ...extra])).rows.length > 0;
    const replacePeriods = async (periods: readonly EngagementPeriod[]) => {
      await tx.query(`DELETE FROM rm_engagement_periods WHERE registration_id = $1`, [registrationId]);
      for (const [ordinal, period] of periods.entries()) {
        await tx.query(`INSERT INTO rm_engagement_periods (registration_id, ordinal, start_date, end_date) VALUES ($1, $2, $3, $4)`, [
          registrationId,
          ordinal,
          period.start,
          period.end,
        ]);
      }
    };
    switch (event.type) {
      case 'VolunteerRegistered': {
        const { initiativeId, userId, volunteerName, volunteerEmail, manager, registeredAt } = event.data;
        await tx.query(
          `INSERT INTO rm_registrations (registration_id, initiative_id, user_id, volunteer_name, volunteer_email, manager_name,
                                         manager_email, status, registered_at, updated_at, last_position_major, last_position_minor)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'APPLICATION', $8::timestamptz, $9::timestamptz, $10::numeric, $11::numeric)
           ON CONFLICT (registration_id) DO NOTHING`,
          [registrationId, initiativeId, userId, volunteerName, volunteerEmail, manager?.name ?? null, manager?.email ?? null, registeredAt, at, major, minor],
        );
        return;
      }
      case 'RegistrationTaskAssigned':
        if (await update('')) {
          await tx.query(
            `INSERT INTO rm_registration_tasks (registration_id, task_id, title, assigned_at) VALUES ($1, $2, $3, $4::timestamptz)
             ON CONFLICT DO NOTHING`,
            [registrationId, event.data.taskId, event.data.title, at],
          );
        }
        return;
      case 'RegistrationTaskCompleted':
        if (await update('')) {
          await tx.query(`UPDATE rm_registration_tasks SET completed_at = $3::timestamptz WHERE registration_id = $1 AND task_id = $2`, [
            registrationId,
            event.data.taskId,
            at,
          ]);
        }
        return;
      case 'RegistrationValidated':
        await update(`status = 'SEARCHING_MENTEE', validated_at = $5::timestamptz`, event.data.validatedAt);
        return;
      case 'EngagementDatesSet':
        if (await update(`status = $5, dates_set_at = $6::timestamptz, rejection_message = NULL`, event.data.to, event.data.setAt)) {
          await replacePeriods(event.data.periods);
        }
        return;
      case 'EngagementDatesApproved':
        await update(`status = 'IN_PROGRESS', dates_approved_at = $5::timestamptz`, event.data.approvedAt);
        return;
      case 'EngagementDatesRejected':
        await update(`status = 'SEARCHING_MENTEE', rejection_message = $5`, event.data.message);
        return;
      case 'MissionCompleted':
        await update(`status = 'AWAITING_CONFIRMATION', completed_at = $5::timestamptz`, event.data.completedAt);
        return;
      case 'ParticipationConfirmed':
        await update(`status = 'CONFIRMED', confirmed_by = $5, confirmed_at = $6::timestamptz`, event.data.confirmedBy, event.data.confirmedAt);
        return;
      case 'RegistrationReminderSent':
        if (await update('')) {
          await tx.query(
            `INSERT INTO rm_registration_reminders (registration_id, kind, period, sent_at) VALUES ($1, $2, $3, $4::timestamptz)
             ON CONFLICT DO NOTHING`,
            [registrationId, event.data.kind, event.data.period, event.data.sentAt],
          );
        }
        return;
      case 'RegistrationMessageSent': {
        const { messageId, userId, from, senderId, message, sentAt } = event.data;
        // Keyed by message id: a replay adds nothing. The registration's row is left alone (a message changes no status).
        await tx.query(
          `INSERT INTO rm_registration_messages (registration_id, message_id, user_id, from_party, sender_id, message, sent_at, position_major, position_minor)
           VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8::numeric, $9::numeric) ON CONFLICT DO NOTHING`,
          [registrationId, messageId, userId, from, senderId, message, sentAt, major, minor],
        );
        return;
      }
      default:
        assertNever(event);
    }
  }),
});
