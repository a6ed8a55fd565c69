import { formatPosition, type EventStore, type GlobalPosition } from '../../src/eventstore/eventStore';
import type { ProjectionRunner } from '../../src/projectionEngine/runner';

/**
 * Live projection up to `position`. On PostgreSQL an event becomes readable once every older
 * transaction on the server has ended (the store's visibility rule): a busy server (another
 * database's long transaction) can hold the last events back past one `catchUp()`, so a test that
 * catches up once and then reads the read models can see less than it appended.
 */
export const caughtUpTo = async (runner: ProjectionRunner, position: GlobalPosition): Promise<void> => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await runner.catchUp();
    if (await runner.waitFor(position, 0)) return;
    if (Date.now() > deadline) throw new Error(`Live projection did not reach ${formatPosition(position)} within a minute`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** Live projection up to every event committed so far (`readCommittedHead`, not what is visible yet). */
export const caughtUp = async (runner: ProjectionRunner, store: EventStore): Promise<void> =>
  caughtUpTo(runner, await store.readCommittedHead());
