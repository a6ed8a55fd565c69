import { AppendBatcher, type BatchOutcome, type GroupCommitOptions } from './appendBatcher';
import { statementListeners } from '../sql/sqlDatabase';

/** A batcher over calls that stay in flight until the test ends them; each call's items are recorded. */
const heldCalls = (options: GroupCommitOptions, signal = statementListeners()) => {
  const calls: { items: number[]; end: () => void }[] = [];
  const many = (items: readonly number[]): Promise<readonly BatchOutcome<number>[]> =>
    new Promise((resolve) => calls.push({ items: [...items], end: () => resolve(items.map((value) => ({ ok: true, value }))) }));
  const one = (item: number): Promise<number> => new Promise((resolve) => calls.push({ items: [item], end: () => resolve(item) }));
  return { calls, batcher: new AppendBatcher(one, many, options, signal) };
};

/** The end of this turn of the event loop (after the batcher's own turn-end callback, scheduled earlier). */
const turnEnd = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Some microtasks later, in the same turn. */
const microtasksLater = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('AppendBatcher, gathering', () => {
  test("a turn's items go out spread evenly over the calls free", async () => {
    const { calls, batcher } = heldCalls({ maxInFlight: 2, maxBatch: 64, gather: true });
    const results = [1, 2, 3, 4, 5, 6].map((item) => batcher.submit(item));
    await turnEnd();
    expect(calls.map((call) => call.items)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    for (const call of calls) call.end();
    expect(await Promise.all(results)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('at most maxBatch a call, the rest waiting for a call to end', async () => {
    const { calls, batcher } = heldCalls({ maxInFlight: 2, maxBatch: 2, gather: true });
    const results = [1, 2, 3, 4, 5].map((item) => batcher.submit(item));
    await turnEnd();
    expect(calls.map((call) => call.items)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    calls[0]!.end();
    await microtasksLater();
    await turnEnd();
    expect(calls.map((call) => call.items)).toEqual([[1, 2], [3, 4], [5]]);
    for (const call of calls.slice(1)) call.end();
    expect(await Promise.all(results)).toEqual([1, 2, 3, 4, 5]);
  });

  test('what queued while every call was in flight waits for the end of the turn in which a call ends, and goes with what that turn submits', async () => {
    const { calls, batcher } = heldCalls({ maxInFlight: 1, maxBatch: 64, gather: true });
    const first = batcher.submit(1);
    await turnEnd();
    const queued = [batcher.submit(2), batcher.submit(3)];
    await microtasksLater();
    expect(calls.map((call) => call.items)).toEqual([[1]]);
    calls[0]!.end();
    expect(await first).toBe(1);
    // The call has ended (its item's caller resumed); in the same turn, another item arrives.
    await microtasksLater();
    const sameTurn = batcher.submit(4);
    await turnEnd();
    expect(calls.map((call) => call.items)).toEqual([[1], [2, 3, 4]]);
    calls[1]!.end();
    expect(await Promise.all([...queued, sameTurn])).toEqual([2, 3, 4]);
  });

  test('a statement asked of the database ends the gathering at once, until the batcher is closed', async () => {
    const signal = statementListeners();
    const { calls, batcher } = heldCalls({ maxInFlight: 2, maxBatch: 64, gather: true }, signal);
    const first = batcher.submit(1);
    signal.asked();
    expect(calls.map((call) => call.items)).toEqual([[1]]);
    batcher.close();
    const second = batcher.submit(2);
    signal.asked();
    expect(calls.map((call) => call.items)).toEqual([[1]]);
    await turnEnd();
    expect(calls.map((call) => call.items)).toEqual([[1], [2]]);
    for (const call of calls) call.end();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
  });

  test('without gathering, an item goes out alone at once while a call is free, and what queued goes when a call ends', async () => {
    const { calls, batcher } = heldCalls({ maxInFlight: 1, maxBatch: 64 });
    const first = batcher.submit(1);
    expect(calls.map((call) => call.items)).toEqual([[1]]);
    const queued = [batcher.submit(2), batcher.submit(3)];
    calls[0]!.end();
    expect(await first).toBe(1);
    await microtasksLater();
    expect(calls.map((call) => call.items)).toEqual([[1], [2, 3]]);
    calls[1]!.end();
    expect(await Promise.all(queued)).toEqual([2, 3]);
  });
});
