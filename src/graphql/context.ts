import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import type { CommandContext } from '../commands/pipeline';
import { DomainError } from '../domain/shared/decider';
import { userIdForEmail } from '../domain/user/userId';
import { parsePosition, type GlobalPosition } from '../eventstore/eventStore';
import type { Logger } from '../log';
import { bearerToken, verifyToken, type AuthenticatedActor, type TokenKeys } from './auth';
import { clientError, internalError } from './errors';

/** Everything a resolver may know about the request it serves. Created fresh for each request. */
export interface GraphQLContext<Services = unknown> {
  /** The verified caller, or `null` for an anonymous request (which may only query `health`). */
  readonly actor: AuthenticatedActor | null;
  /** The domain user the caller's token belongs to (mentor, mentee and manager tokens carry one). */
  readonly userId?: string;
  /** The clock. Handlers take time from here, never from `new Date()`. */
  readonly now: () => Date;
  /** Shared by every event this request causes; taken from `x-correlation-id` when the caller sent one. */
  readonly correlationId: string;
  /** This request alone; shown to callers in internal-error messages and on every log line. */
  readonly requestId: string;
  /** Per-request DataLoaders (see `defineLoader`), so batching and caching never cross requests. */
  readonly loaders: RequestLoaders;
  /** A logger whose lines carry the request id, correlation id and actor. */
  readonly logger: Logger;
  readonly services: Services;
  /**
   * From the `X-Consistent-With` header: a global position (from a mutation payload) the read
   * models must have reached before a query reads them, so a client sees its own writes.
   */
  readonly consistentWith: GlobalPosition | null;
}

/** Only what the context factory reads from an HTTP request. */
export interface ContextRequest {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The HTTP layer's id for the request, so its access log and the context agree. */
  readonly requestId?: string;
}

export type ContextFactory<Services> = (request: ContextRequest) => Promise<GraphQLContext<Services>>;

export interface ContextFactoryOptions<Services> {
  /** The HS256 key(s) tokens are verified with (from configuration or the embedded store's key file), when `authenticate` is not given. */
  readonly secret?: TokenKeys;
  /** The server's full check (local keys, identity provider, revocations: src/auth/authenticator.ts); wins over `secret`. */
  readonly authenticate?: (token: string) => Promise<AuthenticatedActor>;
  readonly clock: () => Date;
  readonly services: Services;
  readonly logger: Logger;
  readonly newId?: () => string;
}

/** The DataLoaders one request has created so far, each keyed by its definition. */
export class RequestLoaders {
  private readonly created = new Map<object, DataLoader<unknown, unknown>>();

  get<Key, Value>(definition: object, create: () => DataLoader<Key, Value>): DataLoader<Key, Value> {
    let loader = this.created.get(definition) as DataLoader<Key, Value> | undefined;
    if (!loader) {
      loader = create();
      this.created.set(definition, loader as DataLoader<unknown, unknown>);
    }
    return loader;
  }
}

export type BatchLoad<Key, Value, Services> = (
  keys: readonly Key[],
  context: GraphQLContext<Services>,
) => PromiseLike<ArrayLike<Value | Error>>;

/**
 * Declares a DataLoader once, at module level; each request gets its own instance on first use:
 *
 *     const userById = defineLoader((ids: readonly string[], { services }) => services.users.byIds(ids));
 *     // in a field resolver:
 *     return userById(context).load(user.mentorId);
 */
export const defineLoader = <Key, Value, Services>(
  batch: BatchLoad<Key, Value, Services>,
  options?: DataLoader.Options<Key, Value>,
): ((context: GraphQLContext<Services>) => DataLoader<Key, Value>) => {
  const definition = {};
  return (context) => context.loaders.get(definition, () => new DataLoader<Key, Value>((keys) => batch(keys, context), options));
};

const SAFE_CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const singleHeader = (value: string | readonly string[] | undefined): string | undefined =>
  typeof value === 'string' ? value : value?.[0];

/**
 * The context factory the HTTP layer calls for each GraphQL request. A missing Authorization
 * header makes the request anonymous; a bad one fails the request with UNAUTHENTICATED (401).
 */
export const createContextFactory = <Services>(options: ContextFactoryOptions<Services>): ContextFactory<Services> => {
  const newId = options.newId ?? randomUUID;
  const authenticate =
    options.authenticate ??
    ((token: string) => {
      if (options.secret === undefined) throw new Error('createContextFactory needs `authenticate` or `secret`.');
      return verifyToken(options.secret, token, { now: options.clock() });
    });
  return async (request) => {
    const requestId = request.requestId ?? newId();
    const offered = singleHeader(request.headers['x-correlation-id'])?.trim();
    // A caller-chosen id ends up in events and logs, so only a plain token-like string is kept.
    const correlationId = offered && SAFE_CORRELATION_ID.test(offered) ? offered : newId();
    let actor: AuthenticatedActor | null;
    try {
      const token = bearerToken(singleHeader(request.headers.authorization));
      actor = token === null ? null : await authenticate(token);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'UNAUTHENTICATED') {
        throw clientError('UNAUTHENTICATED', error.message, { status: 401 });
      }
      options.logger.error({ err: error, requestId }, 'Could not authenticate the request');
      throw internalError(requestId);
    }
    const consistentWithHeader = singleHeader(request.headers['x-consistent-with'])?.trim();
    const consistentWith = consistentWithHeader ? parsePosition(consistentWithHeader) : null;
    if (consistentWithHeader && !consistentWith) {
      throw clientError('VALIDATION_FAILED', 'X-Consistent-With must be a position as mutation payloads return it, like "1234.56".', {
        status: 400,
      });
    }
    return {
      consistentWith,
      actor,
      ...(actor?.userId !== undefined ? { userId: actor.userId } : {}),
      now: options.clock,
      correlationId,
      requestId,
      loaders: new RequestLoaders(),
      logger: options.logger.child({ requestId, correlationId, actorId: actor?.id ?? null }),
      services: options.services,
    };
  };
};

/** The caller, or UNAUTHENTICATED. For resolvers that also run without `@Authorized()`. */
export const requireActor = (context: GraphQLContext<unknown>): AuthenticatedActor => {
  if (!context.actor) {
    throw new DomainError('UNAUTHENTICATED', 'Sign in first: send "Authorization: Bearer <token>" with the request.');
  }
  return context.actor;
};

/** Who, when and why, as the command pipeline records it, from the request's context. */
/**
 * The id the log records for an actor. A participant's or manager's token subject is often their
 * e-mail address, which must not enter the immutable, hash-chained log (it could never be erased):
 * mentors and mentees act under their user id (their token names it), managers under the id their
 * e-mail would have as a user (`userIdForEmail`, as personalData.ts names them). Staff keep their subject.
 */
export const loggedActorId = (subject: string, role: string, userId: string | null | undefined): string => {
  if ((role === 'mentor' || role === 'mentee') && userId) return userId;
  if (role === 'manager' && subject.includes('@')) return userIdForEmail(subject);
  return subject;
};

export const commandContext = (
  context: GraphQLContext<unknown>,
  extra: { readonly reason?: string; readonly idempotencyKey?: string } = {},
): CommandContext => {
  const actor = requireActor(context);
  return {
    // Events keep only who acted and in which role; names stay out of the log.
    actor: { id: loggedActorId(actor.id, actor.role, context.userId), role: actor.role },
    now: context.now().toISOString(),
    correlationId: context.correlationId,
    ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
    ...(extra.idempotencyKey !== undefined ? { idempotencyKey: extra.idempotencyKey } : {}),
  };
};
