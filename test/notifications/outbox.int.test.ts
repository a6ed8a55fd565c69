import { againInBatches, applyBatches } from '../support/applyBatches';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notificationsProjection } from '../../projections/notifications/notifications.projection';
import { DEFAULT_TEMPLATES } from '../../src/domain';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { createLogger } from '../../src/log';
import { listOutbox, retryFailedNotification, type OutboxEntry } from '../../src/notifications/outboxQueries';
import { mailboxFileTransport, smtpTransport, type MailTransport } from '../../src/notifications/transport';
import { NotificationWorker, type NotificationWorkerOptions } from '../../src/notifications/worker';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { announcePostgresSkip, sqlBackends, type TestDatabase } from '../support/databases';
import {
  MARIA,
  PROGRAM_ID,
  THEO,
  activate,
  createProgram,
  invite,
  matchEvent,
  pair,
  parseMessage,
  person,
  register,
  setTemplate,
  startSmtpServer,
  testClock,
  type TestSmtpServer,
} from './support';

announcePostgresSkip('notification outbox');

const logger = createLogger({ level: 'silent' });
const FROM = '"Riverside mentoring" <noreply@riverside.example>';

describe.each(sqlBackends())('notification outbox on $name', ({ open }) => {
  let database: TestDatabase;
  let db: SqlDatabase;
  let store: SqlEventStore;
  let runner: ProjectionRunner;
  let smtp: TestSmtpServer | undefined;
  const transports: MailTransport[] = [];

  beforeEach(async () => {
    database = await open();
    db = database.db;
    store = await SqlEventStore.create(db);
    runner = await ProjectionRunner.create(store, db, [notificationsProjection], {});
  });

  afterEach(async () => {
    for (const transport of transports.splice(0)) await transport.close();
    await smtp?.close();
    smtp = undefined;
    await database.close();
  });

  const worker = (transport: MailTransport, clock: () => Date, options: Partial<NotificationWorkerOptions> = {}) => {
    transports.push(transport);
    return new NotificationWorker({ db, transport, clock, logger }, { from: FROM, retryBaseMs: 60_000, ...options });
  };

  const smtpWorker = (server: TestSmtpServer, clock: () => Date = testClock().now, options: Partial<NotificationWorkerOptions> = {}) =>
    worker(smtpTransport(server.url), clock, options);

  /** Maria (mentor) and Theo (mentee) registered in a program in New York time. */
  const seedProgram = async () => {
    await createProgram(store);
    await register(store, MARIA, 'MENTOR');
    await register(store, THEO, 'MENTEE');
  };

  const outbox = async (): Promise<OutboxEntry[]> => (await listOutbox(db, { limit: 500 })).reverse();

  test('every notifying event gets its e-mail, to the right people, rendered with the defaults in the program time zone', async () => {
    await seedProgram();
    await invite(store, THEO);
    await matchEvent(store, {
      type: 'MatchRequested',
      data: {
        ...pair('m-1', MARIA, THEO),
        requestedBy: 'MENTEE',
        requiredApprovals: ['MENTOR'],
        pendingApprovals: ['MENTOR'],
        expiresAt: '2026-11-26T15:00:00.000Z',
        message: 'I would love to learn about robotics.',
      },
    });
    await matchEvent(store, {
      type: 'MatchRequestDeclined',
      data: { ...pair('m-1', MARIA, THEO), requestedBy: 'MENTEE', party: 'MENTOR', message: 'My calendar is full this term.' },
    });
    await matchEvent(store, {
      type: 'MatchRequested',
      data: {
        ...pair('m-2', MARIA, THEO),
        requestedBy: 'MENTOR',
        requiredApprovals: ['MENTEE', 'ADMIN'],
        pendingApprovals: ['MENTEE', 'ADMIN'],
        expiresAt: '2026-11-26T15:00:00.000Z',
        message: null,
      },
    });
    await matchEvent(store, {
      type: 'MatchRequestExpired',
      data: { ...pair('m-2', MARIA, THEO), requestedBy: 'MENTOR', expiresAt: '2026-11-26T15:00:00.000Z' },
    });
    // Only the staff is asked: no participant e-mail; the administrators get theirs (issue 18), as for m-2.
    await matchEvent(store, {
      type: 'MatchRequested',
      data: {
        ...pair('m-3', MARIA, THEO),
        requestedBy: 'MENTEE',
        requiredApprovals: ['ADMIN'],
        pendingApprovals: ['ADMIN'],
        expiresAt: '2026-11-26T15:00:00.000Z',
        message: null,
      },
    });
    // Nobody to ask: it goes live in the same append, and MatchActivated tells both.
    await matchEvent(store, {
      type: 'MatchRequested',
      data: {
        ...pair('m-4', MARIA, THEO),
        requestedBy: 'MENTEE',
        requiredApprovals: [],
        pendingApprovals: [],
        expiresAt: '2026-11-26T15:00:00.000Z',
        message: null,
      },
    });
    await activate(store, 'm-4', MARIA, THEO, '2027-05-23T14:00:00.000Z');
    await runner.catchUp();

    const all = await outbox();
    // E-mails to the administrators: addressed when sent (ADMIN_NOTIFICATION_EMAIL), so no address here.
    const toAdmins = all.filter((r) => r.recipientRole === 'ADMIN');
    expect(toAdmins.map((r) => [r.kind, r.toAddress, r.state, r.subject])).toEqual([
      ['ADMIN_APPROVAL_REQUEST', null, 'PENDING', 'A match request in Riverside 2026 waits for your approval'],
      ['ADMIN_APPROVAL_REQUEST', null, 'PENDING', 'A match request in Riverside 2026 waits for your approval'],
    ]);
    expect(toAdmins[0]!.body).toContain('Maria Mentor asked for a match in Riverside 2026 (mentor: Maria Mentor, mentee: Theo Mentee)');
    const rows = all.filter((r) => r.recipientRole !== 'ADMIN');
    expect(rows.map((r) => [r.kind, r.recipientRole, r.toAddress, r.state])).toEqual([
      ['PREFERENCES_INVITATION', 'MENTEE', 'theo@example.org', 'PENDING'],
      ['MATCH_REQUEST', 'MENTOR', 'maria@example.org', 'PENDING'],
      ['REQUEST_DECLINED', 'MENTEE', 'theo@example.org', 'PENDING'],
      ['MATCH_REQUEST', 'MENTEE', 'theo@example.org', 'PENDING'],
      ['REQUEST_EXPIRED', 'MENTOR', 'maria@example.org', 'PENDING'],
      ['MATCH_ACTIVATED', 'MENTEE', 'theo@example.org', 'PENDING'],
      ['MATCH_ACTIVATED', 'MENTOR', 'maria@example.org', 'PENDING'],
    ]);
    expect(all.every((r) => r.id === `${r.eventId}:${r.recipientRole}` && r.programId === PROGRAM_ID)).toBe(true);

    const [invitation, request, declined, askMentee, expired, activatedMentee, activatedMentor] = rows;
    expect(invitation!.subject).toBe('Submit Your Mentor Preferences for Riverside 2026');
    expect(invitation!.body).toContain('Hello Theo Mentee,');
    expect(request!.subject).toBe('Theo Mentee would like to be matched with you in Riverside 2026');
    expect(request!.body).toContain('Their message: I would love to learn about robotics.');
    // 15:00 UTC is 10:00 in New York in November.
    expect(request!.body).toContain('Please approve or decline the request by Thursday, November 26, 2026 at 10:00 AM EST.');
    expect(declined!.subject).toBe('Your match request in Riverside 2026 was declined');
    expect(declined!.body).toContain('Maria Mentor declined your match request in Riverside 2026.');
    expect(declined!.body).toContain('Their message: My calendar is full this term.');
    expect(askMentee!.subject).toBe('Maria Mentor would like to be matched with you in Riverside 2026');
    expect(askMentee!.body).toContain('Their message: (none)');
    expect(expired!.body).toContain('(mentor: Maria Mentor, mentee: Theo Mentee)');
    expect(activatedMentor!.subject).toBe('Mentorship Assignment: Riverside 2026');
    expect(activatedMentor!.body).toContain('Hello Maria Mentor,');
    expect(activatedMentee!.body).toContain('Hello Theo Mentee,');
    expect(activatedMentee!.body).toContain('Mentor: Maria Mentor <maria@example.org>\nMentee: Theo Mentee <theo@example.org>');
    expect(activatedMentee!.body).toContain('The match runs until Sunday, May 23, 2027 at 10:00 AM EDT.');

    // And that is what the server receives.
    smtp = await startSmtpServer();
    const round = await smtpWorker(smtp).drain();
    // The two e-mails to the administrators have no address for a worker not told one (ADMIN_NOTIFICATION_EMAIL): FAILED, not sent.
    expect(round).toMatchObject({ claimed: 9, sent: 7, retrying: 0, failed: 2 });
    expect(smtp.accepted.map((m) => m.notificationId)).toEqual(rows.map((r) => r.id));
    const received = smtp.accepted[6]!;
    expect(received.subject).toBe('Mentorship Assignment: Riverside 2026');
    expect(received.to).toBe('Maria Mentor <maria@example.org>');
    expect(received.headers.get('from')).toBe('Riverside mentoring <noreply@riverside.example>');
    expect(received.headers.get('x-notification-kind')).toBe('MATCH_ACTIVATED');
    expect(received.headers.get('auto-submitted')).toBe('auto-generated');
    expect(received.messageId).toBe(`<notification.${rows[6]!.eventId}.MENTOR@riverside.example>`);
    expect(received.text).toBe(activatedMentor!.body);
    const after = await outbox();
    expect(after.filter((r) => r.recipientRole === 'ADMIN').map((r) => [r.state, r.lastError])).toEqual([
      ['FAILED', 'No e-mail address is known for the recipient.'],
      ['FAILED', 'No e-mail address is known for the recipient.'],
    ]);
    const sent = after.filter((r) => r.recipientRole !== 'ADMIN');
    expect(sent.every((r) => r.state === 'SENT' && r.attempts === 1 && r.sentAt !== null && r.lastError === null)).toBe(true);
    expect(sent[0]!.messageId).toBe(smtp.accepted[0]!.messageId);
    expect(sent[0]!.smtpResponse).toMatch(/^250 /);
  });

  test("a program's template is used while it is in force, and the default again after a reset", async () => {
    await seedProgram();
    await setTemplate(store, 'MATCH_ACTIVATED', {
      subject: 'Welcome to your match, {{recipientName}}',
      body: 'Dear {{recipientName}},\n{{mentorName}} mentors {{menteeName}} in {{programName}} until {{endsAt}}.\n',
    });
    await setTemplate(store, 'PREFERENCES_INVITATION', { subject: 'Pick a mentor', body: 'Go, {{recipientName}}!\n' });
    await activate(store, 'm-1', MARIA, THEO);
    await invite(store, THEO);
    await setTemplate(store, 'MATCH_ACTIVATED', null);
    await activate(store, 'm-2', MARIA, THEO, '2027-01-15T17:00:00.000Z');
    await runner.catchUp();

    const [, custom, invitation, , reset] = await outbox();
    expect(custom!.subject).toBe('Welcome to your match, Maria Mentor');
    expect(custom!.body).toBe('Dear Maria Mentor,\nMaria Mentor mentors Theo Mentee in Riverside 2026 until further notice.\n');
    expect(invitation!.subject).toBe('Pick a mentor');
    expect(reset!.subject).toBe('Mentorship Assignment: Riverside 2026');
    expect(reset!.body).toContain('The match runs until Friday, January 15, 2027 at 12:00 PM EST.');
    expect(reset!.body).toBe(
      DEFAULT_TEMPLATES.MATCH_ACTIVATED.body
        .replace('{{recipientName}}', 'Maria Mentor')
        .replace('{{programName}}', 'Riverside 2026')
        .replace('{{mentorName}}', 'Maria Mentor')
        .replace('{{mentorEmail}}', 'maria@example.org')
        .replace('{{menteeName}}', 'Theo Mentee')
        .replace('{{menteeEmail}}', 'theo@example.org')
        .replace('{{endsAt}}', 'Friday, January 15, 2027 at 12:00 PM EST'),
    );
  });

  test('rebuilding or replaying the projection adds no row and sends nothing again', async () => {
    await seedProgram();
    await invite(store, THEO);
    await activate(store, 'm-1', MARIA, THEO);
    await runner.catchUp();
    smtp = await startSmtpServer();
    const sender = smtpWorker(smtp);
    expect((await sender.drain()).sent).toBe(3);
    const before = await outbox();

    await runner.rebuild('notifications');
    await runner.catchUp();
    // A replay beside the live tables (rows kept in memory, one event a batch) renders nothing into the live outbox.
    await runner.replay(['notifications'], undefined, 1);
    // Applying events a second time (as a retried batch would, whole or one by one) changes nothing either.
    const events = await store.readAll({});
    for (const batches of againInBatches(events)) await db.transaction(async (tx) => applyBatches(tx, notificationsProjection, batches));
    // A second runner starting from zero (a new instance with its own checkpoint table) likewise.
    await db.query(`DELETE FROM projection_checkpoints`);
    await (await ProjectionRunner.create(store, db, [notificationsProjection], {})).catchUp();

    expect(await outbox()).toEqual(before);
    expect(await sender.drain()).toMatchObject({ claimed: 0 });
    expect(smtp.accepted).toHaveLength(3);
    // The contacts and programs were rebuilt: a new event still renders with names.
    await invite(store, THEO);
    await runner.catchUp();
    const latest = (await outbox()).at(-1)!;
    expect(latest.body).toContain('Hello Theo Mentee,');
    expect(latest.subject).toBe('Submit Your Mentor Preferences for Riverside 2026');
  });

  test('a transient refusal (451) is retried after the back-off and the message is delivered once', async () => {
    await seedProgram();
    await invite(store, THEO);
    await runner.catchUp();
    smtp = await startSmtpServer((_message, seen) =>
      seen.length === 1 ? { code: 451, text: 'Greylisted, try again later' } : { accept: true },
    );
    const clock = testClock();
    const sender = smtpWorker(smtp, clock.now);

    expect(await sender.runOnce()).toMatchObject({ claimed: 1, retrying: 1 });
    let [row] = await outbox();
    expect(row).toMatchObject({ state: 'PENDING', attempts: 1, sentAt: null });
    expect(row!.lastError).toContain('451');
    expect(row!.nextAttemptAt).toBe('2026-11-23T15:01:00.000Z');

    // Not before its time.
    expect(await sender.runOnce()).toMatchObject({ claimed: 0 });
    clock.advance(60_000);
    expect(await sender.drain()).toMatchObject({ claimed: 1, sent: 1 });
    [row] = await outbox();
    expect(row).toMatchObject({ state: 'SENT', attempts: 2 });
    expect(smtp.seen).toHaveLength(2);
    expect([...smtp.acceptedCounts()]).toEqual([[row!.id, 1]]);
    // Both attempts carried the same Message-ID.
    expect(smtp.seen[0]!.messageId).toBe(smtp.seen[1]!.messageId);
  });

  test('a permanent refusal (550) ends FAILED with the server error and is not retried', async () => {
    await seedProgram();
    await invite(store, THEO);
    await activate(store, 'm-1', MARIA, THEO);
    await runner.catchUp();
    let theoFixed = false;
    smtp = await startSmtpServer((message) =>
      message.to.includes('theo@') && !theoFixed ? { code: 550, text: 'Mailbox unavailable' } : { accept: true },
    );
    const clock = testClock();
    const sender = smtpWorker(smtp, clock.now);
    expect(await sender.drain()).toMatchObject({ claimed: 3, sent: 1, failed: 2 });
    clock.advance(24 * 60 * 60_000);
    expect(await sender.drain()).toMatchObject({ claimed: 0 });
    const failed = await listOutbox(db, { state: 'FAILED' });
    expect(failed).toHaveLength(2);
    expect(failed.every((r) => r.recipientUserId === THEO.userId && r.attempts === 1)).toBe(true);
    expect(failed[0]!.lastError).toContain('550');
    expect(failed[0]!.lastError).toContain('Mailbox unavailable');
    expect(await listOutbox(db, { state: 'SENT', recipientUserId: MARIA.userId })).toHaveLength(1);
    expect(await listOutbox(db, { programId: 'another-program' })).toEqual([]);

    // Once the mailbox is fixed, an admin puts them back in line.
    theoFixed = true;
    expect(await retryFailedNotification(db, failed[0]!.id)).toBe(true);
    expect(await retryFailedNotification(db, failed[0]!.id)).toBe(false);
    expect(await sender.drain()).toMatchObject({ claimed: 1, sent: 1 });
    expect(await listOutbox(db, { state: 'FAILED' })).toHaveLength(1);
    expect(smtp.acceptedCounts().get(failed[0]!.id)).toBe(1);
  });

  test('an unreachable server is a transient failure', async () => {
    await seedProgram();
    await invite(store, THEO);
    await runner.catchUp();
    const closed = await startSmtpServer();
    const unreachable = closed.url;
    await closed.close();
    expect(await worker(smtpTransport(unreachable), testClock().now).drain()).toMatchObject({ claimed: 1, retrying: 1 });
    const [row] = await outbox();
    expect(row).toMatchObject({ state: 'PENDING', attempts: 1 });
    expect(row!.lastError).toMatch(/ECONNREFUSED|connect/i);
  });

  test('with a maximum age, e-mails of events older than that are not sent', async () => {
    await seedProgram();
    await invite(store, THEO);
    await runner.catchUp();
    smtp = await startSmtpServer();
    const clock = testClock();
    clock.advance(3 * 24 * 60 * 60_000);
    expect(await smtpWorker(smtp, clock.now, { maxAgeMs: 2 * 24 * 60 * 60_000 }).drain()).toMatchObject({ claimed: 0 });
    const [row] = await outbox();
    expect(row).toMatchObject({ state: 'FAILED', attempts: 0 });
    expect(row!.lastError).toBe('Not sent: its event was more than 2 days old when it could first be sent.');
    expect(smtp.seen).toHaveLength(0);
  });

  test('a transient failure that never clears ends FAILED after the last attempt', async () => {
    await seedProgram();
    await invite(store, THEO);
    await runner.catchUp();
    smtp = await startSmtpServer(() => ({ code: 421, text: 'Service not available' }));
    const clock = testClock();
    const sender = smtpWorker(smtp, clock.now, { maxAttempts: 3 });
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await sender.drain()).toMatchObject({ claimed: 1 });
      clock.advance(60 * 60_000);
    }
    const [row] = await outbox();
    expect(row).toMatchObject({ state: 'FAILED', attempts: 3 });
    expect(row!.lastError).toMatch(/^Gave up after 3 attempts; the last: .*421/);
    expect(smtp.accepted).toHaveLength(0);
  });

  test('an e-mail for someone without a known address is kept as FAILED, never sent', async () => {
    await createProgram(store);
    const stranger = person('Sam Stranger');
    await invite(store, stranger);
    await runner.catchUp();
    const [row] = await outbox();
    expect(row).toMatchObject({ state: 'FAILED', toAddress: null, recipientUserId: stranger.userId });
    expect(row!.lastError).toContain('No e-mail address is known');
  });

  test('two workers running at once deliver every message exactly once', async () => {
    await createProgram(store);
    const mentees = Array.from({ length: 12 }, (_, i) => person(`Mentee${i} Example`));
    const mentors = Array.from({ length: 12 }, (_, i) => person(`Mentor${i} Example`));
    for (const [i, mentee] of mentees.entries()) {
      await register(store, mentee, 'MENTEE');
      await register(store, mentors[i]!, 'MENTOR');
      await invite(store, mentee);
      await activate(store, `m-${i}`, mentors[i]!, mentee);
    }
    await runner.catchUp();
    const expected = (await outbox()).map((r) => r.id);
    expect(expected).toHaveLength(36);

    smtp = await startSmtpServer(async () => {
      // Answer slowly so the two workers' batches overlap.
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { accept: true };
    });
    const first = smtpWorker(smtp, testClock().now, { batchSize: 3 });
    const second = smtpWorker(smtp, testClock().now, { batchSize: 3 });
    const [a, b] = await Promise.all([first.drain(), second.drain()]);
    expect(a.sent + b.sent).toBe(36);
    expect(a.lost + b.lost).toBe(0);

    const counts = smtp.acceptedCounts();
    expect([...counts.keys()].sort()).toEqual([...expected].sort());
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect((await outbox()).every((r) => r.state === 'SENT')).toBe(true);
  });

  test('a row whose lease ran out while its batch waited is left to the worker that took it over', async () => {
    await seedProgram();
    await activate(store, 'm-1', MARIA, THEO);
    await runner.catchUp();
    let firstArrived!: () => void;
    let releaseFirst!: () => void;
    const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
    smtp = await startSmtpServer(async (_message, seen) => {
      if (seen.length === 1) {
        firstArrived();
        await new Promise<void>((release) => (releaseFirst = release));
      }
      return { accept: true };
    });
    const slow = smtpWorker(smtp, testClock().now, { batchSize: 2 });
    const slowRound = slow.runOnce();
    await arrived;
    // The second row of the slow worker's batch has waited past its lease.
    const waiting = await db.query(
      `UPDATE notification_outbox SET claimed_until = '2026-11-23T14:00:00Z' WHERE state = 'SENDING' AND id <> $1`,
      [smtp.seen[0]!.notificationId],
    );
    expect(waiting.rowCount).toBe(1);
    const other = smtpWorker(smtp, testClock().now);
    expect(await other.drain()).toMatchObject({ claimed: 1, sent: 1 });
    releaseFirst();
    expect(await slowRound).toMatchObject({ claimed: 2, sent: 1, lost: 1 });
    expect(smtp.accepted).toHaveLength(2);
    expect([...smtp.acceptedCounts().values()]).toEqual([1, 1]);
    expect((await outbox()).map((r) => r.state)).toEqual(['SENT', 'SENT']);
  });

  test('started workers send as rows arrive, and stop() finishes the message in hand and hands back the rest', async () => {
    await seedProgram();
    for (let i = 0; i < 4; i++) await activate(store, `m-${i}`, MARIA, THEO);
    await runner.catchUp();
    let firstArrived!: () => void;
    let releaseFirst!: () => void;
    const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
    const server = await startSmtpServer(async (_message, seen) => {
      if (seen.length === 1) {
        firstArrived();
        await new Promise<void>((release) => (releaseFirst = release));
      }
      return { accept: true };
    });
    smtp = server;
    const sender = smtpWorker(server, testClock().now, { batchSize: 5, pollMs: 60_000 });
    sender.start();
    await arrived;
    const stopped = sender.stop();
    releaseFirst();
    await stopped;

    const rows = await outbox();
    expect(rows.filter((r) => r.state === 'SENT')).toHaveLength(1);
    expect(rows.filter((r) => r.state === 'PENDING' && r.attempts === 0)).toHaveLength(7);
    expect(server.accepted).toHaveLength(1);

    // Started again, woken by notify() long before its next poll, it sends the rest.
    sender.start();
    await invite(store, THEO);
    await runner.catchUp();
    sender.notify();
    for (let waited = 0; (await listOutbox(db, { state: 'SENT' })).length < 9; waited++) {
      if (waited > 600) throw new Error('the restarted worker did not send the rest');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await sender.stop();
    expect(server.acceptedCounts().size).toBe(9);
    expect([...server.acceptedCounts().values()].every((n) => n === 1)).toBe(true);
  });

  test('without an SMTP server, messages land in a readable mbox file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailbox-'));
    try {
      await seedProgram();
      await setTemplate(store, 'PREFERENCES_INVITATION', {
        subject: 'Pick your mentor, {{recipientName}}',
        body: 'Hello {{recipientName}},\nFrom today you can choose a mentor in {{programName}}.\n>From the team\n',
      });
      await invite(store, THEO);
      await activate(store, 'm-1', MARIA, THEO);
      await runner.catchUp();
      const file = join(dir, 'nested', 'outbox.mbox');
      const round = await worker(mailboxFileTransport(file), testClock().now).drain();
      expect(round).toMatchObject({ sent: 3 });

      const mbox = readFileSync(file, 'utf8');
      const entries = mbox.split(/^From (?=\S+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$)/m).filter((e) => e !== '');
      expect(entries).toHaveLength(3);
      expect(mbox.startsWith('From noreply@riverside.example Mon Nov 23 15:00:00 2026\n')).toBe(true);
      // A reader of mboxrd drops the blank line that ends an entry and one ">" from each quoted "From " line.
      const messages = entries.map((entry) =>
        parseMessage(entry.slice(entry.indexOf('\n') + 1, -1).replace(/^>(>*From )/gm, '$1')),
      );
      const rows = await outbox();
      expect(messages.map((m) => m.notificationId)).toEqual(rows.map((r) => r.id));
      expect(messages[0]!.subject).toBe('Pick your mentor, Theo Mentee');
      expect(messages[0]!.text).toBe(rows[0]!.body);
      expect(mbox).not.toMatch(/^From today/m);
      expect(messages[1]!.subject).toBe('Mentorship Assignment: Riverside 2026');
      expect(messages[2]!.messageId).toBe(`<notification.${rows[2]!.eventId}.MENTOR@riverside.example>`);
      expect(rows.every((r) => r.state === 'SENT' && r.smtpResponse === `appended to ${file}`)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
