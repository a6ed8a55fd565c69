/* Child process for the kill -9 projection test: runs the counting projection slowly, printing `applied <n>` per event. */
import { openPglite } from '../../src/sql/pglite';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import { countingProjection } from './countingProjection';

const main = async () => {
  const db = await openPglite(process.argv[2]);
  const store = await SqlEventStore.create(db);
  let n = 0;
  const slow = countingProjection({ delayMs: 3 });
  // One event at a time inside the runner's batch transaction, so the parent can kill it mid-batch.
  const reporting = { ...slow, applyBatch: async (...[tx, events]: Parameters<typeof slow.applyBatch>) => {
    for (const event of events) {
      await slow.applyBatch(tx, [event]);
      process.stdout.write(`applied ${++n}\n`);
    }
  } };
  const runner = await ProjectionRunner.create(store, db, [reporting], { batchSize: 40 });
  await runner.catchUp();
  process.stdout.write('done\n');
};
void main();
