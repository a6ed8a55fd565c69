import { randomUUID } from 'node:crypto';
import { CommandPipeline, type CommandContext, type CommandDefinition, type StreamSpec } from '../../src/commands/pipeline';
import type { DomainEvent, EventStore, NewEvent, ReadStreamOptions } from '../../src/eventstore/eventStore';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { DomainError } from '../../src/domain/shared/decider';
import { announcePostgresSkip, sqlBackends, type TestDatabase } from '../support/databases';

/*
 * The command pipeline's kept stream states (issue 19: a command on a stream of 10,000 events costs
 * what one on 10 does): a command first decides on the state it kept without reading the stream (the
 * append's expected revision checks it), else reads only the events after that state, and what it
 * appends is always decided on exactly what a whole read would give, whoever else wrote meanwhile.
 */

type Counted = DomainEvent<'Counted', { readonly by: number; readonly note?: string }> | DomainEvent<'PersonalDataErased', { readonly userId: string; readonly subjectIds: readonly string[] }>;
interface Counter {
  readonly total: number;
  readonly events: number;
  readonly notes: readonly string[];
}

const counterDecider: StreamSpec<Counter, Counted>['decider'] = {
  initialState: () => ({ total: 0, events: 0, notes: [] }),
  evolve: (state, event) => {
    if (event.type !== 'Counted') return { ...state, events: state.events + 1, notes: [] };
    return { total: state.total + event.data.by, events: state.events + 1, notes: event.data.note ? [...state.notes, event.data.note] : state.notes };
  },
};

/** Adds `by`, and records what the state said before it (so a test sees what the command decided on). */
const count = (streamId: string, by: number, seen: Counter[]): CommandDefinition<{ counter: StreamSpec<Counter, Counted> }> => ({
  name: 'Count',
  streams: { counter: { streamId, decider: counterDecider } },
  decide: ({ counter }) => {
    seen.push(counter.state);
    return { counter: [{ type: 'Counted' as const, data: { by } }] };
  },
});

const context = (): CommandContext => ({ actor: { id: 'tester', role: 'admin' }, now: new Date().toISOString(), correlationId: randomUUID() });

const direct = (type: Counted['type'], data: object): NewEvent => ({
  id: randomUUID(),
  type,
  schemaVersion: 1,
  data,
  metadata: { occurredAt: new Date().toISOString(), actor: { id: 'other', role: 'admin' }, correlationId: randomUUID(), causationId: randomUUID() },
});

/** The store, with every readStream call's options written down. */
const recording = (store: EventStore, reads: (ReadStreamOptions | undefined)[]): EventStore =>
  new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'readStream') {
        return (streamId: string, options?: ReadStreamOptions) => {
          reads.push(options);
          return target.readStream(streamId, options);
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });

announcePostgresSkip('kept stream states');

describe.each(sqlBackends())('kept stream states on $name', ({ open }) => {
  let database: TestDatabase;
  let store: SqlEventStore;
  let now = 1_000_000;
  const cache = { maxStreams: 100, maxAgeMs: 60_000, now: () => now };

  beforeAll(async () => {
    database = await open();
    store = await SqlEventStore.create(database.db);
  });
  afterAll(async () => {
    await database?.close();
  });

  test('the second command reads only the events after the first, and decides on the whole stream', async () => {
    const reads: (ReadStreamOptions | undefined)[] = [];
    const pipeline = new CommandPipeline(recording(store, reads), { stateCache: cache });
    const streamId = `counter-${randomUUID()}`;
    const seen: Counter[] = [];
    for (let i = 1; i <= 3; i++) await pipeline.execute(context(), count(streamId, i, seen));
    expect(seen.map((state) => state.total)).toEqual([0, 1, 3]);
    // The first read is whole (nothing kept); the next commands decide on the kept state, unread.
    expect(reads).toStrictEqual([undefined]);
    expect((await store.readStream(streamId)).currentRevision).toBe(2);
  });

  test('past maxStreams the least recently used state goes first: its stream is read whole again, the others not', async () => {
    const reads: (ReadStreamOptions | undefined)[] = [];
    const pipeline = new CommandPipeline(recording(store, reads), { stateCache: { ...cache, maxStreams: 2 } });
    const [a, b, c] = [1, 2, 3].map(() => `counter-${randomUUID()}`) as [string, string, string];
    // The stream read whole or from a revision by each command (nothing: decided on the kept state).
    const readsOf = async <S extends Record<string, StreamSpec<Counter, Counted>>>(definition: CommandDefinition<S>) => {
      const before = reads.length;
      await pipeline.execute(context(), definition);
      return reads.slice(before);
    };
    // Adds a's total to c, deciding on a without writing it.
    const copyAToC: CommandDefinition<{ source: StreamSpec<Counter, Counted>; target: StreamSpec<Counter, Counted> }> = {
      name: 'Copy',
      streams: { source: { streamId: a, decider: counterDecider }, target: { streamId: c, decider: counterDecider } },
      decide: ({ source }) => ({ target: [{ type: 'Counted' as const, data: { by: source.state.total } }] }),
    };
    expect(await readsOf(count(a, 1, []))).toStrictEqual([undefined]);
    expect(await readsOf(count(b, 1, []))).toStrictEqual([undefined]);
    // a is used (decided on, not written) after b was last: b is the least recently used, and c's state pushes it out.
    expect(await readsOf(copyAToC)).toStrictEqual([undefined]);
    expect(await readsOf(count(a, 1, []))).toStrictEqual([]);
    expect(await readsOf(count(c, 1, []))).toStrictEqual([]);
    expect(await readsOf(count(b, 1, []))).toStrictEqual([undefined]);
  });

  test('events another writer appended meanwhile are read and folded in', async () => {
    const reads: (ReadStreamOptions | undefined)[] = [];
    const pipeline = new CommandPipeline(recording(store, reads), { stateCache: cache });
    const streamId = `counter-${randomUUID()}`;
    const seen: Counter[] = [];
    await pipeline.execute(context(), count(streamId, 1, seen));
    await store.appendToStreams([{ streamId, expectedRevision: 0, events: [direct('Counted', { by: 10 }), direct('Counted', { by: 100 })] }]);
    // A second pipeline (another instance) writes too, after this one kept its state.
    await new CommandPipeline(store, { stateCache: cache }).execute(context(), count(streamId, 1_000, []));
    await pipeline.execute(context(), count(streamId, 1, seen));
    // Decided on the kept state (1) first: the append found the stream moved on and wrote nothing;
    // decided again on the tail read after it.
    expect(seen.map((state) => state.total)).toEqual([0, 1, 1_111]);
    expect(seen[2]!.events).toBe(4);
    expect(reads.at(-1)).toEqual({ fromRevision: 1 });
    const whole = await store.readStream(streamId);
    expect(whole.events.reduce<Counter>((state, event) => counterDecider.evolve(state, event as Counted), counterDecider.initialState()).total).toBe(1_112);
  });

  test('two instances racing on one stream: the loser decides again on fresh state, nothing is lost', async () => {
    const streamId = `counter-${randomUUID()}`;
    // Enough attempts that ten writers on one stream all get through.
    const a = new CommandPipeline(store, { stateCache: cache, maxAttempts: 20 });
    const b = new CommandPipeline(store, { stateCache: cache, maxAttempts: 20 });
    await a.execute(context(), count(streamId, 1, []));
    await b.execute(context(), count(streamId, 1, []));
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).execute(context(), count(streamId, 1, []))));
    const seen: Counter[] = [];
    await a.execute(context(), count(streamId, 0, seen));
    // The state the appended event was decided on (a kept one behind the stream may come first).
    expect(seen.at(-1)).toMatchObject({ total: 12, events: 12 });
  });

  test('an erasure in the stream read, or appended here, makes the next read whole', async () => {
    const reads: (ReadStreamOptions | undefined)[] = [];
    const pipeline = new CommandPipeline(recording(store, reads), { stateCache: cache });
    const streamId = `counter-${randomUUID()}`;
    await pipeline.execute(context(), count(streamId, 1, []));
    // Another instance erased: the tail shows it, so the state kept from before is not extended.
    await store.appendToStreams([{ streamId, expectedRevision: 0, events: [direct('PersonalDataErased', { userId: 'u', subjectIds: ['u'] })] }]);
    reads.length = 0;
    await pipeline.execute(context(), count(streamId, 1, []));
    expect(reads).toStrictEqual([{ fromRevision: 1 }, undefined]);
    // This instance erases (through the pipeline): everything kept is dropped.
    const other = `counter-${randomUUID()}`;
    await pipeline.execute(context(), count(other, 1, []));
    await pipeline.execute(context(), {
      name: 'Erase',
      streams: { counter: { streamId, decider: counterDecider } },
      decide: () => ({ counter: [{ type: 'PersonalDataErased' as const, data: { userId: 'u', subjectIds: ['u'] } }] }),
    });
    reads.length = 0;
    await pipeline.execute(context(), count(other, 1, []));
    expect(reads).toStrictEqual([undefined]);
  });

  test('a refusal, or nothing to do, on the kept state is decided again on a read state', async () => {
    const reads: (ReadStreamOptions | undefined)[] = [];
    const pipeline = new CommandPipeline(recording(store, reads), { stateCache: cache });
    const streamId = `counter-${randomUUID()}`;
    const seen: Counter[] = [];
    /** Adds 1 to an even total, refuses an odd one. */
    const evenOnly: CommandDefinition<{ counter: StreamSpec<Counter, Counted> }> = {
      name: 'CountEven',
      streams: { counter: { streamId, decider: counterDecider } },
      decide: ({ counter }) => {
        seen.push(counter.state);
        if (counter.state.total % 2) throw new DomainError('RULE_VIOLATED', 'odd');
        return { counter: [{ type: 'Counted' as const, data: { by: 1 } }] };
      },
    };
    await pipeline.execute(context(), count(streamId, 1, []));
    await store.appendToStreams([{ streamId, expectedRevision: 0, events: [direct('Counted', { by: 1 })] }]);
    reads.length = 0;
    await pipeline.execute(context(), evenOnly);
    expect(seen.map((state) => state.total)).toEqual([1, 2]);
    expect(reads).toEqual([{ fromRevision: 1 }]);
    // Now odd on both the kept and the read state: refused after the read.
    await expect(pipeline.execute(context(), evenOnly)).rejects.toMatchObject({ code: 'RULE_VIOLATED' });
    expect(reads).toEqual([{ fromRevision: 1 }, { fromRevision: 3 }]);
    // Nothing to do on the kept state (by 0 writes nothing here, as another writer made it even meanwhile).
    await store.appendToStreams([{ streamId, expectedRevision: 2, events: [direct('Counted', { by: 1 })] }]);
    const nothingIfOdd: CommandDefinition<{ counter: StreamSpec<Counter, Counted> }> = {
      name: 'CountIfEven',
      streams: { counter: { streamId, decider: counterDecider } },
      decide: ({ counter }) => ({ counter: counter.state.total % 2 ? [] : [{ type: 'Counted' as const, data: { by: 1 } }] }),
    };
    const outcome = await pipeline.execute(context(), nothingIfOdd);
    expect(outcome.events).toHaveLength(1);
    expect(reads.at(-1)).toEqual({ fromRevision: 3 });
  });

  test('a stream decided on unread but not written is checked at the append', async () => {
    const reads: (ReadStreamOptions | undefined)[] = [];
    const pipeline = new CommandPipeline(recording(store, reads), { stateCache: cache });
    const [source, target] = [`counter-${randomUUID()}`, `counter-${randomUUID()}`];
    await pipeline.execute(context(), count(source, 5, []));
    await pipeline.execute(context(), count(target, 1, []));
    // Copies the source's total into the target, writing the target only.
    const copy: CommandDefinition<{ source: StreamSpec<Counter, Counted>; target: StreamSpec<Counter, Counted> }> = {
      name: 'Copy',
      streams: { source: { streamId: source, decider: counterDecider }, target: { streamId: target, decider: counterDecider } },
      decide: ({ source }) => ({ target: [{ type: 'Counted' as const, data: { by: source.state.total } }] }),
    };
    await store.appendToStreams([{ streamId: source, expectedRevision: 0, events: [direct('Counted', { by: 100 })] }]);
    reads.length = 0;
    await pipeline.execute(context(), copy);
    const { events } = await store.readStream(target);
    expect(events.at(-1)!.data).toEqual({ by: 105 });
    expect(reads).toContainEqual({ fromRevision: 1 });
  });

  test('a state older than maxAgeMs is read whole again', async () => {
    const reads: (ReadStreamOptions | undefined)[] = [];
    const pipeline = new CommandPipeline(recording(store, reads), { stateCache: cache });
    const streamId = `counter-${randomUUID()}`;
    await pipeline.execute(context(), count(streamId, 1, []));
    now += 30_000;
    await pipeline.execute(context(), count(streamId, 1, []));
    // Extended, but as old as its first whole read.
    now += 31_000;
    reads.length = 0;
    const seen: Counter[] = [];
    await pipeline.execute(context(), count(streamId, 1, seen));
    expect(reads).toStrictEqual([undefined]);
    expect(seen[0]!.total).toBe(2);
  });
});
