import { DomainError } from '../../domain/shared/decider';
import type { GlobalPosition } from '../../eventstore/eventStore';
import type { Page, PageWithoutTotal } from '../../../projections/lifecycle/lifecycle.types';
import { commandContext } from '../context';
import type { CommandInput } from './inputs';
import type { Context } from './services';

/** Waits until the read models include the caller's own writes (X-Consistent-With), if asked. */
export const consistentRead = async (context: Context, position: GlobalPosition | null = context.consistentWith): Promise<void> => {
  if (position && !(await context.services.waitForProjections(position))) {
    throw new DomainError(
      'CONCURRENCY_CONFLICT',
      `The read models have not reached position ${position.major}.${position.minor} yet; try again in a moment.`,
    );
  }
};

export const commandContextFor = (context: Context, input: CommandInput) =>
  commandContext(context, {
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    ...(input.idempotencyKey !== undefined ? { idempotencyKey: input.idempotencyKey } : {}),
  });

export const MAX_PAGE = 100;

export const pageSize = (first: number): number => {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
    throw new DomainError('VALIDATION_FAILED', `first must be between 1 and ${MAX_PAGE}; got ${first}.`, { field: 'first' });
  }
  return first;
};

/**
 * A page read without its total as a Relay connection whose `totalCount` runs `count` only when a
 * query selects it (a getter: GraphQL reads the property only for selected fields). Most pages are
 * asked without it, and counting every row that matches costs a query that grows with the data.
 */
export const lazyCountConnection = <View, Node>(page: PageWithoutTotal<View>, toNode: (view: View) => Node, count: () => Promise<number>) => {
  let total: Promise<number> | null = null;
  return {
    edges: page.edges.map((edge) => ({ node: toNode(edge.node), cursor: edge.cursor })),
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: page.edges[0]?.cursor ?? null,
      endCursor: page.edges.at(-1)?.cursor ?? null,
    },
    get totalCount(): Promise<number> {
      total ??= count();
      return total;
    },
  };
};

/** A read-model page as a Relay connection, each node made an instance of its GraphQL class. */
export const connection = <View, Node>(page: Page<View>, toNode: (view: View) => Node) => ({
  edges: page.edges.map((edge) => ({ node: toNode(edge.node), cursor: edge.cursor })),
  pageInfo: {
    hasNextPage: page.hasNextPage,
    hasPreviousPage: page.hasPreviousPage,
    startCursor: page.edges[0]?.cursor ?? null,
    endCursor: page.edges.at(-1)?.cursor ?? null,
  },
  totalCount: page.totalCount,
});
