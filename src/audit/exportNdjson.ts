import type { Writable } from 'node:stream';
import { formatPosition } from '../eventstore/eventStore';
import type { EventLogFilter, LogEvent, SqlEventLog } from './eventLog';

/** One line of an export: the event with its envelope, positions as text. */
export interface ExportedEvent {
  readonly position: string;
  readonly streamId: string;
  readonly revision: number;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: Record<string, unknown>;
  readonly metadata: LogEvent['metadata'];
}

export const toExportedEvent = (event: LogEvent): ExportedEvent => ({
  position: formatPosition(event.position),
  streamId: event.streamId,
  revision: event.revision,
  eventId: event.eventId,
  type: event.type,
  schemaVersion: event.schemaVersion,
  data: event.data,
  metadata: event.metadata,
});

export interface ExportProgress {
  readonly written: number;
  /** Events matching the filter up to the head the export started from. */
  readonly total: number;
}

export interface ExportOptions {
  readonly batchSize?: number;
  /** Called once before the first batch (written 0) and after each batch. */
  readonly onProgress?: (progress: ExportProgress) => void;
}

/** Resolves when the stream can take more, rejects if it fails meanwhile (a closed pipe, a full disk). */
const drained = (out: Writable): Promise<void> =>
  new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      out.off('drain', onDrain);
      out.off('error', done);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    out.once('drain', onDrain);
    out.once('error', done);
  });

/**
 * Writes the filtered log as NDJSON (one event per line, in log order) to `out`, batch by batch
 * with back-pressure, so memory stays flat however long the log. It stops at the head it saw when it
 * started: events appended meanwhile belong to the next export, and the count it reports holds.
 * Uses `SqlEventLog.scan`, the SQL `browse` pages with, so the slice equals the browse result.
 * Does not end `out` (stdout must stay open); the caller closes files.
 */
export const exportNdjson = async (
  eventLog: SqlEventLog,
  filter: EventLogFilter,
  out: Writable,
  options: ExportOptions = {},
): Promise<ExportProgress> => {
  const batchSize = options.batchSize ?? 1000;
  const head = await eventLog.head();
  if (!head) {
    options.onProgress?.({ written: 0, total: 0 });
    return { written: 0, total: 0 };
  }
  const total = await eventLog.count(filter, head);
  let written = 0;
  options.onProgress?.({ written, total });
  let after: LogEvent['position'] | undefined;
  for (;;) {
    const batch = await eventLog.scan(filter, { ...(after ? { after } : {}), until: head, limit: batchSize });
    if (batch.length === 0) break;
    const text = batch.map((event) => `${JSON.stringify(toExportedEvent(event))}\n`).join('');
    if (!out.write(text)) await drained(out);
    written += batch.length;
    after = batch[batch.length - 1]!.position;
    options.onProgress?.({ written, total });
    if (batch.length < batchSize) break;
  }
  return { written, total };
};
