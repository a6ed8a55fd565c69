import type { RecordedEvent } from '../../src/eventstore/eventStore';
import type { Projection } from '../../src/projectionEngine/projection';
import type { SqlExecutor } from '../../src/sql/sqlDatabase';

/**
 * Ways to apply events that a projection has already seen again: the whole log as one batch, and
 * each event as a batch of its own, newest first. Neither may change a read model.
 */
export const againInBatches = (events: readonly RecordedEvent[]): readonly (readonly RecordedEvent[])[][] => [
  [events],
  [...events].reverse().map((event) => [event]),
];

/** Applies each batch's events that the projection handles, as the runner would hand them over. */
export const applyBatches = async (tx: SqlExecutor, projection: Projection, batches: readonly (readonly RecordedEvent[])[]): Promise<void> => {
  const handled = new Set<string>(projection.handles);
  for (const batch of batches) {
    const mine = batch.filter((event) => handled.has(event.type));
    if (mine.length > 0) await projection.applyBatch(tx, mine);
  }
};
