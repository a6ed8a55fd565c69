import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { USERS_TABLE } from '../projections/users/users.queries';
import type { SqlDatabase } from '../src/sql/sqlDatabase';

/**
 * The bare peer of graphql-throughput (issue 19): what HTTP and GraphQL alone leave of a store's
 * speed on this machine. Apollo Server 5's own standalone HTTP server, a schema written out as SDL,
 * resolvers that do one statement each on the same database as the app, and nothing else: no token
 * check, no access policy, no validation, no read audit, no logging or metrics, no projections. It
 * answers the bodies the app's clients send, so the same load runs against both:
 * - `{ __typename }`;
 * - `users(first: 20) { edges { node { id name status } } pageInfo { hasNextPage } }`: one SELECT of the
 *   page from the app's own users table (same rows, same order, same index);
 * - `changeUserStatus(input) { errors { code message } position }`: one append by the peer's own
 *   `appendToStreams` (the store the append rate is measured on, group commit and all) of one event,
 *   to a new stream or to the user's stream at its revision (as the service's status change does).
 * So its mutation against the append rate, and its page against its constant query, are the most a
 * full service could reach on this machine.
 */

const TYPE_DEFS = /* GraphQL */ `
  type Query {
    users(first: Int!): UserConnection!
  }
  type UserConnection {
    edges: [UserEdge!]!
    pageInfo: PageInfo!
  }
  type UserEdge {
    node: User!
  }
  type User {
    id: ID!
    name: String!
    status: String!
  }
  type PageInfo {
    hasNextPage: Boolean!
  }
  type Mutation {
    changeUserStatus(input: ChangeUserStatusInput!): ChangeUserStatusPayload!
  }
  input ChangeUserStatusInput {
    userId: ID!
    status: String!
    reason: String
  }
  type ChangeUserStatusPayload {
    errors: [Problem!]!
    position: String
  }
  type Problem {
    code: String!
    message: String!
  }
`;

interface UserRow {
  readonly user_id: string;
  readonly name: string;
  readonly user_status: string;
}

export interface BareServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts the bare server: pages from `db` (whose users table the app has filled), a mutation as one `append`. */
export const startBareApollo = async (db: SqlDatabase, append: (userId: string) => Promise<string>): Promise<BareServer> => {
  const server = new ApolloServer({
    typeDefs: TYPE_DEFS,
    introspection: false,
    resolvers: {
      Query: {
        users: async (_: unknown, { first }: { first: number }) => {
          // As lean as the service's own page: prepared, the limit written in (GraphQL has made it an Int), rows as JSON on PGlite.
          const sql = `SELECT user_id, name, user_status FROM ${USERS_TABLE} ORDER BY name, user_id LIMIT ${first + 1}`;
          const { rows } = await db.query<UserRow>(sql, [], { name: `bare_users_${first + 1}`, rowsAsJson: true });
          return {
            edges: rows.slice(0, first).map((row) => ({ node: { id: row.user_id, name: row.name, status: row.user_status } })),
            pageInfo: { hasNextPage: rows.length > first },
          };
        },
      },
      Mutation: {
        changeUserStatus: async (_: unknown, { input }: { input: { userId: string } }) => ({ errors: [], position: await append(input.userId) }),
      },
    },
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url, stop: () => server.stop() };
};
