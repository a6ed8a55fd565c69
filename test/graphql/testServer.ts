import { Writable } from 'node:stream';
import { IsEmail, Length } from 'class-validator';
import { Arg, Authorized, Ctx, Field, InputType, Int, Mutation, ObjectType, Query, Resolver, buildSchema } from 'type-graphql';
import { DomainError } from '../../src/domain/shared/decider';
import { mintToken, type TokenRole } from '../../src/graphql/auth';
import { TEST_TOKEN_KEYS } from '../support/tokens';
import { authChecker } from '../../src/graphql/authorization';
import { createContextFactory, type GraphQLContext } from '../../src/graphql/context';
import { UserError, attempt } from '../../src/graphql/errors';
import { HealthResolver } from '../../src/graphql/health.resolver';
import type { HealthServices } from '../../src/graphql/health.type';
import { startHttpServer, type HttpServerOptions, type RunningHttpServer } from '../../src/http/server';
import { createLogger } from '../../src/log';

/*
 * A throwaway schema exercising the infrastructure: an authenticated query, an admin-only one, a
 * recursive type for depth, a paged list for cost, a refusal returned as data, a refusal thrown,
 * an unexpected failure, a validated input and a slow query for graceful shutdown.
 */

@ObjectType()
class Node {
  @Field()
  name!: string;

  @Field(() => [Node])
  children(@Arg('first', () => Int, { nullable: true }) first?: number): Node[] {
    return Array.from({ length: Math.min(first ?? 2, 3) }, (_, i) => Object.assign(new Node(), { name: `${this.name}.${i}` }));
  }
}

@ObjectType()
class RenamePayload {
  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => [UserError])
  errors!: UserError[];
}

@InputType()
class InviteInput {
  @Field()
  @IsEmail({}, { message: 'email must be an email address' })
  email!: string;

  @Field()
  @Length(2, 40, { message: 'name must be 2 to 40 characters long' })
  name!: string;
}

type Services = HealthServices & { readonly secretConnectionString: string };

@Resolver()
class TestResolver {
  @Authorized()
  @Query(() => String)
  whoAmI(@Ctx() context: GraphQLContext<Services>): string {
    return `${context.actor!.id}:${context.actor!.role}:${context.userId ?? '-'}`;
  }

  @Authorized('admin')
  @Query(() => String)
  adminOnly(): string {
    return 'for admins';
  }

  @Authorized('admin', 'auditor')
  @Query(() => String)
  auditTrail(): string {
    return 'for admins and auditors';
  }

  /** No @Authorized on purpose: the anonymous gate must still close it. */
  @Query(() => String)
  forgotToAuthorize(): string {
    return 'leaked';
  }

  @Authorized()
  @Query(() => Node)
  tree(): Node {
    return Object.assign(new Node(), { name: 'root' });
  }

  @Authorized()
  @Query(() => [Node])
  nodes(@Arg('first', () => Int) first: number): Node[] {
    return Array.from({ length: Math.min(first, 3) }, (_, i) => Object.assign(new Node(), { name: `n${i}` }));
  }

  @Authorized()
  @Query(() => String)
  boom(@Ctx() context: GraphQLContext<Services>): string {
    throw new Error(`could not connect to ${context.services.secretConnectionString}`);
  }

  @Authorized()
  @Query(() => String)
  async slow(@Arg('ms', () => Int) ms: number): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return `slept ${ms} ms`;
  }

  @Authorized()
  @Mutation(() => RenamePayload)
  async rename(@Arg('name') name: string): Promise<RenamePayload> {
    const result = await attempt(async () => {
      if (name === 'taken') throw new DomainError('ALREADY_EXISTS', `The name "${name}" is taken; pick another.`, { field: 'name', name });
      return name;
    });
    return result.ok ? { name: result.value, errors: [] } : { name: null, errors: result.errors };
  }

  @Authorized()
  @Mutation(() => Boolean)
  closeForever(): boolean {
    throw new DomainError('ILLEGAL_TRANSITION', 'A closed match cannot be closed again.', { matchId: 'm-1' });
  }

  @Authorized()
  @Mutation(() => String)
  invite(@Arg('input') input: InviteInput): string {
    return input.email;
  }
}

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export const FIXED_NOW = new Date('2030-01-01T12:00:00.000Z');
export const SECRET_CONNECTION_STRING = 'postgres://app:hunter2@db.internal:5432/prod';

export const token = (role: TokenRole, subject = 'alice', extra: { userId?: string; expiresIn?: string; secret?: string; now?: Date } = {}) =>
  mintToken({
    secret: extra.secret ?? TEST_TOKEN_KEYS,
    subject,
    role,
    expiresIn: extra.expiresIn ?? '1h',
    now: extra.now ?? FIXED_NOW,
    ...(extra.userId !== undefined ? { userId: extra.userId } : {}),
  });

export interface TestServer {
  readonly server: RunningHttpServer;
  readonly logs: LogLine[];
  readonly shutdownCalls: string[];
  graphql(
    query: string,
    options?: { token?: string; variables?: Record<string, unknown>; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: { data?: any; errors?: any[] }; text: string }>;
}

export const startTestServer = async (overrides: Partial<HttpServerOptions<Services>> = {}): Promise<TestServer> => {
  const logs: LogLine[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const services: Services = {
    secretConnectionString: SECRET_CONNECTION_STRING,
    health: async () => ({ status: 'ok', eventStore: 'memory', projectionsLag: [{ projection: 'users', checkpoint: '7.1', caughtUp: true }] }),
  };
  const schema = await buildSchema({ resolvers: [TestResolver, HealthResolver], authChecker, validate: true });
  const shutdownCalls: string[] = [];
  const server = await startHttpServer<Services>({
    schema,
    contextFactory: createContextFactory({ secret: TEST_TOKEN_KEYS, clock: () => FIXED_NOW, services, logger }),
    port: 0,
    host: '127.0.0.1',
    logger,
    health: services.health,
    limits: { maxDepth: 6, maxCost: 500 },
    maxBodyBytes: 16 * 1024,
    onShutdown: [() => void shutdownCalls.push('first'), async () => void shutdownCalls.push('second')],
    ...overrides,
  });
  const graphql: TestServer['graphql'] = async (query, options = {}) => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      },
      body: JSON.stringify({ query, variables: options.variables }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: JSON.parse(text), text };
  };
  return { server, logs, shutdownCalls, graphql };
};
