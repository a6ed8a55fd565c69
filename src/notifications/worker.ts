import type { MailAttachment } from './transport';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log';
import type { SqlDatabase } from '../sql/sqlDatabase';
import { MailDeliveryError, domainOf, messageIdFor, type MailReceipt, type MailTransport, type OutgoingMail } from './transport';

/**
 * Sends what the notifications projection put in `notification_outbox`.
 *
 * A row moves PENDING → SENDING → SENT, or back to PENDING with a later `next_attempt_at` after a
 * transient failure, or to FAILED (a permanent refusal, too many attempts). Claiming is one committed
 * transaction (`FOR UPDATE SKIP LOCKED`) that marks the rows SENDING with a lease (`claimed_until`)
 * and a claim token (`claimed_by`), so several workers (several server instances) never take the
 * same row. Right before each send the worker renews that row's lease, only if its token is still
 * there, and bounds the send to less than the lease: a row is in one worker's hands at a time, and a
 * worker that died leaves rows that another takes over once their lease has run out.
 *
 * The one window no outbox can close: the server accepted the message, and the process died (or
 * lost the database) before it recorded SENT. The lease then runs out and the message is sent again,
 * with the same Message-ID and X-Notification-Id, so the receiving system can drop the duplicate.
 * Sending before recording is the choice that loses nothing: recording first would lose the e-mail
 * on a crash in the same window.
 *
 * Leases are compared with the injected clock, so instances must keep their clocks in step (NTP)
 * to well within `leaseMs - sendTimeoutMs`; a process paused for longer than that between renewing a
 * lease and sending could send alongside the worker that took over.
 */

export interface NotificationWorkerOptions {
  /** The sender: `"Riverside mentoring" <noreply@riverside.example>` or a bare address. */
  readonly from: string;
  /** Rows claimed per round. */
  readonly batchSize?: number;
  /** How long a claimed row stays out of other workers' reach. Must exceed `sendTimeoutMs`. */
  readonly leaseMs?: number;
  /** An attempt taking longer is abandoned and retried (the server may have the message: same Message-ID). */
  readonly sendTimeoutMs?: number;
  /** How long an idle worker waits before looking again (`notify()` wakes it at once). */
  readonly pollMs?: number;
  /** After this many attempts a transient failure (or a lease that keeps running out) is final: FAILED. */
  readonly maxAttempts?: number;
  /** Wait before the second attempt; doubles with each attempt up to `retryMaxMs`. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /**
   * Rows whose event is older than this are never sent (FAILED, with the reason): after an outage,
   * or when the projection first catches up on a long history, week-old requests and reminders
   * would only confuse. Only rows never tried are dropped (an admin's retry of a FAILED row is
   * sent whatever its age). Unset: no limit.
   */
  readonly maxAgeMs?: number;
  /** Domain of the Message-IDs (default: the sender's). */
  readonly messageIdDomain?: string;
  /**
   * Last touches made when a message is sent, never stored: the address of e-mails to the program's
   * administrators (recipient ADMIN, who are not users) and the signed one-click links in place of
   * their markers. Default: the row as it is.
   */
  readonly finish?: (row: SendingRow) => { readonly toAddress: string | null; readonly body: string; readonly missing?: string };
}

/** What `finish` is given of a row about to be sent. */
export interface SendingRow {
  readonly id: string;
  readonly kind: string;
  readonly recipientRole: string;
  readonly recipientUserId: string;
  readonly toAddress: string | null;
  readonly body: string;
  readonly createdAt: Date;
}

export interface NotificationWorkerDependencies {
  readonly db: SqlDatabase;
  readonly transport: MailTransport;
  readonly clock: () => Date;
  readonly logger: Logger;
}

/** What one round did. `lost`: rows another worker took over after this one's lease ran out. */
export interface NotificationRound {
  readonly claimed: number;
  readonly sent: number;
  readonly retrying: number;
  readonly failed: number;
  readonly released: number;
  readonly lost: number;
}

type Outcome = 'sent' | 'retrying' | 'failed' | 'lost';

interface ClaimedRow {
  attachments: MailAttachment[] | null;
  readonly id: string;
  readonly event_id: string;
  readonly kind: string;
  readonly recipient_role: string;
  readonly recipient_user_id: string;
  readonly created_at: string | Date;
  readonly to_address: string | null;
  readonly to_name: string;
  readonly subject: string;
  readonly body: string;
  readonly attempts: number;
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const describeDuration = (ms: number): string => {
  const [unit, size] = ms >= 86_400_000 ? ['day', 86_400_000] : ms >= 3_600_000 ? ['hour', 3_600_000] : ['minute', 60_000];
  const count = Math.round((ms / size) * 10) / 10;
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
};

export class NotificationWorker {
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly sendTimeoutMs: number;
  private readonly pollMs: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly messageIdDomain: string;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private pendingWake = false;

  constructor(
    private readonly dependencies: NotificationWorkerDependencies,
    private readonly options: NotificationWorkerOptions,
  ) {
    this.batchSize = options.batchSize ?? 10;
    this.leaseMs = options.leaseMs ?? 5 * 60_000;
    this.sendTimeoutMs = options.sendTimeoutMs ?? Math.floor(this.leaseMs / 2);
    this.pollMs = options.pollMs ?? 5_000;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.retryBaseMs = options.retryBaseMs ?? 30_000;
    this.retryMaxMs = options.retryMaxMs ?? 60 * 60_000;
    this.messageIdDomain = options.messageIdDomain ?? domainOf(options.from);
    if (!(this.sendTimeoutMs > 0 && this.sendTimeoutMs < this.leaseMs)) {
      throw new Error(`The send timeout (${this.sendTimeoutMs} ms) must be positive and shorter than the lease (${this.leaseMs} ms).`);
    }
    if (!(this.batchSize >= 1 && this.maxAttempts >= 1)) throw new Error('batchSize and maxAttempts must be at least 1.');
  }

  /** Starts sending in the background until `stop()`. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.dependencies.logger.info({ transport: this.dependencies.transport.description }, 'Notification worker started');
    this.loop = this.runLoop();
  }

  /** Finishes the message in hand, hands the rest of its batch back to PENDING, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = null;
    this.stopping = false;
  }

  /** `stop()`, then releases the transport. */
  async close(): Promise<void> {
    await this.stop();
    await this.dependencies.transport.close();
  }

  /** New rows may be due (the projection just ran): look now rather than at the next poll. */
  notify(): void {
    this.pendingWake = true;
    this.wake?.();
  }

  /** Claims one batch of due rows and sends them. */
  async runOnce(): Promise<NotificationRound> {
    const token = randomUUID();
    const rows = await this.claim(token);
    const counts = { claimed: rows.length, sent: 0, retrying: 0, failed: 0, released: 0, lost: 0 };
    for (const [index, row] of rows.entries()) {
      if (this.stopping) {
        counts.released = await this.release(rows.slice(index).map((r) => r.id), token);
        break;
      }
      counts[await this.deliver(row, token)]++;
    }
    return counts;
  }

  /** Runs rounds until none claims anything (tests, tools). Rows waiting for a retry stay waiting. */
  async drain(): Promise<NotificationRound> {
    const total = { claimed: 0, sent: 0, retrying: 0, failed: 0, released: 0, lost: 0 };
    for (;;) {
      const round = await this.runOnce();
      if (round.claimed === 0) return total;
      for (const key of Object.keys(total) as (keyof NotificationRound)[]) total[key] += round[key];
    }
  }

  private async runLoop(): Promise<void> {
    while (!this.stopping) {
      this.pendingWake = false;
      let busy = false;
      try {
        busy = (await this.runOnce()).claimed > 0;
      } catch (error) {
        this.dependencies.logger.error({ err: error }, 'Notification round failed; it will be retried');
      }
      if (!busy && !this.stopping && !this.pendingWake) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.pollMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
    }
  }

  private at(offsetMs = 0): string {
    return new Date(this.dependencies.clock().getTime() + offsetMs).toISOString();
  }

  private async claim(token: string): Promise<ClaimedRow[]> {
    const now = this.at();
    return this.dependencies.db.transaction(async (tx) => {
      // A lease that keeps running out means a send that keeps killing its process: stop trying.
      await tx.query(
        `UPDATE notification_outbox
            SET state = 'FAILED', claimed_until = NULL, claimed_by = NULL,
                last_error = 'Gave up after ' || attempts || ' attempts: the worker sending it stopped before it finished '
                             || '(it may have reached the server).'
          WHERE state = 'SENDING' AND claimed_until <= $1::timestamptz AND attempts >= $2`,
        [now, this.maxAttempts],
      );
      if (this.options.maxAgeMs !== undefined) {
        await tx.query(
          `UPDATE notification_outbox
              SET state = 'FAILED', claimed_until = NULL, claimed_by = NULL,
                  last_error = 'Not sent: its event was more than ' || $2::text || ' old when it could first be sent.'
            WHERE state = 'PENDING' AND attempts = 0 AND last_error IS NULL AND created_at < $1::timestamptz`,
          [this.at(-this.options.maxAgeMs), describeDuration(this.options.maxAgeMs)],
        );
      }
      const { rows } = await tx.query<ClaimedRow>(
        `WITH due AS (
           SELECT id FROM notification_outbox
            WHERE (state = 'PENDING' AND (next_attempt_at IS NULL OR next_attempt_at <= $1::timestamptz))
               OR (state = 'SENDING' AND claimed_until <= $1::timestamptz)
            ORDER BY created_at, event_position_major, event_position_minor, id
            LIMIT $2
              FOR UPDATE SKIP LOCKED
         )
         UPDATE notification_outbox o
            SET state = 'SENDING', claimed_until = $3::timestamptz, claimed_by = $4, attempts = o.attempts + 1
           FROM due
          WHERE o.id = due.id
         RETURNING o.id, o.event_id, o.kind, o.recipient_role, o.recipient_user_id, o.created_at, o.to_address, o.to_name, o.subject, o.body, o.attachments, o.attempts`,
        [now, this.batchSize, this.at(this.leaseMs), token],
      );
      return rows.map((row) => ({ ...row, attempts: Number(row.attempts) }));
    });
  }

  private async deliver(row: ClaimedRow, token: string): Promise<Outcome> {
    const { db, transport, logger } = this.dependencies;
    // Each message starts with a whole lease ahead of it, however long the ones before it took; a
    // row whose lease ran out meanwhile may be in another worker's hands, and is left to it.
    const renewed = await db.query(
      `UPDATE notification_outbox SET claimed_until = $3::timestamptz WHERE id = $1 AND claimed_by = $2 AND state = 'SENDING'`,
      [row.id, token, this.at(this.leaseMs)],
    );
    if (renewed.rowCount === 0) {
      logger.warn({ notificationId: row.id }, 'Notification lease ran out before it could be sent; another worker has it');
      return 'lost';
    }
    const finished = this.options.finish
      ? this.options.finish({
          id: row.id,
          kind: row.kind,
          recipientRole: row.recipient_role,
          recipientUserId: row.recipient_user_id,
          toAddress: row.to_address,
          body: row.body,
          createdAt: new Date(row.created_at),
        })
      : { toAddress: row.to_address, body: row.body };
    if (finished.toAddress === null) return this.fail(row, token, finished.missing ?? 'No e-mail address is known for the recipient.');
    const mail: OutgoingMail = {
      notificationId: row.id,
      kind: row.kind,
      eventId: row.event_id,
      from: this.options.from,
      to: { name: row.to_name, address: finished.toAddress },
      subject: row.subject,
      text: finished.body,
      ...(row.attachments ? { attachments: row.attachments } : {}),
      messageId: messageIdFor(row.id, this.messageIdDomain),
      date: this.dependencies.clock(),
    };
    let receipt: MailReceipt;
    try {
      receipt = await transport.send(mail, AbortSignal.timeout(this.sendTimeoutMs));
    } catch (error) {
      const failure = error instanceof MailDeliveryError ? error : new MailDeliveryError(errorText(error), false, undefined, { cause: error });
      if (failure.permanent) return this.fail(row, token, failure.message);
      if (row.attempts >= this.maxAttempts) return this.fail(row, token, `Gave up after ${row.attempts} attempts; the last: ${failure.message}`);
      const delay = Math.min(this.retryBaseMs * 2 ** (row.attempts - 1), this.retryMaxMs);
      await db.query(
        `UPDATE notification_outbox
            SET state = 'PENDING', next_attempt_at = $3::timestamptz, last_error = $4, claimed_until = NULL, claimed_by = NULL
          WHERE id = $1 AND claimed_by = $2 AND state = 'SENDING'`,
        [row.id, token, this.at(delay), failure.message],
      );
      logger.warn({ notificationId: row.id, attempt: row.attempts, retryInMs: delay, err: failure }, 'Notification not sent; will retry');
      return 'retrying';
    }
    // Whoever got a message through first records it; a later outcome never overwrites SENT.
    await db.query(
      `UPDATE notification_outbox
          SET state = 'SENT', sent_at = $2::timestamptz, message_id = $3, smtp_response = $4,
              claimed_until = NULL, claimed_by = NULL, next_attempt_at = NULL
        WHERE id = $1 AND state <> 'SENT'`,
      [row.id, this.at(), receipt.messageId, receipt.response],
    );
    logger.info({ notificationId: row.id, kind: row.kind, messageId: receipt.messageId }, 'Notification sent');
    return 'sent';
  }

  private async fail(row: ClaimedRow, token: string, reason: string): Promise<Outcome> {
    await this.dependencies.db.query(
      `UPDATE notification_outbox SET state = 'FAILED', last_error = $3, claimed_until = NULL, claimed_by = NULL
        WHERE id = $1 AND claimed_by = $2 AND state = 'SENDING'`,
      [row.id, token, reason],
    );
    this.dependencies.logger.error({ notificationId: row.id, kind: row.kind, reason }, 'Notification failed for good');
    return 'failed';
  }

  /** Rows claimed but not yet tried go back as they were, without counting an attempt. */
  private async release(ids: readonly string[], token: string): Promise<number> {
    const { rowCount } = await this.dependencies.db.query(
      `UPDATE notification_outbox SET state = 'PENDING', attempts = attempts - 1, claimed_until = NULL, claimed_by = NULL
        WHERE id = ANY($1::text[]) AND claimed_by = $2 AND state = 'SENDING'`,
      [ids, token],
    );
    return rowCount;
  }
}
