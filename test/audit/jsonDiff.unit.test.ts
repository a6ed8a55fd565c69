import { jsonDiff, toJsonValue } from '../../src/audit/jsonDiff';

test('objects key by key in sorted order, arrays index by index, types that differ as one change', () => {
  expect(
    jsonDiff(
      { b: 1, a: { x: 'same', y: 'old' }, list: [1, 2, 3], gone: true, kind: 'x' },
      { a: { x: 'same', y: 'new' }, b: 1, list: [1, 5], added: null, kind: ['x'] },
    ),
  ).toEqual([
    { path: '/a/y', kind: 'CHANGED', before: 'old', after: 'new' },
    { path: '/added', kind: 'ADDED', before: null, after: null },
    { path: '/gone', kind: 'REMOVED', before: true, after: null },
    { path: '/kind', kind: 'CHANGED', before: 'x', after: ['x'] },
    { path: '/list/1', kind: 'CHANGED', before: 2, after: 5 },
    { path: '/list/2', kind: 'REMOVED', before: 3, after: null },
  ]);
  expect(jsonDiff({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
  expect(jsonDiff('x', 'y')).toEqual([{ path: '', kind: 'CHANGED', before: 'x', after: 'y' }]);
  // JSON Pointer escaping of "/" and "~" in keys.
  expect(jsonDiff({ 'a/b~c': 1 }, { 'a/b~c': 2 })).toEqual([{ path: '/a~1b~0c', kind: 'CHANGED', before: 1, after: 2 }]);
});

test('state values become plain JSON', () => {
  expect(toJsonValue({ m: new Map([['k', 1n]]), s: new Set(['a']), d: new Date('2026-01-01T00:00:00Z'), u: undefined, n: Number.NaN })).toEqual({
    m: { k: '1' },
    s: ['a'],
    d: '2026-01-01T00:00:00.000Z',
    n: null,
  });
});
