import {
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLScalarType,
  getNamedType,
  isCompositeType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';

/*
 * A seeded, schema-aware fuzzer for the GraphQL API: for every query and mutation it builds one
 * operation whose arguments are variables, and random variable values that are mostly type-valid
 * with now and then something nasty (NUL bytes, lone surrogates, huge strings, null where a value
 * is required, unknown enum values, wrong types, lists full of errors). The same seed gives the
 * same calls. Used by the test suite (a short run) and by `npm run bench -- --only fuzz` (a long one).
 */

/** mulberry32: small, fast and good enough to pick cases reproducibly. */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

export interface FuzzCall {
  readonly operation: 'query' | 'mutation';
  readonly field: string;
  readonly query: string;
  readonly variables: Record<string, unknown>;
  /** What was made odd on purpose, if anything (for the failure report). */
  readonly mutation: string | null;
  /** True when that value is invalid for its type or unstorable: the call must be refused and append nothing. */
  readonly mustBeRefused: boolean;
}

export interface FuzzOptions {
  /** Known ids (a program, users, personas) so that some calls get past "not found". */
  readonly ids?: readonly string[];
  /** Chance that a call gets one deliberately invalid value (default 0.5). */
  readonly nastiness?: number;
}

/** Odd strings: the first three can never be stored and must be refused; the rest may be accepted or refused, but cleanly. */
const NASTY_STRINGS: readonly [string, string, boolean][] = [
  ['NUL byte', 'before\u0000after', true],
  ['lone high surrogate', 'half \ud800 a pair', true],
  ['lone low surrogate', '\udc00', true],
  ['huge string', 'x'.repeat(300_000), false],
  ['empty string', '', false],
  ['whitespace only', '   \t\n', false],
  ['control characters', '\u0001\u0007\u001b[31m', false],
  ['right-to-left override', 'abc\u202Edef', false],
  ['SQL-looking', "'); DROP TABLE es_events; --", false],
  ['template-looking', '{{constructor.constructor("return process")()}}', false],
];

const pick = <T>(random: () => number, values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

const scalarValue = (type: GraphQLScalarType, random: () => number, ids: readonly string[], fieldName: string): unknown => {
  const name = fieldName.toLowerCase();
  switch (type.name) {
    case 'ID':
      return random() < 0.7 && ids.length > 0 ? pick(random, ids) : pick(random, ['00000000-0000-4000-8000-000000000000', 'no-such-id', 'user-1']);
    case 'String':
      if (name.includes('email')) return pick(random, ['maya@example.org', `p${Math.floor(random() * 1e6)}@example.org`, 'not-an-email']);
      if (name.includes('timezone')) return pick(random, ['UTC', 'Europe/Berlin', 'America/New_York', 'Mars/Olympus']);
      if (name.includes('date') || name.endsWith('at') || name === 'from' || name === 'to' || name === 'until' || name === 'since') {
        return pick(random, ['2026-03-01', '2026-03-01T10:00:00Z', 'yesterday']);
      }
      if (name.includes('position') || name === 'after' || name === 'before' || name.includes('cursor')) return pick(random, ['1.1', 'abc', '0.0']);
      return pick(random, ['Maya', 'Riverside 2026', 'A reason', 'Ünïcødé 🙂', 'x']);
    case 'Int':
      return pick(random, [1, 2, 5, 10, 20, 100, 0, -1, 1000]);
    case 'Float':
      return pick(random, [0, 0.5, 1, 3.14, -2, 1e9]);
    case 'Boolean':
      return random() < 0.5;
    case 'DateTimeISO':
      return pick(random, ['2026-03-01T10:00:00.000Z', '2025-01-01T00:00:00Z', '2100-01-01T00:00:00Z']);
    case 'JSON':
    case 'JSONObject':
      return pick(random, [{}, { a: 1 }, { nested: { list: [1, 'two'] } }]);
    default:
      return 'x';
  }
};

/** A type-valid value (mostly), with optional fields sometimes left out or null. */
export const validValue = (type: GraphQLInputType, random: () => number, ids: readonly string[], fieldName: string, depth = 0): unknown => {
  if (type instanceof GraphQLNonNull) return validValue(type.ofType, random, ids, fieldName, depth);
  if (type instanceof GraphQLList) {
    const count = depth > 3 ? 0 : Math.floor(random() * 3);
    return Array.from({ length: count }, () => validValue(type.ofType, random, ids, fieldName, depth + 1));
  }
  if (type instanceof GraphQLEnumType) return pick(random, type.getValues()).name;
  if (type instanceof GraphQLInputObjectType) {
    const value: Record<string, unknown> = {};
    for (const field of Object.values(type.getFields())) {
      const required = field.type instanceof GraphQLNonNull;
      if (required || (depth < 3 && random() < 0.6)) value[field.name] = validValue(field.type, random, ids, field.name, depth + 1);
      else if (random() < 0.15) value[field.name] = null;
    }
    return value;
  }
  return scalarValue(type as GraphQLScalarType, random, ids, fieldName);
};

interface Slot {
  readonly path: string;
  readonly type: GraphQLInputType;
  readonly set: (value: unknown) => void;
}

/** Every place in a value where something could be put, with its type. */
const slotsOf = (type: GraphQLInputType, value: unknown, path: string, set: (value: unknown) => void, into: Slot[]): void => {
  into.push({ path, type, set });
  const inner = type instanceof GraphQLNonNull ? type.ofType : type;
  if (inner instanceof GraphQLList && Array.isArray(value)) {
    value.forEach((item, index) => slotsOf(inner.ofType, item, `${path}.${index}`, (v) => (value[index] = v), into));
  } else if (inner instanceof GraphQLInputObjectType && value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const field of Object.values(inner.getFields())) {
      slotsOf(field.type, record[field.name], `${path}.${field.name}`, (v) => (record[field.name] = v), into);
    }
  }
};

const isList = (type: GraphQLInputType): boolean => (type instanceof GraphQLNonNull ? type.ofType : type) instanceof GraphQLList;

/** Makes one slot odd or wrong on purpose; says what was done and whether the call must be refused. */
const spoil = (slot: Slot, random: () => number): { what: string; mustBeRefused: boolean } => {
  const named = getNamedType(slot.type);
  const choice = random();
  if (slot.type instanceof GraphQLNonNull && choice < 0.15) {
    slot.set(null);
    return { what: `${slot.path} = null (non-null)`, mustBeRefused: true };
  }
  if (named instanceof GraphQLEnumType && choice < 0.4) {
    slot.set('NOT_A_VALUE');
    return { what: `${slot.path} = unknown enum value`, mustBeRefused: true };
  }
  if (isList(slot.type) || choice > 0.93) {
    slot.set(Array.from({ length: 80 }, (_, i) => (i % 2 === 0 ? { wrong: true } : 12345)));
    // A JSON scalar takes any list.
    return { what: `${slot.path} = list of 80 wrong items`, mustBeRefused: !named.name.startsWith('JSON') };
  }
  if (named instanceof GraphQLScalarType && (named.name === 'String' || named.name === 'ID') && choice < 0.85) {
    const [what, text, mustBeRefused] = pick(random, NASTY_STRINGS);
    slot.set(text);
    return { what: `${slot.path} = ${what}`, mustBeRefused };
  }
  const wrong = pick(random, [12345, 'not-a-number', true, { object: 1 }, [1, 2], -2147483649, 1e308]);
  slot.set(wrong);
  // Some wrong-looking values fit (12345 is a valid ID and Int, an object is valid JSON): only the server's verdict counts then.
  return { what: `${slot.path} = odd value ${JSON.stringify(wrong).slice(0, 20)}`, mustBeRefused: false };
};

const selectionFor = (field: GraphQLField<unknown, unknown>): string => {
  const type = getNamedType(field.type);
  if (!isCompositeType(type)) return '';
  const hasErrors = isObjectType(type) && 'errors' in type.getFields();
  return ` { __typename${hasErrors ? ' errors { code field }' : ''} }`;
};

const variableType = (argument: GraphQLArgument): string => String(argument.type);

/** The operations the schema offers, one per query and mutation field. */
export const fuzzTargets = (schema: GraphQLSchema): { operation: 'query' | 'mutation'; field: GraphQLField<unknown, unknown> }[] => [
  ...Object.values(schema.getQueryType()?.getFields() ?? {}).map((field) => ({ operation: 'query' as const, field })),
  ...Object.values(schema.getMutationType()?.getFields() ?? {}).map((field) => ({ operation: 'mutation' as const, field })),
];

/** `count` calls, cycling through every query and mutation so each is hit about equally. */
export function* fuzzCalls(schema: GraphQLSchema, seed: number, count: number, options: FuzzOptions = {}): Generator<FuzzCall> {
  const random = seededRandom(seed);
  const targets = fuzzTargets(schema);
  const ids = options.ids ?? [];
  const nastiness = options.nastiness ?? 0.5;
  for (let i = 0; i < count; i += 1) {
    const { operation, field } = targets[i % targets.length]!;
    const variables: Record<string, unknown> = {};
    const slots: Slot[] = [];
    for (const argument of field.args) {
      const required = argument.type instanceof GraphQLNonNull;
      if (required || random() < 0.5) variables[argument.name] = validValue(argument.type, random, ids, argument.name);
      slotsOf(argument.type, variables[argument.name], `$${argument.name}`, (v) => (variables[argument.name] = v), slots);
    }
    let spoiled: { what: string; mustBeRefused: boolean } | null = null;
    if (slots.length > 0 && random() < nastiness) spoiled = spoil(pick(random, slots), random);
    const declarations = field.args.map((argument) => `$${argument.name}: ${variableType(argument)}`).join(', ');
    const argumentsText = field.args.map((argument) => `${argument.name}: $${argument.name}`).join(', ');
    const query = `${operation} Fuzz${declarations ? `(${declarations})` : ''} { ${field.name}${argumentsText ? `(${argumentsText})` : ''}${selectionFor(field)} }`;
    yield { operation, field: field.name, query, variables, mutation: spoiled?.what ?? null, mustBeRefused: spoiled?.mustBeRefused ?? false };
  }
}

export interface FuzzResponse {
  readonly status: number;
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

export interface FuzzFailure {
  readonly field: string;
  readonly mutation: string | null;
  readonly problem: string;
  readonly variables: string;
}

export interface FuzzRun {
  readonly calls: number;
  readonly refused: number;
  readonly fieldsHit: ReadonlySet<string>;
  readonly failures: readonly FuzzFailure[];
}

/**
 * Sends the calls one after another and checks each: no internal error (nor an error without a
 * code), an invalid call refused, and the log head unmoved by a refused call, a query, or a call
 * with an invalid value.
 */
export const runFuzz = async (options: {
  readonly schema: GraphQLSchema;
  readonly seed: number;
  readonly calls: number;
  readonly ids?: readonly string[];
  readonly send: (query: string, variables: Record<string, unknown>) => Promise<FuzzResponse>;
  /** The log's committed head, as text. */
  readonly head: () => Promise<string>;
}): Promise<FuzzRun> => {
  const failures: FuzzFailure[] = [];
  const fieldsHit = new Set<string>();
  let refused = 0;
  for (const call of fuzzCalls(options.schema, options.seed, options.calls, { ids: options.ids ?? [] })) {
    fieldsHit.add(call.field);
    const before = await options.head();
    const response = await options.send(call.query, call.variables);
    const after = await options.head();
    const payload = response.data?.[call.field] as { errors?: unknown[] } | null | undefined;
    const payloadErrors = payload && typeof payload === 'object' && Array.isArray(payload.errors) ? payload.errors : [];
    const topLevelErrors = response.errors ?? [];
    const wasRefused = topLevelErrors.length > 0 || payloadErrors.length > 0;
    if (wasRefused) refused += 1;
    const report = (problem: string) =>
      failures.push({ field: call.field, mutation: call.mutation, problem, variables: JSON.stringify(call.variables).slice(0, 300) });
    const internal = topLevelErrors.filter((error) => error.extensions?.code === 'INTERNAL_SERVER_ERROR' || !error.extensions?.code);
    if (internal.length > 0 || response.status >= 500) report(`internal error (HTTP ${response.status}): ${internal.map((e) => e.message).join('; ')}`);
    if (before !== after && topLevelErrors.length > 0) report(`refused with ${JSON.stringify(topLevelErrors).slice(0, 200)} but the head moved ${before} → ${after}`);
    if (call.operation === 'query' && before !== after) report(`a query moved the head ${before} → ${after}`);
    if (call.mustBeRefused && !wasRefused) report(`${call.mutation} was accepted`);
    if (call.mustBeRefused && before !== after) report(`a call with ${call.mutation} appended events (${before} → ${after})`);
  }
  return { calls: options.calls, refused, fieldsHit, failures };
};
