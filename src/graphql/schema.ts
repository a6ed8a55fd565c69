import { meetingResolvers } from './meetings';
import { auditResolvers } from './audit';
import { LiveEventsResolver } from './live/live.resolver';
import { TokenRevocationResolver } from './tokens/tokens.resolver';
import { initiativeResolvers } from './initiatives/initiatives.resolver';
import type { ValidationError, ValidatorOptions } from 'class-validator';
import { Validator, rememberValidationRules } from './validators';
import { assertValidSchema, defaultFieldResolver, isIntrospectionType, isObjectType, lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { ArgumentValidationError, buildSchema } from 'type-graphql';
import { withAccessPolicy } from './access';
import { withPseudonymisation } from './personalDataAccess';
import { authChecker } from './authorization';
import { HealthResolver } from './health.resolver';
import { lifecycleResolvers } from './lifecycle';
import { BulkRegistrationResolver } from './imports/bulkRegistration.resolver';
import { NotificationPreviewResolver } from './notifications/preview.resolver';

/** type-graphql's defaults for class-validator, with unknown values (plain objects) let through. */
const VALIDATOR_OPTIONS: ValidatorOptions = { skipMissingProperties: true, forbidUnknownValues: false };

rememberValidationRules();
const validator = new Validator();

const isObject = (value: unknown): value is object => value !== null && typeof value === 'object';

/**
 * Every argument's class-validator check, as type-graphql's built-in one does it (objects and lists
 * of objects; scalars pass), with class-validator imported once: the built-in one `require`s it
 * anew for each argument of each request (1.7 % of a mutation's CPU in a profile).
 */
const validateArgument = async (value: unknown): Promise<void> => {
  if (!isObject(value)) return;
  try {
    if (Array.isArray(value)) await Promise.all(value.filter(isObject).map((item) => validator.validateOrReject(item, VALIDATOR_OPTIONS)));
    else await validator.validateOrReject(value, VALIDATOR_OPTIONS);
  } catch (errors) {
    throw new ArgumentValidationError(errors as ValidationError[]);
  }
};

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
    validateFn: validateArgument,
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
  governFields(schema);
  return schema;
};

/**
 * Every field of every type asks the access policy, so no path reaches an object or field the
 * caller may not see; then analysts read its personal data pseudonymised, whatever the path. Done
 * here on the built schema rather than as type-graphql global middlewares: those run on every
 * field, and their chain makes each field a promise even where neither has anything to do (a
 * page's 20 users times their fields), which cost more CPU than the page's own query. Each wrapper
 * is there only on the fields it concerns, and answers at once when it has nothing to wait for.
 */
const governFields = (schema: GraphQLSchema): void => {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const resolve = field.resolve ?? defaultFieldResolver;
      const governed = withAccessPolicy(type, field, withPseudonymisation(type, field, resolve));
      if (governed !== resolve) field.resolve = governed;
    }
  }
};

export const printApiSchema = (schema: GraphQLSchema): string =>
  `# Emitted from the code by \`npm run schema\`; do not edit. A test fails when it drifts.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
