import { buildSchema, getOperationAST, parse } from 'graphql';
import { operationCost, operationDepth } from '../../src/graphql/queryLimits';

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
