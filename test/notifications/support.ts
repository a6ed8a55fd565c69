import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import {
  DEFAULT_CLOSURE_REASONS,
  DEFAULT_PROGRAM_SETTINGS,
  matchStream,
  personaIdFor,
  programStream,
  userIdForEmail,
  userStream,
  type LifecycleEvent,
  type MatchEvent,
  type NotificationKind,
  type NotificationTemplate,
} from '../../src/domain';
import { appendToStream, type EventStore, type RecordedEvent } from '../../src/eventstore/eventStore';

/** Test helpers: a real SMTP server in the test process, raw messages read back, and lifecycle events to append. */

export interface ReceivedMessage {
  readonly raw: string;
  /** Lower-cased names, unfolded values. */
  readonly headers: ReadonlyMap<string, string>;
  readonly notificationId: string;
  readonly messageId: string;
  readonly subject: string;
  readonly to: string;
  /** The decoded text body, LF line ends. */
  readonly text: string;
}

/** How the server answers one message: accept it, refuse it with a reply code, or never answer. */
export type SmtpAnswer = { readonly accept: true } | { readonly code: number; readonly text: string } | { readonly hang: true };

const decodeQuotedPrintable = (text: string): string =>
  Buffer.from(
    text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  ).toString('utf8');

const decodeEncodedWords = (value: string): string =>
  value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([QB])\?([^?]*)\?=/gi, (_, _charset: string, encoding: string, data: string) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : decodeQuotedPrintable(data.replace(/_/g, ' ')),
    );

export const parseMessage = (raw: string): ReceivedMessage => {
  const normalized = raw.replace(/\r\n/g, '\n');
  const split = normalized.indexOf('\n\n');
  const head = normalized.slice(0, split);
  const body = normalized.slice(split + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const text =
    encoding === 'quoted-printable'
      ? decodeQuotedPrintable(body)
      : encoding === 'base64'
        ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
        : body;
  return {
    raw,
    headers,
    notificationId: headers.get('x-notification-id') ?? '',
    messageId: headers.get('message-id') ?? '',
    subject: decodeEncodedWords(headers.get('subject') ?? ''),
    to: decodeEncodedWords(headers.get('to') ?? ''),
    text,
  };
};

export interface TestSmtpServer {
  readonly url: string;
  /** Every message the server took in full, whatever it answered. */
  readonly seen: ReceivedMessage[];
  /** The messages it accepted (answered 250). */
  readonly accepted: ReceivedMessage[];
  /** Accepted messages per X-Notification-Id. */
  acceptedCounts(): Map<string, number>;
  /** Connection errors the server saw (a client killed mid-conversation resets its socket: ECONNRESET). */
  readonly connectionErrors: Error[];
  close(): Promise<void>;
}

/**
 * An SMTP server on a free port of 127.0.0.1. `answer` decides each message once its whole DATA has
 * arrived (the moment before the reply); it may wait.
 */
export const startSmtpServer = async (
  answer: (message: ReceivedMessage, seen: readonly ReceivedMessage[]) => SmtpAnswer | Promise<SmtpAnswer> = () => ({ accept: true }),
): Promise<TestSmtpServer> => {
  const seen: ReceivedMessage[] = [];
  const accepted: ReceivedMessage[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 1_000,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const message = parseMessage(Buffer.concat(chunks).toString('utf8'));
        seen.push(message);
        void Promise.resolve(answer(message, seen)).then(
          (reply) => {
            if ('hang' in reply) return;
            if ('code' in reply) {
              callback(Object.assign(new Error(reply.text), { responseCode: reply.code }));
              return;
            }
            accepted.push(message);
            callback(null, `Queued as ${randomUUID()}`);
          },
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
        );
      });
    },
  });
  // smtp-server re-emits a connection's socket error on the server; unheard, it would be an uncaught
  // exception of whichever test runs (a client process killed with SIGKILL resets its connection).
  const connectionErrors: Error[] = [];
  server.on('error', (error: Error) => connectionErrors.push(error));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    seen,
    accepted,
    connectionErrors,
    acceptedCounts() {
      const counts = new Map<string, number>();
      for (const message of accepted) counts.set(message.notificationId, (counts.get(message.notificationId) ?? 0) + 1);
      return counts;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/** A clock the test moves. */
export const testClock = (startAt = '2026-11-23T15:00:00.000Z') => {
  let now = new Date(startAt);
  return {
    now: () => now,
    advance(ms: number) {
      now = new Date(now.getTime() + ms);
    },
  };
};

// ---------------------------------------------------------------------------------------------
// Lifecycle events

export const PROGRAM_ID = 'prog-notify';

export const person = (name: string) => {
  const email = `${name.split(' ')[0]!.toLowerCase()}@example.org`;
  const userId = userIdForEmail(email);
  return { name, email, userId, personaId: personaIdFor(userId, 1) };
};
export type Person = ReturnType<typeof person>;

export const MARIA = person('Maria Mentor');
export const THEO = person('Theo Mentee');

let appended = 0;

/** Appends one event as the command pipeline would (one stream, `any` revision); returns it as recorded. */
export const append = async (
  store: EventStore,
  streamId: string,
  event: LifecycleEvent,
  occurredAt = '2026-11-23T15:00:00.000Z',
): Promise<RecordedEvent> => {
  appended++;
  const result = await appendToStream(store, streamId, 'any', [
    {
      id: randomUUID(),
      type: event.type,
      schemaVersion: 1,
      data: event.data,
      metadata: {
        occurredAt,
        actor: { id: 'alice', role: 'admin' },
        correlationId: randomUUID(),
        causationId: randomUUID(),
        command: `Test${appended}`,
      },
    },
  ]);
  return result.events[0]!;
};

export const createProgram = (store: EventStore, timeZone = 'America/New_York', name = 'Riverside 2026', programId = PROGRAM_ID) =>
  append(store, programStream(programId), {
    type: 'ProgramCreated',
    data: {
      programId,
      name,
      timeZone,
      settings: { ...DEFAULT_PROGRAM_SETTINGS, matchingEnabled: true },
      partnerSites: [],
      mentorSiteLists: [],
      closureReasons: [...DEFAULT_CLOSURE_REASONS],
    },
  });

export const register = (store: EventStore, who: Person, role: 'MENTOR' | 'MENTEE', programId = PROGRAM_ID) =>
  append(store, userStream(who.userId), {
    type: 'UserRegistered',
    data: {
      userId: who.userId,
      email: who.email,
      normalizedEmail: who.email,
      name: who.name,
      programId,
      role,
      company: null,
      manager: null,
      userStatus: 'AI',
    },
  });

export const setTemplate = (store: EventStore, kind: NotificationKind, template: NotificationTemplate | null, programId = PROGRAM_ID) =>
  append(store, programStream(programId), { type: 'NotificationTemplateSet', data: { programId, kind, template } });

export const invite = (store: EventStore, mentee: Person, programId = PROGRAM_ID) =>
  append(store, userStream(mentee.userId), {
    type: 'MenteeInvitedToMatch',
    data: { userId: mentee.userId, personaId: mentee.personaId, programId },
  });

export const pair = (matchId: string, mentor: Person, mentee: Person, programId = PROGRAM_ID) => ({
  matchId,
  programId,
  mentorUserId: mentor.userId,
  mentorPersonaId: mentor.personaId,
  menteeUserId: mentee.userId,
  menteePersonaId: mentee.personaId,
});

export const matchEvent = (store: EventStore, event: MatchEvent, occurredAt?: string) =>
  append(store, matchStream(event.data.matchId), event, occurredAt);

export const activate = (store: EventStore, matchId: string, mentor: Person, mentee: Person, endsAt: string | null = null) =>
  matchEvent(store, {
    type: 'MatchActivated',
    data: { matchId, programId: PROGRAM_ID, mentorPersonaId: mentor.personaId, menteePersonaId: mentee.personaId, endsAt },
  });
