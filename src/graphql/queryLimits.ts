import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  visit,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ParseOptions,
  type SelectionSetNode,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values';
import {
  fieldExtensionsEstimator,
  getComplexity,
  simpleEstimator,
  type ComplexityEstimator,
} from 'graphql-query-complexity';
import { clientError } from './errors';

/*
 * The gate every GraphQL operation passes, whichever door it came through (HTTP or WebSocket):
 * document size and tokens, validation without schema suggestions, depth, aliases, cost (with the
 * expensive fields charged what they really cost and capped per request), variables that coerce,
 * and no NUL or lone surrogate in any string. HTTP runs it through Apollo (parse options, its
 * validation, `queryLimitsPlugin` → `checkOperation`); the WebSocket door calls `admitOperation`,
 * which parses and validates the same way and then calls the same `checkOperation`.
 */

export interface QueryLimits {
  /** Deepest field nesting an operation may have (default 12). `{ a { b } }` is 2 deep. */
  readonly maxDepth?: number;
  /**
   * Highest estimated cost (default 5000). Each field costs 1 plus its children; a field with a
   * `first`, `last` or `limit` argument multiplies its children's cost by that number; the fields in
   * `EXPENSIVE_FIELDS` cost what is written there; a field may set its own with type-graphql's
   * `complexity` option.
   */
  readonly maxCost?: number;
  /** Arguments that say how many items a field returns. */
  readonly pageSizeArguments?: readonly string[];
  /** Most aliased fields in one operation, fragments expanded (default 50). */
  readonly maxAliases?: number;
  /** Most expensive fields (`EXPENSIVE_FIELDS`) one request may run, lists multiplied (default 2). */
  readonly maxExpensiveFields?: number;
  /** Most lexical tokens in a document; parsing stops beyond it (default 10 000). */
  readonly maxTokens?: number;
  /** Longest document, in UTF-8 bytes (default 100 000). */
  readonly maxDocumentBytes?: number;
  /** The expensive fields and their costs (default `EXPENSIVE_FIELDS`). */
  readonly expensiveFields?: ExpensiveFields;
}

export type ExpensiveFields = Readonly<Record<string, { readonly cost: number; readonly why: string }>>;

export const DEFAULT_QUERY_LIMITS = {
  maxDepth: 12,
  maxCost: 5000,
  pageSizeArguments: ['first', 'last', 'limit'],
  maxAliases: 50,
  maxExpensiveFields: 2,
  maxTokens: 10_000,
  maxDocumentBytes: 100_000,
} as const;

type Limits = { readonly [Key in keyof QueryLimits]-?: NonNullable<QueryLimits[Key]> };

// Resolved once per limits object: every request resolves its server's (0.6 % of a mutation's busy CPU).
const resolvedLimits = new WeakMap<QueryLimits, Limits>();
const NO_LIMITS_GIVEN: QueryLimits = {};

export const resolveLimits = (limits: QueryLimits = NO_LIMITS_GIVEN): Limits => {
  let resolved = resolvedLimits.get(limits);
  if (!resolved) resolvedLimits.set(limits, (resolved = { ...DEFAULT_QUERY_LIMITS, expensiveFields: EXPENSIVE_FIELDS, ...limits }));
  return resolved;
};

/**
 * Fields whose resolver does work proportional to the log or a whole stream rather than a page:
 * what one call costs in the cost model, and why. Each also counts against `maxExpensiveFields`.
 */
export const EXPENSIVE_FIELDS: ExpensiveFields = {
  'Query.verifyEventLog': { cost: 2000, why: 'recomputes the hash chain of every event in the log' },
  'Query.stateAsOf': { cost: 200, why: 'folds a whole stream up to a moment' },
  'Query.stateDiff': { cost: 400, why: 'folds a whole stream twice' },
  'Query.userAsOf': { cost: 200, why: "folds a user's whole stream up to a moment" },
  'Query.managerReport': { cost: 500, why: "reads a manager's whole report with meeting counts" },
  'Query.suggestMentors': { cost: 500, why: 'scores every mentor with capacity against the mentee' },
  'Mutation.runAutoMatching': { cost: 1000, why: 'solves the assignment for a whole program' },
};

/** The parse options both doors use: graphql-js stops counting tokens at the limit. */
export const parseOptions = (limits: QueryLimits = NO_LIMITS_GIVEN): ParseOptions => ({ maxTokens: resolveLimits(limits).maxTokens });

const isIntrospection = (name: string): boolean => name.startsWith('__');

const fragmentsOf = (document: DocumentNode) =>
  new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );

/**
 * Depth of an operation, fragments expanded. Introspection is not counted: graphql-js's own
 * MaxIntrospectionDepthRule already bounds it, and GraphiQL's schema query is deeper than any
 * sensible limit for data. A fragment's depth is computed once, so fragment fan-out stays linear.
 */
export const operationDepth = (operation: OperationDefinitionNode, document: DocumentNode): number => {
  const fragments = fragmentsOf(document);
  const fragmentDepths = new Map<string, number>();
  const depthOf = (selectionSet: SelectionSetNode, visiting: Set<string>): number =>
    Math.max(
      0,
      ...selectionSet.selections.map((selection): number => {
        switch (selection.kind) {
          case Kind.FIELD:
            if (isIntrospection(selection.name.value)) return 0;
            return 1 + (selection.selectionSet ? depthOf(selection.selectionSet, visiting) : 0);
          case Kind.INLINE_FRAGMENT:
            return depthOf(selection.selectionSet, visiting);
          case Kind.FRAGMENT_SPREAD: {
            const name = selection.name.value;
            const known = fragmentDepths.get(name);
            if (known !== undefined) return known;
            const fragment = fragments.get(name);
            // Unknown and cyclic fragments fail validation before this runs.
            if (!fragment || visiting.has(name)) return 0;
            visiting.add(name);
            const depth = depthOf(fragment.selectionSet, visiting);
            visiting.delete(name);
            fragmentDepths.set(name, depth);
            return depth;
          }
        }
      }),
    );
  return depthOf(operation.selectionSet, new Set());
};

/** Aliased fields in an operation, each fragment counted once per spread (computed once per fragment). */
export const operationAliases = (operation: OperationDefinitionNode, document: DocumentNode): number => {
  const fragments = fragmentsOf(document);
  const counted = new Map<string, number>();
  const countIn = (selectionSet: SelectionSetNode, visiting: Set<string>): number =>
    selectionSet.selections.reduce((sum, selection): number => {
      switch (selection.kind) {
        case Kind.FIELD:
          return sum + (selection.alias ? 1 : 0) + (selection.selectionSet ? countIn(selection.selectionSet, visiting) : 0);
        case Kind.INLINE_FRAGMENT:
          return sum + countIn(selection.selectionSet, visiting);
        case Kind.FRAGMENT_SPREAD: {
          const name = selection.name.value;
          const known = counted.get(name);
          if (known !== undefined) return sum + known;
          const fragment = fragments.get(name);
          if (!fragment || visiting.has(name)) return sum;
          visiting.add(name);
          const count = countIn(fragment.selectionSet, visiting);
          visiting.delete(name);
          counted.set(name, count);
          return sum + count;
        }
      }
    }, 0);
  return countIn(operation.selectionSet, new Set());
};

const introspectionEstimator: ComplexityEstimator = ({ type, field }) =>
  isIntrospection(type.name) || isIntrospection(field.name) ? 0 : undefined;

const pageSizeOf = (argumentNames: readonly string[], args: Record<string, unknown>): number | null => {
  const sizes = argumentNames.map((name) => args[name]).filter((value): value is number => typeof value === 'number' && value > 0);
  return sizes.length > 0 ? Math.max(...sizes) : null;
};

const pageSizeEstimator =
  (argumentNames: readonly string[]): ComplexityEstimator =>
  ({ args, childComplexity }) => {
    const size = pageSizeOf(argumentNames, args);
    return size !== null ? 1 + childComplexity * size : undefined;
  };

const expensiveCostEstimator =
  (expensiveFields: ExpensiveFields): ComplexityEstimator =>
  ({ type, field, childComplexity }) => {
    const expensive = expensiveFields[`${type.name}.${field.name}`];
    return expensive ? expensive.cost + childComplexity : undefined;
  };

interface CostOptions {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operationName?: string;
  readonly variables?: Record<string, unknown>;
  readonly pageSizeArguments?: readonly string[];
  readonly maxNodes?: number;
  readonly expensiveFields?: ExpensiveFields;
}

const complexity = (options: CostOptions, estimators: ComplexityEstimator[]): number | null => {
  try {
    return getComplexity({
      schema: options.schema,
      query: options.document,
      ...(options.operationName !== undefined ? { operationName: options.operationName } : {}),
      variables: options.variables ?? {},
      maxQueryNodes: options.maxNodes ?? 10_000,
      estimators,
    });
  } catch (error) {
    if (error instanceof Error && /maximum allowed number of nodes/.test(error.message)) return Number.POSITIVE_INFINITY;
    return null;
  }
};

/** Estimated cost of one operation, or `null` when its variables do not fit (execution reports that). */
export const operationCost = (options: CostOptions): number | null =>
  complexity(options, [
    introspectionEstimator,
    expensiveCostEstimator(options.expensiveFields ?? EXPENSIVE_FIELDS),
    fieldExtensionsEstimator(),
    pageSizeEstimator(options.pageSizeArguments ?? DEFAULT_QUERY_LIMITS.pageSizeArguments),
    simpleEstimator({ defaultComplexity: 1 }),
  ]);

/** How many times the operation would run an `EXPENSIVE_FIELDS` field: aliases, fragments and list sizes included. */
export const expensiveFieldCount = (options: CostOptions): number | null => {
  const pageSizeArguments = options.pageSizeArguments ?? DEFAULT_QUERY_LIMITS.pageSizeArguments;
  const expensiveFields = options.expensiveFields ?? EXPENSIVE_FIELDS;
  return complexity(options, [
    introspectionEstimator,
    ({ type, field, args, childComplexity }) => {
      const own = expensiveFields[`${type.name}.${field.name}`] ? 1 : 0;
      return own + childComplexity * (pageSizeOf(pageSizeArguments, args) ?? 1);
    },
  ]);
};

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored (PostgreSQL text refuses NUL; a lone surrogate is not Unicode), or null. */
export const unstorableString = (value: string): string | null => {
  if (value.includes('\u0000')) return 'contains a NUL character (\\u0000)';
  if (LONE_SURROGATE.test(value)) return 'contains an unpaired UTF-16 surrogate (not valid Unicode)';
  return null;
};

const firstUnstorableValue = (value: unknown, path: string, depth = 0): { path: string; problem: string } | null => {
  if (typeof value === 'string') {
    const problem = unstorableString(value);
    return problem ? { path, problem } : null;
  }
  if (depth > 64 || typeof value !== 'object' || value === null) return null;
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((inner, index) => [String(index), inner]) : Object.entries(value);
  for (const [key, inner] of entries) {
    const keyProblem = unstorableString(key);
    if (keyProblem) return { path, problem: `has a key that ${keyProblem}` };
    const found = firstUnstorableValue(inner, `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return null;
};

const SUGGESTION = /\s*Did you mean[^?]*\?/g;

/** Error messages without "Did you mean …?": field, argument and enum names are not handed out. */
export const withoutSuggestions = (message: string): string => message.replace(SUGGESTION, '');

const MAX_LISTED_VARIABLE_ERRORS = 10;

export interface CheckRequest {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  /** The document's text, when the door has it (its size is checked). */
  readonly source?: string;
  readonly operationName?: string | null;
  readonly variables?: Record<string, unknown> | null;
}

/**
 * The limits, for a parsed and validated document: size, depth, aliases, expensive fields, cost,
 * variables and strings. Returns the refusal (a GraphQLError with a stable code), or null to let it run.
 */
export const checkOperation = (request: CheckRequest, limits: QueryLimits = NO_LIMITS_GIVEN, memo?: CheckMemo): GraphQLError | null => {
  const { maxDepth, maxAliases, maxDocumentBytes } = resolveLimits(limits);
  const { schema, document } = request;
  if (request.source !== undefined) {
    const bytes = Buffer.byteLength(request.source, 'utf8');
    if (bytes > maxDocumentBytes) {
      return clientError('PAYLOAD_TOO_LARGE', `The GraphQL document is ${bytes} bytes long; the limit is ${maxDocumentBytes}. Send a smaller one.`, {
        status: 413,
        extensions: { maxBytes: maxDocumentBytes },
      });
    }
  }
  const operation = getOperationAST(document, request.operationName ?? undefined);
  if (!operation) {
    return clientError('BAD_REQUEST', request.operationName ? `The document has no operation named "${request.operationName}".` : 'The document has several operations: name the one to run (operationName).', { status: 400 });
  }
  const what = operation.operation;
  const documentRefusal = remembered(memo, document, `document\u0000${request.operationName ?? ''}`, () => documentChecks(operation, document, maxDepth, maxAliases));
  if (documentRefusal) return documentRefusal;

  const variables = request.variables ?? {};
  const unstorable = firstUnstorableValue(variables, '$variables');
  if (unstorable) return invalidInput(`${unstorable.path.replace(/^\$variables\./, '$')} ${unstorable.problem}.`, unstorable.path.replace(/^\$variables\./, ''));
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: MAX_LISTED_VARIABLE_ERRORS });
  if (coerced.errors) {
    const messages = coerced.errors
      .filter((error) => !error.message.startsWith('Too many errors processing variables'))
      .map((error) => withoutSuggestions(error.message));
    const more = coerced.errors.length > messages.length ? ` (and more; only the first ${MAX_LISTED_VARIABLE_ERRORS} are listed)` : '';
    return clientError('VALIDATION_FAILED', `Some variables are not valid: ${messages.join(' ')}${more} Correct them and send the request again.`, {
      status: 400,
      extensions: { variableErrors: messages },
    });
  }

  // The cost depends on the document and the numbers among the variables (page sizes), never on a
  // string's value: remembered per document for the strings blanked out, so the same operation sent
  // for another user is not estimated again (two walks of the document with the schema each time).
  const costKey = `cost\u0000${request.operationName ?? ''}\u0000${JSON.stringify(variables, (_key, value: unknown) => (typeof value === 'string' ? '' : value))}`;
  return remembered(memo, document, costKey, () => costChecks(schema, document, request.operationName, variables, what, limits));
};

const costChecks = (
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown>,
  what: string,
  limits: QueryLimits,
): GraphQLError | null => {
  const { maxCost, maxExpensiveFields, pageSizeArguments, expensiveFields } = resolveLimits(limits);
  const request = { operationName };
  const costOptions = {
    schema,
    document,
    ...(request.operationName ? { operationName: request.operationName } : {}),
    variables,
    pageSizeArguments,
    expensiveFields,
  };
  const expensive = expensiveFieldCount(costOptions);
  if (expensive !== null && expensive > maxExpensiveFields) {
    const named = [...new Set(Object.keys(expensiveFields).map((key) => key.split('.')[1]!))].join(', ');
    return clientError(
      'QUERY_TOO_MANY_EXPENSIVE_FIELDS',
      `This ${what} runs ${Number.isFinite(expensive) ? expensive : 'too many'} expensive fields (${named}); one request may run ${maxExpensiveFields}. Send them in separate requests.`,
      { status: 400, extensions: { ...(Number.isFinite(expensive) ? { expensiveFields: expensive } : {}), maxExpensiveFields } },
    );
  }
  const cost = operationCost(costOptions);
  if (cost !== null && cost > maxCost) {
    const shown = Number.isFinite(cost) ? `is estimated to cost ${cost}` : 'selects too many fields to estimate';
    return clientError(
      'QUERY_TOO_COMPLEX',
      `This ${what} ${shown}; the limit is ${maxCost}. Ask for fewer items (a smaller first/limit) or fewer fields, or split it.`,
      { status: 400, extensions: { ...(Number.isFinite(cost) ? { cost } : {}), maxCost } },
    );
  }
  return null;
};

/** What depends on the document alone: depth, aliases, and the strings written in it. */
const documentChecks = (operation: OperationDefinitionNode, document: DocumentNode, maxDepth: number, maxAliases: number): GraphQLError | null => {
  const what = operation.operation;
  const depth = operationDepth(operation, document);
  if (depth > maxDepth) {
    return clientError('QUERY_TOO_DEEP', `This ${what} nests fields ${depth} levels deep; the limit is ${maxDepth}. Split it into smaller queries.`, {
      status: 400,
      extensions: { depth, maxDepth },
    });
  }
  const aliases = operationAliases(operation, document);
  if (aliases > maxAliases) {
    return clientError('QUERY_TOO_MANY_ALIASES', `This ${what} uses ${aliases} aliases; the limit is ${maxAliases}. Split it into smaller requests.`, {
      status: 400,
      extensions: { aliases, maxAliases },
    });
  }

  let literalProblem: GraphQLError | null = null;
  visit(document, {
    StringValue(node) {
      const problem = unstorableString(node.value);
      if (problem && !literalProblem) literalProblem = invalidInput(`A string in the document ${problem}.`, null);
    },
  });
  if (literalProblem) return literalProblem;
  return null;
};

/**
 * Checks already passed, by document (Apollo hands the same parsed document for the same text) and
 * key; a few dozen keys per document, then it starts over. Refusals are not kept: each refused
 * request gets an error of its own.
 */
export type CheckMemo = WeakMap<DocumentNode, Map<string, GraphQLError | null>>;
const MEMO_KEYS_PER_DOCUMENT = 64;

const remembered = (memo: CheckMemo | undefined, document: DocumentNode, key: string, check: () => GraphQLError | null): GraphQLError | null => {
  if (!memo) return check();
  let byKey = memo.get(document);
  if (!byKey) memo.set(document, (byKey = new Map()));
  const known = byKey.get(key);
  if (known !== undefined) return known;
  const refusal = check();
  if (refusal) return refusal;
  if (byKey.size >= MEMO_KEYS_PER_DOCUMENT) byKey.clear();
  byKey.set(key, null);
  return null;
};

const invalidInput = (message: string, field: string | null): GraphQLError =>
  clientError('VALIDATION_FAILED', `${message} Remove it and send the request again.`, { status: 400, extensions: field ? { field } : {} });

export interface AdmitRequest {
  readonly schema: GraphQLSchema;
  readonly source: unknown;
  readonly operationName?: unknown;
  readonly variables?: unknown;
  /** Whether the schema may be introspected (default yes), as Apollo's `introspection` on HTTP. */
  readonly introspection?: boolean;
}

export type Admission =
  | { readonly ok: true; readonly document: DocumentNode; readonly operationName?: string; readonly variables: Record<string, unknown> }
  | { readonly ok: false; readonly errors: readonly GraphQLError[] };

/**
 * The whole gate for a door that hands over raw text (the WebSocket door): the request's shape,
 * document size, parse (token limit), validation (suggestions removed), then `checkOperation`.
 */
export const admitOperation = (request: AdmitRequest, limits: QueryLimits = NO_LIMITS_GIVEN): Admission => {
  const refuse = (...errors: GraphQLError[]): Admission => ({ ok: false, errors });
  const { maxDocumentBytes } = resolveLimits(limits);
  if (typeof request.source !== 'string' || request.source.trim() === '') {
    return refuse(clientError('BAD_REQUEST', 'Send a GraphQL document in "query".', { status: 400 }));
  }
  if (request.operationName !== undefined && request.operationName !== null && typeof request.operationName !== 'string') {
    return refuse(clientError('BAD_REQUEST', '"operationName" must be a string.', { status: 400 }));
  }
  const variables = request.variables ?? {};
  if (typeof variables !== 'object' || Array.isArray(variables)) {
    return refuse(clientError('BAD_REQUEST', '"variables" must be a JSON object.', { status: 400 }));
  }
  const bytes = Buffer.byteLength(request.source, 'utf8');
  if (bytes > maxDocumentBytes) {
    return refuse(
      clientError('PAYLOAD_TOO_LARGE', `The GraphQL document is ${bytes} bytes long; the limit is ${maxDocumentBytes}. Send a smaller one.`, {
        status: 413,
        extensions: { maxBytes: maxDocumentBytes },
      }),
    );
  }
  let document: DocumentNode;
  try {
    document = parse(request.source, parseOptions(limits));
  } catch (error) {
    const message = error instanceof GraphQLError ? error.message : 'The document could not be parsed.';
    return refuse(clientError('GRAPHQL_PARSE_FAILED', message, { status: 400 }));
  }
  const rules = request.introspection === false ? [...specifiedRules, NoSchemaIntrospectionCustomRule] : specifiedRules;
  const validationErrors = validate(request.schema, document, rules, { maxErrors: 25 });
  if (validationErrors.length > 0) {
    return refuse(
      ...validationErrors.map(
        (error) =>
          new GraphQLError(withoutSuggestions(error.message), {
            ...(error.nodes ? { nodes: error.nodes } : {}),
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
          }),
      ),
    );
  }
  const operationName = (request.operationName as string | null | undefined) ?? undefined;
  const refusal = checkOperation(
    { schema: request.schema, document, source: request.source, variables: variables as Record<string, unknown>, ...(operationName ? { operationName } : {}) },
    limits,
  );
  if (refusal) return refuse(refusal);
  return { ok: true, document, ...(operationName ? { operationName } : {}), variables: variables as Record<string, unknown> };
};

/**
 * The gate on Apollo's HTTP door: Apollo parses with `parseOptions` and validates (its
 * `hideSchemaDetailsFromClientErrors` removes the suggestions); this runs `checkOperation` after
 * validation and before execution.
 */
export const queryLimitsPlugin = (limits: QueryLimits = NO_LIMITS_GIVEN): ApolloServerPlugin => {
  // Per server: the documents Apollo keeps parsed, with the checks already made on them.
  const memo: CheckMemo = new WeakMap();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, schema, request, source }) {
          const refusal = checkOperation(
            {
              schema,
              document,
              ...(source !== undefined ? { source } : {}),
              ...(request.operationName ? { operationName: request.operationName } : {}),
              ...(request.variables ? { variables: request.variables } : {}),
            },
            limits,
            memo,
          );
          if (refusal) throw refusal;
        },
      };
    },
  };
};
