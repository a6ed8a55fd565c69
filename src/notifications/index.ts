import type { Logger } from '../log';
import type { SqlDatabase } from '../sql/sqlDatabase';
import { mailboxFileTransport, smtpTransport, type MailTransport } from './transport';
import { NotificationWorker, type NotificationWorkerOptions } from './worker';
import { NO_TRACING, tracedTransport, type Tracing } from '../observability/tracing';

export { notificationsProjection, NOTIFICATIONS_SCHEMA, NOTIFICATION_OUTBOX_TABLE } from '../../projections/notifications/notifications.projection';
export { NotificationWorker, type NotificationRound, type NotificationWorkerOptions } from './worker';
export {
  MailDeliveryError,
  mailboxFileTransport,
  messageIdFor,
  smtpTransport,
  type MailReceipt,
  type MailTransport,
  type OutgoingMail,
} from './transport';
export { listOutbox, retryFailedNotification, type OutboxEntry, type OutboxFilter, type OutboxState } from './outboxQueries';

export interface NotificationSettings {
  readonly db: SqlDatabase;
  /** `smtp://user:pass@host:587`, `smtps://host:465`. Unset: messages go to `mailboxFile`. */
  readonly smtpUrl?: string;
  /** The mbox file written when no SMTP server is configured. */
  readonly mailboxFile: string;
  readonly from: string;
  readonly clock: () => Date;
  readonly logger: Logger;
  /** A span per e-mail sent (OpenTelemetry; off by default). */
  readonly tracing?: Tracing;
  /** Tuning; see `NotificationWorkerOptions` for each default. */
  readonly worker?: Omit<NotificationWorkerOptions, 'from'>;
}

/** The transport configuration asks for: SMTP when a URL is given, the mailbox file otherwise. */
export const createMailTransport = (settings: Pick<NotificationSettings, 'smtpUrl' | 'mailboxFile'>): MailTransport =>
  settings.smtpUrl ? smtpTransport(settings.smtpUrl) : mailboxFileTransport(settings.mailboxFile);

/**
 * The worker the composition root starts beside the projection runner. The outbox table is created
 * by `notificationsProjection`'s schema, so create the runner first. `start()` it, call `notify()`
 * after the runner advanced (optional: it polls), and `close()` it on shutdown.
 */
export const createNotificationWorker = (settings: NotificationSettings): NotificationWorker =>
  new NotificationWorker(
    { db: settings.db, transport: tracedTransport(createMailTransport(settings), settings.tracing ?? NO_TRACING), clock: settings.clock, logger: settings.logger },
    { ...settings.worker, from: settings.from },
  );
