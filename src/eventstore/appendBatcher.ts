import { AsyncResource } from 'node:async_hooks';
import type { StatementSignal } from '../sql/sqlDatabase';

/** What one item of a batch came to: its result, or an error that is its own (the others still stand). */
export type BatchOutcome<Result> = { readonly ok: true; readonly value: Result } | { readonly ok: false; readonly error: unknown };

export interface GroupCommitOptions {
  /**
   * Calls in flight at once. An item goes out alone, at once, while fewer are in flight (no added
   * latency when idle); beyond that it waits for the next call, with the others that queued.
   */
  readonly maxInFlight: number;
  /** Items per call, at most. */
  readonly maxBatch: number;
  /**
   * Let an item that could go out at once wait for the rest of the event loop's turn first, so that
   * the items other requests submit in the same turn share its call. For a database that runs each
   * statement to its end before anything else runs (PGlite, in this thread): nothing can queue behind
   * a call in flight there, so without this every item goes alone. Costs up to one turn of latency.
   *
   * The wait also ends as soon as anything else asks the database for a statement (StatementSignal),
   * and the gathered items go before it. Waiting for the turn's end alone starved them: code that
   * awaits PGlite in a loop (until it sees such an item's effect, say) resumes in microtasks, so the
   * turn never ends and `setImmediate` never fires. On the mutation path the items gather as well
   * either way (BENCHMARKS.md, graphql-throughput: ~8 appends a call with 16 clients): a request's
   * reads before its append come from memory, so few statements cut a gathering short.
   *
   * The items that queued while every call was in flight gather too: when a call ends they wait for
   * the turn's end, so that the items its callers and other requests submit in that turn go with
   * them, rather than the queue going at once and those items waiting for the next call to end
   * (PostgreSQL, 16 writers, 4 calls in flight: 4.0 appends a call instead of 2.9, and no append
   * waits behind a full set of calls; BENCHMARKS.md, append-throughput).
   */
  readonly gather?: boolean;
}

interface Queued<Item, Result> {
  readonly item: Item;
  /** The caller's async context, so that its call (and the SQL span under it) belongs to its trace. */
  readonly scope: AsyncResource;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Opportunistic group commit: items submitted while `maxInFlight` calls are in flight queue, and each
 * call that ends sends what queued as one `many` call (one round trip, one transaction); with `gather`,
 * at the end of the event loop's turn, spread over the calls free then. `many` says
 * per item whether it succeeded; when it throws (an error that belongs to no item in particular, or
 * to one it cannot tell), the items are retried one at a time with `one`, in the order given, so each
 * caller gets its own true result.
 */
export class AppendBatcher<Item, Result> {
  private inFlight = 0;
  private readonly queue: Queued<Item, Result>[] = [];
  /** Items wait in the queue for the turn's end, or for the database to be asked for something else. */
  private gathering = false;
  private turnEndPending = false;
  private readonly stopListening: () => void;

  constructor(
    private readonly one: (item: Item) => Promise<Result>,
    private readonly many: (items: readonly Item[]) => Promise<readonly BatchOutcome<Result>[]>,
    private readonly options: GroupCommitOptions,
    signal: StatementSignal,
  ) {
    this.stopListening = options.gather ? signal.onStatement(this.statementAsked) : () => {};
  }

  /** Stops listening to the database's statements (the store is closed; the database may live on). */
  close(): void {
    this.stopListening();
  }

  submit(item: Item): Promise<Result> {
    if (this.options.gather) {
      const queued = this.enqueue(item);
      this.gatherUntilTurnEnds();
      return queued;
    }
    if (this.inFlight < this.options.maxInFlight) {
      this.inFlight++;
      const result = this.one(item);
      void result.then(this.callEnded, this.callEnded);
      return result;
    }
    return this.enqueue(item);
  }

  private enqueue(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => this.queue.push({ item, scope: new AsyncResource('AppendBatcher'), resolve, reject }));
  }

  /** While a call could go out, the queue waits for the turn's end (or the next statement asked). */
  private gatherUntilTurnEnds(): void {
    if (this.gathering || this.inFlight >= this.options.maxInFlight) return;
    this.gathering = true;
    // One is enough: while it is pending, the turn in which this gathering began has not ended.
    if (!this.turnEndPending) {
      this.turnEndPending = true;
      setImmediate(this.turnEnded);
    }
  }

  private readonly turnEnded = (): void => {
    this.turnEndPending = false;
    if (this.gathering) this.endGathering();
  };

  // Synchronous, in the asker's call: the gathered items' call is asked of the database first (its own
  // statement signals too, by then with `gathering` false).
  private readonly statementAsked = (): void => {
    if (this.gathering) this.endGathering();
  };

  private endGathering(): void {
    this.gathering = false;
    this.sendQueued();
  }

  private readonly callEnded = (): void => {
    this.inFlight--;
    if (!this.options.gather) this.sendQueued();
    else if (this.queue.length > 0) this.gatherUntilTurnEnds();
  };

  /**
   * What queued goes out over the calls free, spread evenly (at most `maxBatch` a call; the rest waits):
   * sixteen items with four calls free go as four calls of four, which end sooner than one of sixteen
   * and leave no call unused while items wait.
   */
  private sendQueued(): void {
    const free = this.options.maxInFlight - this.inFlight;
    if (free <= 0 || this.queue.length === 0) return;
    const size = Math.min(this.options.maxBatch, Math.ceil(this.queue.length / free));
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      this.inFlight++;
      void this.send(this.queue.splice(0, size)).finally(this.callEnded);
    }
  }

  private async send(batch: readonly Queued<Item, Result>[]): Promise<void> {
    if (batch.length > 1) {
      let outcomes: readonly BatchOutcome<Result>[] | null = null;
      try {
        // The call runs in the first caller's context: its SQL span lands in a trace it served.
        outcomes = await batch[0]!.scope.runInAsyncScope(() => this.many(batch.map((queued) => queued.item)));
      } catch {
        // Retried one at a time below.
      }
      if (outcomes) {
        for (const [i, queued] of batch.entries()) {
          const outcome = outcomes[i]!;
          if (outcome.ok) queued.resolve(outcome.value);
          else queued.reject(outcome.error);
        }
        return;
      }
    }
    for (const queued of batch) {
      try {
        queued.resolve(await queued.scope.runInAsyncScope(() => this.one(queued.item)));
      } catch (error) {
        queued.reject(error);
      }
    }
  }
}
