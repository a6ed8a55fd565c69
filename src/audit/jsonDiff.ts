/**
 * A small, deterministic structural diff of two JSON values, for comparing an aggregate's state at
 * two moments. Objects are compared key by key (keys sorted, so the output never depends on
 * insertion order), arrays index by index (a removal in the middle shows as changes plus a removal
 * at the end, which is what an auditor reading two snapshots side by side expects).
 */

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export type ChangeKind = 'ADDED' | 'REMOVED' | 'CHANGED';

export interface JsonChange {
  /** JSON Pointer (RFC 6901) to the value, e.g. `/personas/0/matchStatus`; `''` is the whole value. */
  readonly path: string;
  readonly kind: ChangeKind;
  /** The value before; `null` when added. */
  readonly before: JsonValue;
  /** The value after; `null` when removed. */
  readonly after: JsonValue;
}

/**
 * Plain JSON from whatever a decider keeps in its state: Maps become objects, Sets arrays, bigints
 * and Dates strings; undefined properties and functions disappear (as in JSON.stringify).
 */
export const toJsonValue = (value: unknown): JsonValue => {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return null;
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value instanceof Set) return [...value].map(toJsonValue);
  const entries = value instanceof Map ? [...value.entries()].map(([k, v]) => [String(k), v] as const) : Object.entries(value);
  const result: Record<string, JsonValue> = {};
  for (const [key, item] of entries) {
    if (item === undefined || typeof item === 'function') continue;
    result[key] = toJsonValue(item);
  }
  return result;
};

const pointer = (parent: string, key: string | number): string => `${parent}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

const isObject = (value: JsonValue): value is { readonly [key: string]: JsonValue } =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const kindOf = (value: JsonValue): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

/** Every difference between `before` and `after`, leaves first-to-last in key/index order. */
export const jsonDiff = (before: JsonValue, after: JsonValue, path = ''): JsonChange[] => {
  if (kindOf(before) !== kindOf(after)) return [{ path, kind: 'CHANGED', before, after }];
  if (Array.isArray(before) && Array.isArray(after)) {
    const changes: JsonChange[] = [];
    const length = Math.max(before.length, after.length);
    for (let i = 0; i < length; i += 1) {
      const at = pointer(path, i);
      if (i >= before.length) changes.push({ path: at, kind: 'ADDED', before: null, after: after[i]! });
      else if (i >= after.length) changes.push({ path: at, kind: 'REMOVED', before: before[i]!, after: null });
      else changes.push(...jsonDiff(before[i]!, after[i]!, at));
    }
    return changes;
  }
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key): JsonChange[] => {
      const at = pointer(path, key);
      if (!(key in before)) return [{ path: at, kind: 'ADDED', before: null, after: after[key]! }];
      if (!(key in after)) return [{ path: at, kind: 'REMOVED', before: before[key]!, after: null }];
      return jsonDiff(before[key]!, after[key]!, at);
    });
  }
  return before === after ? [] : [{ path, kind: 'CHANGED', before, after }];
};
