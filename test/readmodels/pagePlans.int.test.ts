import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import { lifecycleProjections } from '../../projections';
import { SqlUserHistoryQueries } from '../../projections/userHistory/userHistory.queries';
import { encodeCursor } from '../../projections/shared/paging';
import { SqlUserQueries } from '../../projections/users/users.queries';
import type { UserFilter } from '../../projections/lifecycle/lifecycle.types';
import { USER_STATUSES } from '../../src/domain';
import { sqlText, type SqlDatabase } from '../../src/sql/sqlDatabase';
import { announcePostgresSkip, sqlBackends } from '../support/databases';

interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly 'Scan Direction'?: string;
  readonly Plans?: readonly PlanNode[];
}

const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

/** A parameter written into EXECUTE's arguments (texts and lists of texts). */
const literal = (value: unknown): string =>
  Array.isArray(value) ? `ARRAY[${value.map(literal).join(', ')}]::text[]` : sqlText(String(value));

/** The statement a read sends and its parameters (its rows are not needed, only what it sends). */
const sent = async (db: SqlDatabase, read: () => Promise<unknown>): Promise<{ sql: string; params: readonly unknown[] }> => {
  const send = jest.spyOn(db, 'query').mockResolvedValueOnce({ rows: [] } as never);
  try {
    await read();
    const [sql, params] = send.mock.calls[0]!;
    return { sql, params: params ?? [] };
  } finally {
    send.mockRestore();
  }
};

const PAGES = [
  { page: 'a page of 20', first: 20 },
  { page: 'a page of 100', first: 100 },
  { page: 'the page after a cursor', first: 20, after: encodeCursor('history', ['2', '2500']) },
  { page: "a participant's page", first: 20, participantView: true },
];

/**
 * A history page is read down the key's index, newest first, however many entries its user has, with
 * statistics or without (the embedded store has no autovacuum, and this machine's PostgreSQL runs
 * with it off): in the plan a prepared page settles on (generic: planned for no user in particular),
 * not only in one planned for the user at hand. Planned for the average user (a few entries), the
 * page read all of a long-lived user's entries and sorted them: its cost grew with the user's
 * history (graphql-throughput's history phase, issue 19, eighth pass).
 */
const CASES = [false, true].flatMap((analyzed) => PAGES.map((page) => ({ ...page, analyzed, statistics: analyzed ? 'after ANALYZE' : 'never analyzed' })));

describe.each(sqlBackends())('history page plan on $name', ({ open }) => {
  test.each(CASES)("a user with thousands of entries among users with a few, $statistics: the generic plan of $page reads the index backwards and returns only the user's entries", async ({ first, after, participantView, analyzed }) => {
    const database = await open();
    try {
      const store = await SqlEventStore.create(database.db);
      await ProjectionRunner.create(store, database.db, lifecycleProjections);
      // 3,000 users with 16 entries each, and one with 5,000 (whose key comes right after user-999's).
      await database.db.query(
        `INSERT INTO rm_user_history (user_id, position_major, position_minor, event_type, field, to_value)
         SELECT 'user-' || u, 1, u * 100 + i, 'UserStatusChanged', 'USER_STATUS', 'IW' FROM generate_series(1, 3000) u, generate_series(1, 16) i
         UNION ALL
         SELECT 'user-long', 2, n, 'UserStatusChanged', 'USER_STATUS', 'IW' FROM generate_series(1, 5000) n`,
      );
      if (analyzed) await database.db.query('ANALYZE rm_user_history');

      const queries = new SqlUserHistoryQueries(database.db, store);
      const pageOf = (userId: string) => sent(database.db, () => queries.historyPage(userId, { first, ...(after ? { after } : {}) }, { ...(participantView ? { participantView } : {}) }));
      const { sql, params } = await pageOf('user-long');
      expect(sql).toContain('rm_user_history');

      const plan = await database.db.transaction(async (tx) => {
        await tx.query('SET LOCAL plan_cache_mode = force_generic_plan');
        await tx.query(`PREPARE history_page_plan AS ${sql}`);
        const { rows } = await tx.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] | string }>(`EXPLAIN (FORMAT JSON) EXECUTE history_page_plan(${params.map(literal).join(', ')})`);
        await tx.query('DEALLOCATE history_page_plan');
        const explained = rows[0]!['QUERY PLAN'];
        return (typeof explained === 'string' ? (JSON.parse(explained) as [{ Plan: PlanNode }]) : explained)[0].Plan;
      });
      const all = nodes(plan);
      const scans = all.filter((node) => node['Relation Name'] === 'rm_user_history');
      expect(scans.map((node) => [node['Node Type'], node['Index Name'], node['Scan Direction']])).toEqual([['Index Scan', 'rm_user_history_pkey', 'Backward']]);
      expect(all.map((node) => node['Node Type'])).not.toContain('Bitmap Heap Scan');

      // What the statement returns, run as sent: the user's own entries only, newest first, and no more than
      // the page (and one to tell there is a next); for a user with a few, beside the long history's key, all of theirs.
      const rowsOf = async (statement: { sql: string; params: readonly unknown[] }) =>
        (await database.db.query<{ user_id: string; position_minor: string }>(statement.sql, statement.params)).rows;
      const long = await rowsOf({ sql, params });
      expect(long.map((row) => row.user_id)).toEqual(Array(first + 1).fill('user-long'));
      const newest = after ? 2499 : 5000;
      expect(long.map((row) => Number(row.position_minor))).toEqual(Array.from({ length: first + 1 }, (_, i) => newest - i));
      const few = await rowsOf(await pageOf('user-999'));
      expect(few.map((row) => row.user_id)).toEqual(Array(16).fill('user-999'));
    } finally {
      await database.close();
    }
  });
});

/**
 * A users page filtered by status is planned once, then run from its generic plan like the unfiltered
 * page: planned again on every call, it spent the planning on each page (each status's range is
 * read in name order and the ranges merged, so its best plan does not depend on which statuses).
 */
describe.each(sqlBackends())('users page plan on $name', ({ open }) => {
  const FILTERS: { filter: string; given: UserFilter }[] = [
    { filter: 'one status', given: { statuses: ['IW'] } },
    { filter: 'three statuses', given: { statuses: ['IW', 'A', 'SI'] } },
    { filter: 'a program', given: { programId: 'program-2' } },
  ];
  test.each(FILTERS)('a page filtered by $filter runs its generic plan after the first calls, not a plan made for each call', async ({ given }) => {
    const database = await open();
    try {
      const store = await SqlEventStore.create(database.db);
      await ProjectionRunner.create(store, database.db, lifecycleProjections);
      await database.db.query(
        `INSERT INTO rm_users (user_id, email, normalized_email, name, program_id, role, user_status, application_completed, registered_at, updated_at,
                               last_position_major, last_position_minor)
         SELECT 'user-' || n, 'p' || n || '@example.org', 'p' || n || '@example.org', 'Person ' || n, 'program-' || (n % 5), 'MENTEE',
                ($1::text[])[1 + n % ${USER_STATUSES.length}], true, now(), now(), 1, n
           FROM generate_series(1, 3000) n`,
        [[...USER_STATUSES]],
      );
      await database.db.query('ANALYZE rm_users');
      const { sql, params } = await sent(database.db, () => new SqlUserQueries(database.db).usersPage(given, { first: 20 }));
      expect(sql).toContain('rm_users');

      const plans = await database.db.transaction(async (tx) => {
        await tx.query(`PREPARE users_page_plan AS ${sql}`);
        for (let call = 0; call < 10; call++) await tx.query(`EXECUTE users_page_plan(${params.map(literal).join(', ')})`);
        const { rows } = await tx.query<{ generic: number; custom: number }>(
          `SELECT generic_plans::integer AS generic, custom_plans::integer AS custom FROM pg_prepared_statements WHERE name = 'users_page_plan'`,
        );
        await tx.query('DEALLOCATE users_page_plan');
        return rows[0]!;
      });
      // PostgreSQL plans the first five calls for their values, then keeps the generic plan unless it looks dearer.
      expect(plans).toEqual({ generic: 5, custom: 5 });
    } finally {
      await database.close();
    }
  });
});

announcePostgresSkip('history and users page plans');
