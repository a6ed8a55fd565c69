import { buildSchema, getOperationAST, parse } from 'graphql';
import {
  EXPENSIVE_FIELDS,
  admitOperation,
  checkOperation,
  expensiveFieldCount,
  operationAliases,
  operationCost,
  operationDepth,
  unstorableString,
  withoutSuggestions,
} from '../../src/graphql/queryLimits';

const schema = buildSchema(`
  type Query { user(id: ID!): User, users(first: Int, limit: Int): [User!]! }
  type User { id: ID!, name: String, friends(first: Int): [User!]! }
`);
const depth = (query: string) => {
  const document = parse(query);
  return operationDepth(getOperationAST(document)!, document);
};

describe('operationDepth', () => {
  it.each([
    ['{ user(id: 1) { id } }', 2],
    ['{ user(id: 1) { friends { friends { name } } } }', 4],
    ['{ __typename user(id: 1) { id } }', 2],
    ['{ __schema { types { fields { type { ofType { ofType { name } } } } } } }', 0],
    ['{ user(id: 1) { ...F } } fragment F on User { friends { ...G } } fragment G on User { name }', 3],
    ['{ user(id: 1) { ... on User { friends { id } } } }', 3],
  ])('%s is %i deep', (query, expected) => {
    expect(depth(query)).toBe(expected);
  });

  it('stays linear for fragments used many times', () => {
    const fragments = Array.from({ length: 30 }, (_, i) => `fragment F${i} on User { friends { ...F${i + 1} ...F${i + 1} } }`).join('\n');
    expect(depth(`{ user(id: 1) { ...F0 } } ${fragments} fragment F30 on User { id }`)).toBe(32);
  });
});

describe('operationCost', () => {
  const cost = (query: string, variables?: Record<string, unknown>) =>
    operationCost({ schema, document: parse(query), ...(variables ? { variables } : {}) });

  it('counts one per field', () => {
    expect(cost('{ user(id: 1) { id name } }')).toBe(3);
  });
  it('multiplies children by first or limit', () => {
    expect(cost('{ users(first: 10) { id friends(first: 5) { id } } }')).toBe(1 + 10 * (1 + (1 + 5 * 1)));
    expect(cost('query($n: Int) { users(limit: $n) { id } }', { n: 50 })).toBe(51);
  });
  it('does not count introspection', () => {
    expect(cost('{ __schema { types { name fields { name } } } }')).toBe(0);
  });
  it('reports a node bomb as infinitely costly', () => {
    const fragments = Array.from({ length: 20 }, (_, i) => `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`).join('\n');
    expect(cost(`{ user(id: 1) { ...F0 } } ${fragments} fragment F20 on User { id }`)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('the gate', () => {
  const gateSchema = buildSchema(`
    type Query { health: String, verifyEventLog: Boolean, users(first: Int): [User!]!, greet(name: String!): String }
    type User { id: ID!, stateAsOf: String }
  `);
  const check = (query: string, variables?: Record<string, unknown>, limits = {}) =>
    checkOperation({ schema: gateSchema, document: parse(query), source: query, ...(variables ? { variables } : {}) }, limits)?.extensions.code ?? null;

  it('counts aliases through fragments, once per spread', () => {
    const document = parse('{ a: health ...F ...F } fragment F on Query { b: health c: health }');
    expect(operationAliases(getOperationAST(document)!, document)).toBe(5);
  });

  it('counts expensive fields per execution: aliases and list sizes multiply', () => {
    const expensiveFields = { ...EXPENSIVE_FIELDS, 'User.stateAsOf': { cost: 50, why: 'test' } };
    expect(expensiveFieldCount({ schema: gateSchema, document: parse('{ a: verifyEventLog b: verifyEventLog }') })).toBe(2);
    expect(expensiveFieldCount({ schema: gateSchema, document: parse('{ users(first: 10) { stateAsOf } }'), expensiveFields })).toBe(10);
    expect(check('{ users(first: 10) { stateAsOf } }', undefined, { expensiveFields })).toBe('QUERY_TOO_MANY_EXPENSIVE_FIELDS');
    expect(check('{ users(first: 10) { stateAsOf } }')).toBeNull();
  });

  it('charges an expensive field what it costs', () => {
    expect(operationCost({ schema: gateSchema, document: parse('{ verifyEventLog }') })).toBe(EXPENSIVE_FIELDS['Query.verifyEventLog']!.cost);
    expect(check('{ a: verifyEventLog b: verifyEventLog }', undefined, { maxExpensiveFields: 5, maxCost: 3000 })).toBe('QUERY_TOO_COMPLEX');
  });

  it.each([
    ['{ health }', null, null],
    ['{ a: health b: health }', null, { maxAliases: 1 }],
    ['query ($n: String!) { greet(name: $n) }', { n: 'a\u0000b' }, null],
    ['query ($n: String!) { greet(name: $n) }', { n: '\udc00' }, null],
    ['{ greet(name: "a\\u0000b") }', undefined, null],
    ['query ($n: String!) { greet(name: $n) }', { n: 7 }, null],
  ] as const)('%s %p', (query, variables, limits) => {
    const code = check(query, variables ?? undefined, limits ?? {});
    if (query === '{ health }') expect(code).toBeNull();
    else if (limits) expect(code).toBe('QUERY_TOO_MANY_ALIASES');
    else expect(code).toBe('VALIDATION_FAILED');
  });

  it('keeps paired surrogates (emoji) and refuses lone ones', () => {
    expect(unstorableString('mentor 🙂')).toBeNull();
    expect(unstorableString('\ud83d')).toContain('unpaired');
    expect(unstorableString('a\u0000')).toContain('NUL');
  });

  it('admits the WebSocket door the same way, with suggestions removed', () => {
    const admitted = admitOperation({ schema: gateSchema, source: '{ helth }' });
    expect(admitted.ok).toBe(false);
    const errors = admitted.ok ? [] : admitted.errors;
    expect(errors.map((error) => error.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(errors[0]!.message).toBe('Cannot query field "helth" on type "Query".');
    expect(admitOperation({ schema: gateSchema, source: '{ health }' }).ok).toBe(true);
    const introspection = admitOperation({ schema: gateSchema, source: '{ __schema { types { name } } }', introspection: false });
    expect(introspection.ok).toBe(false);
    expect(new Set(introspection.ok ? [] : introspection.errors.map((error) => error.extensions.code))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    expect(admitOperation({ schema: gateSchema, source: '{ __schema { types { name } } }' }).ok).toBe(true);
    expect(withoutSuggestions('Unknown argument "nam". Did you mean "name"?')).toBe('Unknown argument "nam".');
  });
});
