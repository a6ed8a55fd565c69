import { DomainError, type Decider } from './decider';
import { CrossStreamSpecification, DeciderSpecification } from './deciderSpecification';

/** A counter that refuses to go above 2: enough to show the helper fails when it should. */
type Incremented = { type: 'Incremented'; data: { by: number } };
const counter: Decider<{ type: 'Increment'; data: { by: number } }, number, Incremented> = {
  initialState: () => 0,
  evolve: (total, event) => total + event.data.by,
  decide: (command, total) => {
    if (total + command.data.by > 2) throw new DomainError('RULE_VIOLATED', `Total would be ${total + command.data.by}.`);
    return [{ type: 'Incremented', data: { by: command.data.by } }];
  },
};
const given = DeciderSpecification.for(counter);
const inc = (by: number) => ({ type: 'Increment', data: { by } }) as const;

describe('DeciderSpecification', () => {
  it('passes when the events match', () => given([]).when(inc(1)).then([{ type: 'Incremented', data: { by: 1 } }]));
  it('fails when the events differ', () => expect(() => given([]).when(inc(1)).then([{ type: 'Incremented', data: { by: 2 } }])).toThrow());
  it('folds the given events first', () => given([{ type: 'Incremented', data: { by: 2 } }]).when(inc(1)).thenThrows('RULE_VIOLATED', 'would be 3'));
  it('fails when the command is accepted instead of refused', () =>
    expect(() => given([]).when(inc(1)).thenThrows('RULE_VIOLATED')).toThrow('but the command was accepted'));
  it('fails on another code', () => expect(() => given([]).when(inc(5)).thenThrows('NOT_FOUND')).toThrow('expected NOT_FOUND'));
  it('fails on another message', () => expect(() => given([]).when(inc(5)).thenThrows('RULE_VIOLATED', 'nope')).toThrow('does not contain'));
  it('matches a message pattern', () => given([]).when(inc(5)).thenThrows('RULE_VIOLATED', /would be \d/));
  it('runs the extra check', () =>
    expect(() => given([]).when(inc(5)).thenThrows('RULE_VIOLATED', undefined, () => { throw new Error('checked'); })).toThrow('checked'));
  it('lets unexpected errors through', () => {
    const broken = DeciderSpecification.for({ ...counter, decide: () => { throw new TypeError('bug'); } });
    expect(() => broken([]).when(inc(1)).thenThrows('RULE_VIOLATED')).toThrow(TypeError);
  });
});

describe('CrossStreamSpecification', () => {
  const spec = CrossStreamSpecification.for({ a: counter, b: counter }, (command: ReturnType<typeof inc>, states) => ({
    a: counter.decide(command, states.a),
    b: states.b > 0 ? counter.decide(command, states.b) : [],
  }));
  it('compares events per stream, ignoring streams that get none', () =>
    spec({}).when(inc(1)).then({ a: [{ type: 'Incremented', data: { by: 1 } }] }));
  it('folds each stream from its own events', () =>
    spec({ b: [{ type: 'Incremented', data: { by: 2 } }] }).when(inc(1)).thenThrows('RULE_VIOLATED', 'would be 3'));
  it('fails when a stream gets other events', () =>
    expect(() => spec({}).when(inc(1)).then({ a: [{ type: 'Incremented', data: { by: 1 } }], b: [{ type: 'Incremented', data: { by: 1 } }] })).toThrow());
});
