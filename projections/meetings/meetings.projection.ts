import { assertNever } from '../../src/domain/shared/decider';
import { MEETING_EVENT_TYPES, MEETING_STATES, type MeetingEvent } from '../../src/domain/meeting/meeting';
import type { PersonalDataErased } from '../../src/domain';
import { eventByEvent, projection } from '../../src/projectionEngine/projection';
import { LAST_POSITION_COLUMNS, asDomainEvent, notYetApplied, positionParams } from '../shared/projectionSupport';

/**
 * One row per meeting: its match and participants (copied from MeetingScheduled), when it is, and
 * how it ended. `state` is what was recorded (SCHEDULED, CANCELLED, RECORDED, MISSED); whether a
 * SCHEDULED meeting is upcoming or completed depends on the reader's clock and is derived by the
 * queries, never stored.
 */
export const MEETINGS_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS rm_meetings (
  meeting_id text PRIMARY KEY,
  match_id text NOT NULL,
  program_id text NOT NULL,
  mentor_user_id text NOT NULL,
  mentee_user_id text NOT NULL,
  starts_at timestamptz NOT NULL,
  duration_minutes integer NOT NULL,
  title text,
  state text NOT NULL CHECK (state IN (${MEETING_STATES.map((state) => `'${state}'`).join(', ')})),
  cancelled_at timestamptz,
  cancellation_reason text,
  recorded_at timestamptz,
  notes text,
  missed_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,${LAST_POSITION_COLUMNS}
);
CREATE INDEX IF NOT EXISTS rm_meetings_by_match ON rm_meetings (match_id, starts_at);
CREATE INDEX IF NOT EXISTS rm_meetings_by_program ON rm_meetings (program_id, starts_at);
CREATE INDEX IF NOT EXISTS rm_meetings_by_mentor ON rm_meetings (mentor_user_id, starts_at);
`;

/** `$1` meeting id, `$2` occurredAt, `$3`/`$4` position; `set` may use `$5` on. */
const UPDATE = (set: string) => /* sql */ `
  UPDATE rm_meetings
     SET ${set}, updated_at = $2::timestamptz, last_position_major = $3::numeric, last_position_minor = $4::numeric
   WHERE meeting_id = $1 AND ${notYetApplied('rm_meetings', 3, 4)}`;

const INSERT = /* sql */ `
  INSERT INTO rm_meetings (meeting_id, match_id, program_id, mentor_user_id, mentee_user_id, starts_at, duration_minutes, title,
                           state, created_at, updated_at, last_position_major, last_position_minor)
  VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7::integer, $8, 'SCHEDULED', $9::timestamptz, $9::timestamptz, $10::numeric, $11::numeric)
  ON CONFLICT (meeting_id) DO NOTHING`;

export const meetingsProjection = projection<MeetingEvent | PersonalDataErased>({
  name: 'meetings',
  handles: [...MEETING_EVENT_TYPES, 'PersonalDataErased'],
  schema: MEETINGS_SCHEMA,
  tables: ['rm_meetings'],
  applyBatch: eventByEvent<MeetingEvent | PersonalDataErased>(async (tx, recorded) => {
    const event = asDomainEvent(recorded);
    if (event.type === 'PersonalDataErased') {
      // The free text of a participant's meetings, as a replay reads it from the erased events. Not a
      // change of the meeting itself: its position and updated_at stay.
      await tx.query(`UPDATE rm_meetings SET title = NULL, notes = NULL, cancellation_reason = NULL WHERE mentor_user_id = $1 OR mentee_user_id = $1`, [
        event.data.userId,
      ]);
      return;
    }
    const at = recorded.metadata.occurredAt;
    const [major, minor] = positionParams(recorded);
    const update = (set: string, ...extra: unknown[]) => tx.query(UPDATE(set), [event.data.meetingId, at, major, minor, ...extra]);
    switch (event.type) {
      case 'MeetingScheduled': {
        const { meetingId, matchId, programId, mentorUserId, menteeUserId, startsAt, durationMinutes, title } = event.data;
        await tx.query(INSERT, [meetingId, matchId, programId, mentorUserId, menteeUserId, startsAt, durationMinutes, title, at, major, minor]);
        return;
      }
      case 'MeetingRescheduled':
        await update('starts_at = $5::timestamptz, duration_minutes = $6::integer', event.data.startsAt, event.data.durationMinutes);
        return;
      case 'MeetingCancelled':
        await update(`state = 'CANCELLED', cancelled_at = $2::timestamptz, cancellation_reason = $5::text`, event.data.reason);
        return;
      case 'MeetingRecorded':
        // Recording a meeting marked missed by mistake clears the mark.
        await update(`state = 'RECORDED', recorded_at = $2::timestamptz, notes = $5::text, missed_at = NULL`, event.data.notes);
        return;
      case 'MeetingMarkedMissed':
        await update(`state = 'MISSED', missed_at = $2::timestamptz`);
        return;
      default:
        assertNever(event);
    }
  }),
});
