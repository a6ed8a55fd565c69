import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SendMailOptions, Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type StreamTransport from 'nodemailer/lib/stream-transport';

/**
 * Where notification e-mails go: an SMTP server (nodemailer), or, with none configured, a local
 * mailbox file a newcomer can open in any mail reader (or `less`).
 */

export interface MailAttachment {
  readonly filename: string;
  readonly contentType: string;
  readonly content: string;
}

export interface OutgoingMail {
  /** The outbox row: also names the message (`X-Notification-Id`, and the Message-ID below). */
  readonly notificationId: string;
  readonly kind: string;
  readonly eventId: string;
  /** `"Name" <address>` or a bare address. */
  readonly from: string;
  readonly to: { readonly name: string; readonly address: string };
  readonly subject: string;
  readonly text: string;
  /** Files sent with the message (the manager report's CSV). */
  readonly attachments?: readonly MailAttachment[];
  /** `<local@domain>`, the same on every attempt: a receiving system can drop a duplicate by it. */
  readonly messageId: string;
  readonly date: Date;
}

export interface MailReceipt {
  readonly messageId: string;
  /** What the server (or the mailbox) said when it took the message. */
  readonly response: string;
}

export interface MailTransport {
  /** For logs: where messages go, without credentials. */
  readonly description: string;
  /**
   * Resolves once the message was accepted; throws `MailDeliveryError` when it was not. `signal`
   * bounds the attempt: an aborted send is a transient failure (the server may or may not have it).
   */
  send(message: OutgoingMail, signal?: AbortSignal): Promise<MailReceipt>;
  close(): Promise<void>;
}

/** A refused or failed send. `permanent`: sending the same message again would fail again. */
export class MailDeliveryError extends Error {
  override readonly name = 'MailDeliveryError';
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly responseCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * nodemailer, loaded at the first message rather than at start: a server that sends nothing for a
 * while should not pay its module loading before it answers (BENCHMARKS.md, embedded-rest).
 */
const nodemailer = async () => import('nodemailer');

const MESSAGE_ID_LOCAL_PART = /[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]/g;

/**
 * The Message-ID of an outbox row: derived from its id alone, so a resend after a crash carries the
 * same one. Outbox ids are `${eventId}:${role}`; the colon is not allowed in a local part.
 */
export const messageIdFor = (notificationId: string, domain: string): string =>
  `<notification.${notificationId.replace(MESSAGE_ID_LOCAL_PART, '.')}@${domain}>`;

/** The bare address of `"Name" <address>` (or of a bare address). */
const addressOf = (mailbox: string): string => /<([^>]+)>/.exec(mailbox)?.[1]?.trim() ?? mailbox.trim();

/** The domain of the sender's address (for Message-IDs), `localhost` when it has none. */
export const domainOf = (from: string): string => /@([A-Za-z0-9.-]+)$/.exec(addressOf(from))?.[1]?.toLowerCase() ?? 'localhost';

const mailOptions = (mail: OutgoingMail): SendMailOptions => ({
  from: mail.from,
  to: { name: mail.to.name, address: mail.to.address },
  subject: mail.subject,
  text: mail.text,
  ...(mail.attachments && mail.attachments.length > 0
    ? { attachments: mail.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })) }
    : {}),
  messageId: mail.messageId,
  date: mail.date,
  headers: {
    'X-Notification-Id': mail.notificationId,
    'X-Notification-Kind': mail.kind,
    'X-Event-Id': mail.eventId,
    // RFC 3834: tells auto-responders (out-of-office replies) not to answer.
    'Auto-Submitted': 'auto-generated',
  },
});

interface SmtpErrorShape {
  readonly code?: string;
  readonly responseCode?: number;
  readonly response?: string;
  readonly permanent?: boolean;
}

/**
 * A 5xx reply (except 503, a session out of step) refuses this message for good: retrying sends
 * the same refusal. Everything else (4xx, timeouts, a dropped connection, no server) may go through
 * later. A refused login is an operator's mistake, not the message's, so it is retried too: the
 * messages wait for the credentials to be fixed instead of failing.
 */
export const classifySmtpError = (error: unknown): MailDeliveryError => {
  const shape: SmtpErrorShape = typeof error === 'object' && error !== null ? (error as SmtpErrorShape) : {};
  const code = shape.responseCode;
  const refused = shape.permanent ?? (code !== undefined && code >= 500 && code < 600 && code !== 503);
  const permanent = refused && shape.code !== 'EAUTH';
  const text = error instanceof Error ? error.message : String(error);
  return new MailDeliveryError(text, permanent, code, { cause: error });
};

const redactUrl = (url: string): string => url.replace(/\/\/([^@/]*)@/, (_, credentials: string) => (credentials.includes(':') ? '//***:***@' : '//***@'));

export interface SmtpTransportOptions {
  /** Waits of one connection; each is far shorter than a worker's lease. */
  readonly connectionTimeoutMs?: number;
  readonly greetingTimeoutMs?: number;
  readonly socketTimeoutMs?: number;
}

/**
 * SMTP through nodemailer, one connection per message (notifications are few; a pool would keep
 * connections open that a crash leaves half-used). `url` as nodemailer reads it:
 * `smtp://user:pass@host:587`, `smtps://host:465`; query parameters override the options.
 */
export const smtpTransport = (url: string, options: SmtpTransportOptions = {}): MailTransport => {
  let transporter: Transporter<SMTPTransport.SentMessageInfo> | null = null;
  const connect = async (): Promise<Transporter<SMTPTransport.SentMessageInfo>> =>
    (transporter ??= (await nodemailer()).createTransport({
      url,
      connectionTimeout: options.connectionTimeoutMs ?? 30_000,
      greetingTimeout: options.greetingTimeoutMs ?? 30_000,
      socketTimeout: options.socketTimeoutMs ?? 60_000,
    }));
  return {
    description: `SMTP ${redactUrl(url)}`,
    async send(mail, signal) {
      try {
        const info = await (await connect()).sendMail({ ...mailOptions(mail), ...(signal ? { signal } : {}) });
        return { messageId: info.messageId, response: info.response };
      } catch (error) {
        throw classifySmtpError(error);
      }
    },
    async close() {
      transporter?.close();
    },
  };
};

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const twoDigits = (n: number): string => String(n).padStart(2, '0');

/** asctime(3) in UTC, as the `From ` line of an mbox entry has it: `Tue Nov 24 10:00:00 2026`. */
const asctime = (d: Date): string =>
  `${WEEKDAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ` +
  `${twoDigits(d.getUTCHours())}:${twoDigits(d.getUTCMinutes())}:${twoDigits(d.getUTCSeconds())} ${d.getUTCFullYear()}`;

/** mboxrd: a body line that could be read as the start of the next entry gets one more `>`. */
const escapeFromLines = (message: string): string => message.replace(/^(>*From )/gm, '>$1');

/**
 * Appends each message to `file` in mbox format (mboxrd), creating the file and its directory when
 * missing. Every append is flushed to disk before the send resolves, and appends from one process
 * are serialised so two entries never interleave.
 */
export const mailboxFileTransport = (file: string): MailTransport => {
  let composer: Transporter<StreamTransport.SentMessageInfo> | null = null;
  const compose = async (): Promise<Transporter<StreamTransport.SentMessageInfo>> => (composer ??= (await nodemailer()).createTransport({ streamTransport: true, buffer: true, newline: 'unix' }));
  let queue: Promise<unknown> = Promise.resolve();
  const append = async (entry: string): Promise<void> => {
    await mkdir(dirname(file), { recursive: true });
    const handle = await open(file, 'a');
    try {
      await handle.write(entry);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  };
  return {
    description: `mailbox file ${file}`,
    async send(mail) {
      let raw: string;
      let messageId: string;
      try {
        const info = await (await compose()).sendMail(mailOptions(mail));
        raw = (info.message as Buffer).toString('utf8');
        messageId = info.messageId;
      } catch (error) {
        // The message itself cannot be built (e.g. an address nodemailer refuses): no retry helps.
        throw new MailDeliveryError(error instanceof Error ? error.message : String(error), true, undefined, { cause: error });
      }
      const sender = addressOf(mail.from).replace(/\s+/g, '') || 'MAILER-DAEMON';
      const body = escapeFromLines(raw.endsWith('\n') ? raw : `${raw}\n`);
      const entry = `From ${sender} ${asctime(mail.date)}\n${body}\n`;
      const written = queue.then(() => append(entry));
      queue = written.catch(() => undefined);
      try {
        await written;
      } catch (error) {
        throw new MailDeliveryError(`Could not append to ${file}: ${error instanceof Error ? error.message : String(error)}`, false, undefined, {
          cause: error,
        });
      }
      return { messageId, response: `appended to ${file}` };
    },
    async close() {
      await queue;
    },
  };
};
