import type { ApolloServerPlugin } from '@apollo/server';
import {
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import {
  fieldExtensionsEstimator,
  getComplexity,
  simpleEstimator,
  type ComplexityEstimator,
} from 'graphql-query-complexity';
import { clientError } from './errors';

export interface QueryLimits {
  /** Deepest field nesting an operation may have (default 12). `{ a { b } }` is 2 deep. */
  readonly maxDepth?: number;
  /**
   * Highest estimated cost (default 5000). Each field costs 1 plus its children; a field with a
   * `first`, `last` or `limit` argument multiplies its children's cost by that number; a field
   * may set its own with type-graphql's `complexity` option.
   */
  readonly maxCost?: number;
  /** Arguments that say how many items a field returns. */
  readonly pageSizeArguments?: readonly string[];
}

export const DEFAULT_QUERY_LIMITS = { maxDepth: 12, maxCost: 5000, pageSizeArguments: ['first', 'last', 'limit'] } as const;

const isIntrospection = (name: string): boolean => name.startsWith('__');

/**
 * Depth of an operation, fragments expanded. Introspection is not counted: graphql-js's own
 * MaxIntrospectionDepthRule already bounds it, and GraphiQL's schema query is deeper than any
 * sensible limit for data. A fragment's depth is computed once, so fragment fan-out stays linear.
 */
export const operationDepth = (operation: OperationDefinitionNode, document: DocumentNode): number => {
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
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

const introspectionEstimator: ComplexityEstimator = ({ type, field }) =>
  isIntrospection(type.name) || isIntrospection(field.name) ? 0 : undefined;

const pageSizeEstimator =
  (argumentNames: readonly string[]): ComplexityEstimator =>
  ({ args, childComplexity }) => {
    const sizes = argumentNames.map((name) => args[name]).filter((value): value is number => typeof value === 'number' && value > 0);
    return sizes.length > 0 ? 1 + childComplexity * Math.max(...sizes) : undefined;
  };

/** Estimated cost of one operation, or `null` when its variables do not fit (execution reports that). */
export const operationCost = (options: {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operationName?: string;
  readonly variables?: Record<string, unknown>;
  readonly pageSizeArguments?: readonly string[];
  readonly maxNodes?: number;
}): number | null => {
  try {
    return getComplexity({
      schema: options.schema,
      query: options.document,
      ...(options.operationName !== undefined ? { operationName: options.operationName } : {}),
      variables: options.variables ?? {},
      maxQueryNodes: options.maxNodes ?? 10_000,
      estimators: [
        introspectionEstimator,
        fieldExtensionsEstimator(),
        pageSizeEstimator(options.pageSizeArguments ?? DEFAULT_QUERY_LIMITS.pageSizeArguments),
        simpleEstimator({ defaultComplexity: 1 }),
      ],
    });
  } catch (error) {
    if (error instanceof Error && /maximum allowed number of nodes/.test(error.message)) return Number.POSITIVE_INFINITY;
    return null;
  }
};

/**
 * Refuses operations deeper or costlier than the limits, after validation and before execution,
 * with codes QUERY_TOO_DEEP and QUERY_TOO_COMPLEX (HTTP 400).
 */
export const queryLimitsPlugin = (limits: QueryLimits = {}): ApolloServerPlugin => {
  const maxDepth = limits.maxDepth ?? DEFAULT_QUERY_LIMITS.maxDepth;
  const maxCost = limits.maxCost ?? DEFAULT_QUERY_LIMITS.maxCost;
  const pageSizeArguments = limits.pageSizeArguments ?? DEFAULT_QUERY_LIMITS.pageSizeArguments;
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, schema, request, operationName }) {
          if (!operation) return;
          const depth = operationDepth(operation, document);
          if (depth > maxDepth) {
            throw clientError(
              'QUERY_TOO_DEEP',
              `This ${operation.operation} nests fields ${depth} levels deep; the limit is ${maxDepth}. Split it into smaller queries.`,
              { status: 400, extensions: { depth, maxDepth } },
            );
          }
          const cost = operationCost({
            schema,
            document,
            ...(operationName ? { operationName } : {}),
            ...(request.variables ? { variables: request.variables } : {}),
            pageSizeArguments,
          });
          if (cost !== null && cost > maxCost) {
            const shown = Number.isFinite(cost) ? `is estimated to cost ${cost}` : 'selects too many fields to estimate';
            throw clientError(
              'QUERY_TOO_COMPLEX',
              `This ${operation.operation} ${shown}; the limit is ${maxCost}. Ask for fewer items (a smaller first/limit) or fewer fields, or split it.`,
              { status: 400, extensions: { ...(Number.isFinite(cost) ? { cost } : {}), maxCost } },
            );
          }
        },
      };
    },
  };
};
