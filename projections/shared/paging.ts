import { DomainError } from '../../src/domain/shared/decider';
import type { Page, PageWithoutTotal } from '../lifecycle/lifecycle.types';

/**
 * Cursors and pages as every read model's queries build them. Cursors: base64url of a JSON array
 * whose first element names the list, so a cursor of one list handed to another is refused instead
 * of silently paging from the wrong place.
 */

export type CursorKind = 'users' | 'history' | 'mentees' | 'mentors' | 'matches' | 'export';

export const encodeCursor = (kind: CursorKind, values: readonly string[]): string =>
  Buffer.from(JSON.stringify([kind, ...values]), 'utf8').toString('base64url');

export const decodeCursor = (kind: CursorKind, cursor: string, isValid: (values: readonly string[]) => boolean): string[] => {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = null;
  }
  const values = Array.isArray(decoded) && decoded.every((value): value is string => typeof value === 'string') ? decoded : [];
  if (values[0] !== kind || !isValid(values.slice(1))) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `"${cursor}" is not a cursor of this ${kind} list; pass the cursor of an edge from a previous page of the same list, ` +
        'or leave "after" out to start at the beginning.',
      { field: 'after' },
    );
  }
  return values.slice(1);
};

export const requireFirst = (first: number): number => {
  if (!Number.isInteger(first) || first < 0) {
    throw new DomainError('VALIDATION_FAILED', `"first" must be a whole number of 0 or more (got ${first}).`, { field: 'first' });
  }
  return first;
};

/** Turns `first + 1` fetched rows into a page: the extra row only says there is a next page. */
export const toPageWithoutTotal = <Row, T>(
  rows: readonly Row[],
  first: number,
  after: string | undefined,
  toNode: (row: Row) => T,
  toCursor: (row: Row) => string,
): PageWithoutTotal<T> => ({
  edges: rows.slice(0, first).map((row) => ({ node: toNode(row), cursor: toCursor(row) })),
  hasNextPage: rows.length > first,
  hasPreviousPage: after !== undefined,
});

/** `toPageWithoutTotal` with the total. */
export const toPage = <Row, T>(
  rows: readonly Row[],
  first: number,
  after: string | undefined,
  totalCount: number,
  toNode: (row: Row) => T,
  toCursor: (row: Row) => string,
): Page<T> => ({ ...toPageWithoutTotal(rows, first, after, toNode, toCursor), totalCount });

/** ILIKE pattern for a substring, with the pattern characters typed by the person taken literally. */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;

export const whereClause = (conditions: readonly string[]) => (conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '');

/** A filter field that was given: GraphQL lets a client send null for any optional field, which is no filter. */
export const given = <T>(value: T | null | undefined): value is T => value !== undefined && value !== null;

