import { connect } from 'node:net';
import { humanDateTime, renderNotification } from '../../src/notifications/rendering';
import { classifySmtpError, domainOf, messageIdFor } from '../../src/notifications/transport';
import { startSmtpServer } from './support';

describe('SMTP failures', () => {
  test.each([
    { failure: 'a 550 reply', error: { responseCode: 550, permanent: true, code: 'EENVELOPE' }, verdict: 'permanent' },
    { failure: 'a 554 reply without the permanent flag', error: { responseCode: 554, code: 'EMESSAGE' }, verdict: 'permanent' },
    { failure: 'a 451 reply', error: { responseCode: 451, permanent: false, code: 'EMESSAGE' }, verdict: 'transient' },
    { failure: 'a 503 reply (session out of step)', error: { responseCode: 503, code: 'EPROTOCOL' }, verdict: 'transient' },
    { failure: 'a refused login (535)', error: { responseCode: 535, permanent: true, code: 'EAUTH' }, verdict: 'transient' },
    { failure: 'a refused connection', error: { code: 'ESOCKET', originalCode: 'ECONNREFUSED' }, verdict: 'transient' },
    { failure: 'a timeout', error: { code: 'ETIMEDOUT' }, verdict: 'transient' },
    { failure: 'a thrown string', error: 'boom', verdict: 'transient' },
  ])('$failure is $verdict', ({ error, verdict }) => {
    const failure = classifySmtpError(typeof error === 'string' ? error : Object.assign(new Error('failed'), error));
    expect(failure.permanent ? 'permanent' : 'transient').toBe(verdict);
  });
});

describe('Message-IDs', () => {
  test('are derived from the outbox id alone, in a form every server accepts', () => {
    const id = '0b6f0f5e-5d7e-4f43-9c1e-6a5b1f7a2c10:MENTOR';
    expect(messageIdFor(id, 'riverside.example')).toBe('<notification.0b6f0f5e-5d7e-4f43-9c1e-6a5b1f7a2c10.MENTOR@riverside.example>');
    expect(messageIdFor(id, 'riverside.example')).toBe(messageIdFor(id, 'riverside.example'));
  });

  test.each([
    ['"Riverside" <noreply@Riverside.Example>', 'riverside.example'],
    ['noreply@riverside.example', 'riverside.example'],
    ['Riverside', 'localhost'],
  ])('take the domain of %s', (from, domain) => expect(domainOf(from)).toBe(domain));
});

describe('rendering', () => {
  test('shows instants in the program time zone, in words', () => {
    expect(humanDateTime('2026-11-26T15:00:00.000Z', 'America/New_York')).toBe('Thursday, November 26, 2026 at 10:00 AM EST');
    expect(humanDateTime('2026-07-01T08:30:00.000Z', 'Europe/Paris')).toBe('Wednesday, July 1, 2026 at 10:30 AM GMT+2');
    expect(humanDateTime('2026-07-01T08:30:00.000Z', 'Not/AZone')).toBe('Wednesday, July 1, 2026 at 8:30 AM UTC');
  });

  test('keeps a subject on one line whatever a value holds', () => {
    const { subject } = renderNotification('MATCH_REQUEST', {}, { requesterName: 'Eve\r\nBcc: everyone@example.org', programName: 'P' });
    expect(subject).toBe('Eve Bcc: everyone@example.org would like to be matched with you in P');
  });
});

describe('the test SMTP server', () => {
  test('records a client that resets its connection mid-transaction instead of throwing it', async () => {
    const smtp = await startSmtpServer();
    try {
      const { port } = new URL(smtp.url);
      const socket = connect(Number(port), '127.0.0.1');
      const lines: string[] = [];
      socket.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\r\n').filter(Boolean)));
      const reply = async (code: string) => {
        for (let i = 0; i < 200 && !lines.some((line) => line.startsWith(code)); i++) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(lines.some((line) => line.startsWith(code))).toBe(true);
        lines.length = 0;
      };
      await reply('220');
      socket.write('EHLO killed.example\r\n');
      await reply('250 ');
      socket.write('MAIL FROM:<a@killed.example>\r\n');
      await reply('250');
      // What a process killed with SIGKILL mid-message does to the server: a reset inside the transaction.
      socket.resetAndDestroy();
      for (let i = 0; i < 200 && smtp.connectionErrors.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(smtp.connectionErrors.map((error) => (error as NodeJS.ErrnoException).code)).toEqual(['ECONNRESET']);
    } finally {
      await smtp.close();
    }
  });
});
