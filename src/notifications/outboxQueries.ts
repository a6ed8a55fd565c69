import { isoTimestamp } from '../../projections/shared/projectionSupport';
import type { NotificationKind } from '../domain/notification/templates';
import type { SqlExecutor } from '../sql/sqlDatabase';

/** Reading the outbox (for an admin view of what was sent, and what was not and why). */

export type OutboxState = 'PENDING' | 'SENDING' | 'SENT' | 'FAILED';

export interface OutboxEntry {
  /** `${eventId}:${recipientRole}` */
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly kind: NotificationKind;
  readonly programId: string;
  readonly recipientRole: 'MENTOR' | 'MENTEE' | 'MANAGER' | 'ADMIN';
  readonly recipientUserId: string;
  readonly toAddress: string | null;
  readonly toName: string;
  readonly subject: string;
  readonly body: string;
  /** When the event happened (ISO-8601). */
  readonly createdAt: string;
  readonly state: OutboxState;
  readonly attempts: number;
  /** After a transient failure: not before this. */
  readonly nextAttemptAt: string | null;
  readonly lastError: string | null;
  readonly sentAt: string | null;
  readonly messageId: string | null;
  readonly smtpResponse: string | null;
}

export interface OutboxFilter {
  readonly programId?: string;
  readonly recipientUserId?: string;
  readonly state?: OutboxState;
  /** Default 50, at most 500. */
  readonly limit?: number;
}

interface OutboxRow {
  id: string;
  event_id: string;
  event_type: string;
  kind: NotificationKind;
  program_id: string;
  recipient_role: 'MENTOR' | 'MENTEE';
  recipient_user_id: string;
  to_address: string | null;
  to_name: string;
  subject: string;
  body: string;
  created_at: string;
  state: OutboxState;
  attempts: number | string;
  next_attempt_at: string | null;
  last_error: string | null;
  sent_at: string | null;
  message_id: string | null;
  smtp_response: string | null;
}

const nullableIso = (column: string): string => `CASE WHEN ${column} IS NULL THEN NULL ELSE ${isoTimestamp(column)} END`;

/** Newest first (in reverse log order within one instant). */
export const listOutbox = async (db: SqlExecutor, filter: OutboxFilter = {}): Promise<OutboxEntry[]> => {
  const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 50), 1), 500);
  const { rows } = await db.query<OutboxRow>(
    `SELECT id, event_id, event_type, kind, program_id, recipient_role, recipient_user_id, to_address, to_name, subject, body,
            ${isoTimestamp('created_at')} AS created_at, state, attempts, ${nullableIso('next_attempt_at')} AS next_attempt_at,
            last_error, ${nullableIso('sent_at')} AS sent_at, message_id, smtp_response
       FROM notification_outbox
      WHERE ($1::text IS NULL OR program_id = $1)
        AND ($2::text IS NULL OR recipient_user_id = $2)
        AND ($3::text IS NULL OR state = $3)
      ORDER BY created_at DESC, event_position_major DESC, event_position_minor DESC, id DESC
      LIMIT $4`,
    [filter.programId ?? null, filter.recipientUserId ?? null, filter.state ?? null, limit],
  );
  return rows.map((row) => ({
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    kind: row.kind,
    programId: row.program_id,
    recipientRole: row.recipient_role,
    recipientUserId: row.recipient_user_id,
    toAddress: row.to_address,
    toName: row.to_name,
    subject: row.subject,
    body: row.body,
    createdAt: row.created_at,
    state: row.state,
    attempts: Number(row.attempts),
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    sentAt: row.sent_at,
    messageId: row.message_id,
    smtpResponse: row.smtp_response,
  }));
};

/**
 * Puts a FAILED notification back in line (after the address or the mail server was fixed), with a
 * fresh count of attempts. False when there is no such FAILED row.
 */
export const retryFailedNotification = async (db: SqlExecutor, id: string): Promise<boolean> => {
  const { rowCount } = await db.query(
    `UPDATE notification_outbox SET state = 'PENDING', attempts = 0, next_attempt_at = NULL
      WHERE id = $1 AND state = 'FAILED' AND to_address IS NOT NULL`,
    [id],
  );
  return rowCount > 0;
};
