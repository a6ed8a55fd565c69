import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import type { ValidationError } from 'class-validator';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import {
  ArgumentValidationError,
  AuthenticationError as TypeGraphQLAuthenticationError,
  AuthorizationError as TypeGraphQLAuthorizationError,
  Field,
  ObjectType,
  registerEnumType,
} from 'type-graphql';
import { DomainError, type ErrorCode } from '../domain/shared/decider';
import { IdempotencyKeyReusedError, WrongExpectedRevisionError } from '../eventstore/eventStore';
import type { Logger } from '../log';

/*
 * The error contract.
 *
 * Expected failures are data: a mutation's payload carries `errors: [UserError!]!`, each with a
 * stable `code` clients switch on and a sentence a person can act on (`toUserErrors`, `attempt`).
 *
 * Anything that escapes a resolver becomes a GraphQL error whose `extensions.code` is stable too
 * (`createErrorReporting().formatError`). Errors we did not expect are logged with the request id
 * and reach the client as INTERNAL_SERVER_ERROR with that id and nothing else.
 */

/** Every `ErrorCode`, as a value (the mapped type makes a code added to the union a compile error here). */
export const ERROR_CODES: { readonly [Code in ErrorCode]: Code } = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  NOT_FOUND: 'NOT_FOUND',
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  ILLEGAL_TRANSITION: 'ILLEGAL_TRANSITION',
  RULE_VIOLATED: 'RULE_VIOLATED',
  CONFIRMATION_REQUIRED: 'CONFIRMATION_REQUIRED',
  REVERT_AMBIGUOUS: 'REVERT_AMBIGUOUS',
  CONCURRENCY_CONFLICT: 'CONCURRENCY_CONFLICT',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  FORBIDDEN: 'FORBIDDEN',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
};

registerEnumType(ERROR_CODES, {
  name: 'ErrorCode',
  description: 'Why a command was refused. Stable: clients switch on it; the message is for people.',
  valuesConfig: {
    VALIDATION_FAILED: { description: 'An input value is malformed or missing; `field` names it.' },
    NOT_FOUND: { description: 'Something the command refers to does not exist.' },
    ALREADY_EXISTS: { description: 'Something the command would create exists already.' },
    ILLEGAL_TRANSITION: { description: 'The record is not in a state that allows this change.' },
    RULE_VIOLATED: { description: 'A business rule forbids the change.' },
    CONFIRMATION_REQUIRED: { description: 'The change has consequences; repeat it with the confirmation the message names.' },
    REVERT_AMBIGUOUS: { description: 'There is more than one earlier state to go back to; say which.' },
    CONCURRENCY_CONFLICT: { description: 'Someone else changed the same record at the same time. Reload and try again.' },
    IDEMPOTENCY_KEY_REUSED: { description: 'The idempotency key was already used for a different command.' },
    FORBIDDEN: { description: 'Your role does not allow this.' },
    UNAUTHENTICATED: { description: 'No valid bearer token was sent.' },
  },
});

@ObjectType({ description: 'Why a command was refused, as data a client can act on.' })
export class UserError {
  @Field(() => ERROR_CODES, { description: 'Stable, machine-readable reason.' })
  code!: ErrorCode;

  @Field({ description: 'A sentence a person can act on.' })
  message!: string;

  @Field(() => String, { nullable: true, description: 'The input field at fault (dotted path), for validation errors.' })
  field!: string | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Facts behind the refusal (ids, states, limits), as JSON.' })
  details!: Record<string, unknown> | null;
}

/** Codes of GraphQL errors (as opposed to `UserError`s) beyond the domain's `ErrorCode`s. */
export type TransportErrorCode =
  | 'QUERY_TOO_DEEP'
  | 'QUERY_TOO_COMPLEX'
  | 'QUERY_TOO_MANY_ALIASES'
  | 'QUERY_TOO_MANY_EXPENSIVE_FIELDS'
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'BAD_REQUEST'
  | 'INTERNAL_SERVER_ERROR';

export interface FieldMessages {
  /** Dotted path of the input field, e.g. `address.city` or `emails.0`. */
  readonly field: string;
  readonly messages: readonly string[];
}

/** Flattens class-validator's nested errors into one entry per field. */
export const fieldMessages = (errors: readonly ValidationError[], parent = ''): FieldMessages[] =>
  errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {});
    return [...(own.length > 0 ? [{ field, messages: own }] : []), ...fieldMessages(error.children ?? [], field)];
  });

/** Details as plain JSON: bigint positions become strings, anything unserialisable is dropped. */
const jsonDetails = (details: Readonly<Record<string, unknown>>): Record<string, unknown> | null => {
  if (Object.keys(details).length === 0) return null;
  try {
    return JSON.parse(JSON.stringify(details, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)));
  } catch {
    return null;
  }
};

const userError = (code: ErrorCode, message: string, field: string | null = null, details: Record<string, unknown> | null = null) =>
  Object.assign(new UserError(), { code, message, field, details });

/**
 * The refusals in an error, as data; any other error is rethrown (it is a bug or an outage, and
 * must reach the error log, not the client's payload).
 */
export const toUserErrors = (error: unknown): UserError[] => {
  if (error instanceof DomainError) {
    const field = typeof error.details.field === 'string' ? error.details.field : null;
    return [userError(error.code, error.message, field, jsonDetails(error.details))];
  }
  if (error instanceof ArgumentValidationError) {
    return validationUserErrors(error.extensions.validationErrors);
  }
  if (Array.isArray(error) && error.length > 0 && error.every(isValidationError)) {
    return validationUserErrors(error);
  }
  if (error instanceof WrongExpectedRevisionError) {
    return [
      userError('CONCURRENCY_CONFLICT', error.message, null, jsonDetails({ streamId: error.streamId, expected: error.expected, actual: error.actual })),
    ];
  }
  if (error instanceof IdempotencyKeyReusedError) {
    return [userError('IDEMPOTENCY_KEY_REUSED', error.message, null, { idempotencyKey: error.idempotencyKey })];
  }
  throw error;
};

const isValidationError = (value: unknown): value is ValidationError =>
  typeof value === 'object' && value !== null && 'property' in value && ('constraints' in value || 'children' in value);

const validationUserErrors = (errors: readonly ValidationError[]): UserError[] =>
  fieldMessages(errors).map(({ field, messages }) =>
    userError('VALIDATION_FAILED', `${messages.join('; ')}.`, field, { constraints: messages }),
  );

export type Attempt<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: UserError[] };

/**
 * Runs a command and returns its refusals as data, for mutation payloads:
 *
 *     const result = await attempt(() => handler.execute(commandContext(context), command));
 *     return result.ok ? { match: result.value, errors: [] } : { match: null, errors: result.errors };
 */
export const attempt = async <T>(work: () => Promise<T> | T): Promise<Attempt<T>> => {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, errors: toUserErrors(error) };
  }
};

/** A GraphQL error meant for the client, with a stable code (and an HTTP status when it fails the whole request). */
export const clientError = (
  code: ErrorCode | TransportErrorCode,
  message: string,
  options: {
    readonly status?: number;
    readonly extensions?: Readonly<Record<string, unknown>>;
    /** Response headers for a refusal that fails the whole request (e.g. Retry-After). */
    readonly headers?: Readonly<Record<string, string>>;
  } = {},
): GraphQLError => {
  const headers = new HeaderMap([...(code === 'UNAUTHENTICATED' ? [['www-authenticate', 'Bearer'] as [string, string]] : []), ...Object.entries(options.headers ?? {})]);
  return new GraphQLError(message, {
    extensions: { ...options.extensions, code, ...(options.status !== undefined ? { http: { status: options.status, headers } } : {}) },
  });
};

export const internalErrorMessage = (requestId: string | null): string =>
  requestId === null
    ? 'Something went wrong on our side; the error was logged.'
    : `Something went wrong on our side; the error was logged with request id ${requestId}.`;

/** What the client sees of an unexpected failure that was already logged. */
export class InternalServerError extends GraphQLError {
  constructor(readonly requestId: string) {
    super(internalErrorMessage(requestId), { extensions: { code: 'INTERNAL_SERVER_ERROR', requestId, http: { status: 500 } } });
  }
}

export const internalError = (requestId: string): InternalServerError => new InternalServerError(requestId);

type Classified =
  | { readonly kind: 'expected'; readonly message: string; readonly extensions: Record<string, unknown> }
  | { readonly kind: 'unexpected'; readonly cause: unknown };

const UNSAFE_EXTENSIONS = new Set(['stacktrace', 'exception', 'originalError', 'http']);

/**
 * The error a resolver, plugin or context factory actually threw. graphql-js and Apollo wrap
 * non-GraphQL errors in a GraphQLError; wrappers around other GraphQL errors (Apollo's validation
 * and syntax errors) carry the code themselves and are kept.
 */
const unwrap = (error: unknown): unknown => {
  const unwrapped = unwrapResolverError(error);
  return unwrapped instanceof GraphQLError && unwrapped.originalError && !(unwrapped.originalError instanceof GraphQLError)
    ? unwrapped.originalError
    : unwrapped;
};

/** Sorts an error that reached Apollo into one the client may read and one it must not. */
const classify = (error: unknown): Classified => {
  const original = unwrap(error);
  if (original instanceof DomainError) {
    const details = jsonDetails(original.details);
    return { kind: 'expected', message: original.message, extensions: { code: original.code, ...(details ? { details } : {}) } };
  }
  if (original instanceof ArgumentValidationError) {
    const fields = fieldMessages(original.extensions.validationErrors);
    const summary = fields.map(({ field, messages }) => `${field}: ${messages.join(', ')}`).join('; ');
    return {
      kind: 'expected',
      message: `Some input is not valid (${summary}). Correct it and send the request again.`,
      extensions: { code: 'VALIDATION_FAILED', fields },
    };
  }
  if (original instanceof WrongExpectedRevisionError || original instanceof IdempotencyKeyReusedError) {
    return { kind: 'expected', message: original.message, extensions: { code: original.code } };
  }
  if (original instanceof TypeGraphQLAuthenticationError) {
    return {
      kind: 'expected',
      message: 'Sign in first: send "Authorization: Bearer <token>" with the request.',
      extensions: { code: 'UNAUTHENTICATED' },
    };
  }
  if (original instanceof TypeGraphQLAuthorizationError) {
    return { kind: 'expected', message: 'Your role does not allow this.', extensions: { code: 'FORBIDDEN' } };
  }
  if (original instanceof InternalServerError) {
    return { kind: 'expected', message: original.message, extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: original.requestId } };
  }
  // GraphQL errors raised on purpose with a code (parse, validation, variables, limits, our own
  // `clientError`s) are meant for the client. Everything else (a thrown Error, graphql-js noticing
  // a null in a non-null field) is a bug or an outage.
  if (original instanceof GraphQLError && typeof original.extensions.code === 'string' && original.extensions.code !== 'INTERNAL_SERVER_ERROR') {
    const extensions = Object.fromEntries(Object.entries(original.extensions).filter(([key]) => !UNSAFE_EXTENSIONS.has(key)));
    return { kind: 'expected', message: original.message, extensions };
  }
  return { kind: 'unexpected', cause: original };
};

interface RequestInfo {
  readonly requestId: string;
}

export interface ErrorReporting {
  /** Apollo's `formatError`. */
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Logs unexpected errors with the request's id and logger, before `formatError` hides them. */
  readonly plugin: ApolloServerPlugin<{ readonly requestId: string; readonly logger: Logger }>;
}

/** `formatError` and the plugin that feeds it request ids; install both on the same Apollo server. */
export const createErrorReporting = ({ logger }: { readonly logger: Logger }): ErrorReporting => {
  // formatError sees no context, so the plugin notes each logged error's request id here.
  const logged = new WeakMap<object, RequestInfo>();

  const formatError = (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const where = {
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
    };
    const classified = classify(error);
    if (classified.kind === 'expected') return { message: classified.message, ...where, extensions: classified.extensions };
    const info = typeof error === 'object' && error !== null ? logged.get(error) : undefined;
    if (!info) logger.error({ err: classified.cause, path: formatted.path }, 'Unexpected error outside a request pipeline');
    const requestId = info?.requestId ?? null;
    return {
      message: internalErrorMessage(requestId),
      ...where,
      extensions: { code: 'INTERNAL_SERVER_ERROR', ...(requestId !== null ? { requestId } : {}) },
    };
  };

  const plugin: ErrorReporting['plugin'] = {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            const classified = classify(error);
            if (classified.kind === 'unexpected') {
              logged.set(error, { requestId: contextValue.requestId });
              contextValue.logger.error(
                { err: classified.cause, path: error.path, operationName },
                'Unexpected error while serving a GraphQL request',
              );
            } else {
              contextValue.logger.debug({ code: classified.extensions.code, path: error.path, operationName }, error.message);
            }
          }
        },
      };
    },
  };

  return { formatError, plugin };
};
