import type { SendingRow } from '../notifications/worker';
import type { OneClickLinks } from './oneClickLinks';

const ANY_MARKER = /\[\[one-click:[A-Z_]+:[^\]]*\]\]/g;

/**
 * The worker's last touches before an e-mail goes out (see `NotificationWorkerOptions.finish`):
 * signed one-click links in place of their markers, and the administrators' address on e-mails to them.
 */
export const mailFinishing =
  (options: { readonly links: OneClickLinks | null; readonly adminNotificationEmail: string | undefined }) =>
  (row: SendingRow): { toAddress: string | null; body: string; missing?: string } => {
    const body = options.links
      ? options.links.fillLinks(row.body, { userId: row.recipientUserId, notificationId: row.id, writtenAt: row.createdAt })
      : row.body.replace(ANY_MARKER, '(sign in to your dashboard)');
    if (row.recipientRole !== 'ADMIN') return { toAddress: row.toAddress, body };
    if (options.adminNotificationEmail) return { toAddress: options.adminNotificationEmail, body };
    return {
      toAddress: null,
      body,
      missing: 'ADMIN_NOTIFICATION_EMAIL is not set, so e-mails to the program\'s administrators have no address; set it to send the e-mails queued afterwards.',
    };
  };
