import { meetingResolvers } from './meetings';
import { auditResolvers } from './audit';
import { LiveEventsResolver } from './live/live.resolver';
import { TokenRevocationResolver } from './tokens/tokens.resolver';
import { initiativeResolvers } from './initiatives/initiatives.resolver';
import { assertValidSchema, lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { accessPolicyMiddleware } from './access';
import { pseudonymisationMiddleware } from './personalDataAccess';
import { authChecker } from './authorization';
import { HealthResolver } from './health.resolver';
import { lifecycleResolvers } from './lifecycle';
import { BulkRegistrationResolver } from './imports/bulkRegistration.resolver';
import { NotificationPreviewResolver } from './notifications/preview.resolver';

/** The whole API. `schema.graphql` at the top level is this, printed (`npm run schema`). */
export const buildApiSchema = async (): Promise<GraphQLSchema> => {
  const schema = await buildSchema({
    resolvers: [
      HealthResolver,
      ...lifecycleResolvers,
      ...meetingResolvers,
      ...initiativeResolvers,
      ...auditResolvers,
      LiveEventsResolver,
      TokenRevocationResolver,
      BulkRegistrationResolver,
      NotificationPreviewResolver,
    ],
    authChecker,
    // Every field asks the access policy, so no path reaches an object or field the caller may not see;
    // then analysts read its personal data pseudonymised, whatever the path.
    globalMiddlewares: [accessPolicyMiddleware, pseudonymisationMiddleware],
    validate: { forbidUnknownValues: false },
    // The one subscription (`events`) brings its own source (the live event hub); no topics are published.
    pubSub: {
      publish: () => {
        throw new Error('This API publishes no subscription topics; subscriptions read the event log.');
      },
      subscribe: () => {
        throw new Error('This API has no subscription topics; subscriptions read the event log.');
      },
    },
    // type-graphql's own check runs the whole introspection query over the schema to find its errors:
    // a sixth of the server's start. graphql-js's validation below finds the same errors without it.
    skipCheck: true,
  });
  assertValidSchema(schema);
  return schema;
};

export const printApiSchema = (schema: GraphQLSchema): string =>
  `# Emitted from the code by \`npm run schema\`; do not edit. A test fails when it drifts.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
