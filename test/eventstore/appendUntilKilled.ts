/* Child process for the kill -9 test: appends one event at a time and prints `ack <id>` after each append resolves. */
import { randomUUID } from 'node:crypto';
import { openPglite } from '../../src/sql/pglite';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { appendToStream } from '../../src/eventstore/eventStore';

const main = async () => {
  const db = await openPglite(process.argv[2]);
  const store = await SqlEventStore.create(db);
  process.stdout.write('ready\n');
  for (let i = 0; ; i++) {
    const id = randomUUID();
    await appendToStream(store, `killed-${i % 7}`, 'any', [
      {
        id,
        type: 'Tick',
        schemaVersion: 1,
        data: { i },
        metadata: { occurredAt: new Date().toISOString(), actor: { id: 'test', role: 'system' }, correlationId: id, causationId: id },
      },
    ]);
    process.stdout.write(`ack ${id}\n`);
  }
};
void main();
