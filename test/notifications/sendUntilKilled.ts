/*
 * Child process of the kill test: a notification worker sending everything due, until the test's
 * SMTP server has it killed mid-message.
 * Arguments: <smtpUrl> pglite <dataDir> | <smtpUrl> postgres <databaseUrl> <schema>
 */
import { createLogger } from '../../src/log';
import { smtpTransport } from '../../src/notifications/transport';
import { NotificationWorker } from '../../src/notifications/worker';
import { openPglite } from '../../src/sql/pglite';
import { openPostgres } from '../../src/sql/postgres';

const main = async () => {
  const [smtpUrl, kind, target, schema] = process.argv.slice(2) as [string, string, string, string | undefined];
  const db = kind === 'pglite' ? await openPglite(target) : openPostgres(target, { options: `-c search_path=${schema}` });
  const worker = new NotificationWorker(
    { db, transport: smtpTransport(smtpUrl), clock: () => new Date(), logger: createLogger({ level: 'silent' }) },
    { from: 'noreply@riverside.example', batchSize: 3, leaseMs: 60_000 },
  );
  await worker.drain();
  process.stdout.write('done\n');
  await db.close();
};
void main();
