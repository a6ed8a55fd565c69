import { START, comparePositions, type EventStore, type GlobalPosition, type RecordedEvent } from '../eventstore/eventStore';
import type { Logger } from '../log';

/**
 * Events as they are committed, for GraphQL subscriptions. One tail per server reads the log from
 * where it stood when the server started, woken by this instance's appends and polling for other
 * instances'; each subscriber gets the events committed after it subscribed that pass its filter,
 * in log order, through a bounded queue (a subscriber that falls too far behind is disconnected
 * with an error rather than holding the server's memory).
 */

export interface LiveEventFilter {
  readonly streamId?: string | null;
  /** The stream prefix: user, program, match, meeting, initiative, registration, manager-report. */
  readonly aggregate?: string | null;
  readonly eventTypes?: readonly string[] | null;
  readonly actorId?: string | null;
  readonly actorRole?: string | null;
  readonly correlationId?: string | null;
  readonly causationId?: string | null;
  /** occurredAt at or after `from`, before `to` (ISO-8601), as the browse query counts them. */
  readonly from?: string | null;
  readonly to?: string | null;
}

export const matchesFilter = (event: RecordedEvent, filter: LiveEventFilter): boolean =>
  (!filter.streamId || event.streamId === filter.streamId) &&
  (!filter.aggregate || event.streamId.startsWith(`${filter.aggregate}-`)) &&
  (!filter.eventTypes || filter.eventTypes.length === 0 || filter.eventTypes.includes(event.type)) &&
  (!filter.actorId || event.metadata.actor.id === filter.actorId) &&
  (!filter.actorRole || event.metadata.actor.role === filter.actorRole) &&
  (!filter.correlationId || event.metadata.correlationId === filter.correlationId) &&
  (!filter.causationId || event.metadata.causationId === filter.causationId) &&
  (!filter.from || Date.parse(event.metadata.occurredAt) >= Date.parse(filter.from)) &&
  (!filter.to || Date.parse(event.metadata.occurredAt) < Date.parse(filter.to));

interface Subscriber {
  readonly filter: LiveEventFilter;
  /** Only events after this position (the head when it subscribed). */
  readonly after: GlobalPosition;
  readonly queue: RecordedEvent[];
  wake: (() => void) | null;
  failed: Error | null;
  closed: boolean;
}

export interface LiveEventHubOptions {
  readonly store: EventStore;
  readonly logger: Logger;
  /** How often to look for events other server instances committed (default 1 s). */
  readonly pollMs?: number;
  /** Events a subscriber may have waiting before it is cut off (default 10,000). */
  readonly maxQueue?: number;
}

export class LiveEventHub {
  private position: GlobalPosition = START;
  private readonly subscribers = new Set<Subscriber>();
  private timer: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private again = false;
  private started = false;

  constructor(private readonly options: LiveEventHubOptions) {}

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.position = await this.options.store.readHead();
    this.timer = setInterval(() => this.notify(), this.options.pollMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.reading;
    for (const subscriber of this.subscribers) this.close(subscriber);
    this.subscribers.clear();
  }

  /** Something was appended (here or elsewhere): read on. */
  notify(): void {
    if (!this.started || this.subscribers.size === 0) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readOn()
      .catch((error: unknown) => this.options.logger.warn({ err: error }, 'Live events: reading the log failed; retrying on the next poll'))
      .finally(() => {
        this.reading = null;
        if (this.again) {
          this.again = false;
          this.notify();
        }
      });
  }

  private async readOn(): Promise<void> {
    for (;;) {
      const batch = await this.options.store.readAll({ after: this.position, maxCount: 500 });
      if (batch.length === 0) return;
      for (const event of batch) {
        for (const subscriber of this.subscribers) {
          if (subscriber.closed || comparePositions(event.position, subscriber.after) <= 0 || !matchesFilter(event, subscriber.filter)) continue;
          if (subscriber.queue.length >= (this.options.maxQueue ?? 10_000)) {
            subscriber.failed = new Error('This subscription fell too far behind the event log and was closed; subscribe again.');
            this.close(subscriber);
            continue;
          }
          subscriber.queue.push(event);
          subscriber.wake?.();
        }
      }
      this.position = batch.at(-1)!.position;
    }
  }

  private close(subscriber: Subscriber): void {
    subscriber.closed = true;
    subscriber.wake?.();
  }

  /** Events committed from now on that pass `filter`. Ends when the consumer returns or the hub stops. */
  async subscribe(filter: LiveEventFilter): Promise<AsyncIterableIterator<RecordedEvent>> {
    const after = await this.options.store.readHead();
    const subscriber: Subscriber = { filter, after, queue: [], wake: null, failed: null, closed: false };
    this.subscribers.add(subscriber);
    // Events between the hub's position and `after` are skipped per subscriber; read them now.
    this.notify();
    const remove = () => {
      subscriber.closed = true;
      this.subscribers.delete(subscriber);
    };
    const iterator: AsyncIterableIterator<RecordedEvent> = {
      [Symbol.asyncIterator]() {
        return iterator;
      },
      async next() {
        for (;;) {
          const event = subscriber.queue.shift();
          if (event) return { value: event, done: false };
          if (subscriber.failed) {
            remove();
            throw subscriber.failed;
          }
          if (subscriber.closed) {
            remove();
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => (subscriber.wake = resolve));
          subscriber.wake = null;
        }
      },
      async return() {
        remove();
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }
}
