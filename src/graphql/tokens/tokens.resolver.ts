import { IsOptional, Length } from '../validators';
import { Arg, Authorized, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Query, Resolver, registerEnumType } from 'type-graphql';
import type { RevocationRequest, TokenRevocation, TokenRevocations } from '../../auth/revocations';
import { DomainError } from '../../domain/shared/decider';
import type { TokenRole } from '../auth';
import { requireActor, type GraphQLContext } from '../context';
import { UserError, attempt } from '../errors';
import { ActorType } from '../lifecycle/history.type';

/** What the token resolvers need (built in the composition root). */
export interface TokenServices {
  readonly revocations: TokenRevocations;
}

type TokenContext = GraphQLContext<TokenServices>;

const REVOCATION_KINDS = { TOKEN: 'TOKEN', SUBJECT: 'SUBJECT' } as const;

registerEnumType(REVOCATION_KINDS, {
  name: 'TokenRevocationKind',
  description: 'What a revocation covers.',
  valuesConfig: {
    TOKEN: { description: 'One token, by its id (`jti`).' },
    SUBJECT: { description: 'Every token of a subject issued before a time.' },
  },
});

@InputType('RevokeTokensInput', { description: 'Give `tokenId`, or `subject` (with `issuedBefore`, default now); and always the reason.' })
export class RevokeTokensInput {
  @Field(() => String, { nullable: true, description: 'The id (`jti` claim) of the one token to revoke.' })
  @IsOptional()
  @Length(1, 200)
  tokenId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: "Revoke every token of this subject: the token's `sub`, or the id it signs in as (a manager's e-mail for identity-provider tokens).",
  })
  @IsOptional()
  @Length(1, 300)
  subject?: string | null;

  @Field(() => Date, { nullable: true, description: "With `subject`: tokens issued before this moment are refused (default: now). Not in the future." })
  @IsOptional()
  issuedBefore?: Date | null;

  @Field({ description: 'Why (kept with the revocation, for the audit).' })
  @Length(1, 500)
  reason!: string;
}

@ObjectType('TokenRevocation', {
  description:
    'One revocation of bearer tokens: what, since when, who revoked it, when and why. Never removed; erasing a person\'s personal data ' +
    'replaces their e-mail address in it with a pseudonym (`erased:sha256:...`), and a revocation of that address stays in effect.',
})
export class TokenRevocationType {
  @Field(() => ID)
  id!: string;

  @Field(() => REVOCATION_KINDS)
  kind!: TokenRevocation['kind'];

  @Field(() => String, { nullable: true, description: 'The revoked token (kind TOKEN).' })
  tokenId!: string | null;

  @Field(() => String, { nullable: true, description: 'The revoked subject (kind SUBJECT).' })
  subject!: string | null;

  @Field(() => String, { nullable: true, description: "Kind SUBJECT: the subject's tokens issued before this (ISO-8601) are refused." })
  issuedBefore!: string | null;

  @Field({ description: 'When it was revoked, ISO-8601 (the server\'s clock).' })
  revokedAt!: string;

  @Field(() => ActorType, { description: 'Who revoked it.' })
  revokedBy!: ActorType;

  @Field()
  reason!: string;
}

@ObjectType('TokenRevocationPayload')
export class TokenRevocationPayload {
  @Field(() => [UserError], { description: 'Why the revocation was refused; empty when it was recorded. Nothing was recorded when it is not empty.' })
  errors!: UserError[];

  @Field(() => TokenRevocationType, { nullable: true, description: 'The revocation recorded.' })
  revocation!: TokenRevocationType | null;
}

const asType = (revocation: TokenRevocation): TokenRevocationType =>
  Object.assign(new TokenRevocationType(), {
    ...revocation,
    revokedBy: Object.assign(new ActorType(), revocation.revokedBy),
  });

const requestOf = (input: RevokeTokensInput): RevocationRequest => {
  const tokenId = input.tokenId ?? null;
  const subject = input.subject ?? null;
  if ((tokenId === null) === (subject === null)) {
    throw new DomainError('VALIDATION_FAILED', 'Give either tokenId (one token) or subject (all its tokens), not both and not neither.', { field: 'tokenId' });
  }
  if (tokenId !== null) {
    if (input.issuedBefore) throw new DomainError('VALIDATION_FAILED', 'issuedBefore goes with subject, not with tokenId.', { field: 'issuedBefore' });
    return { kind: 'TOKEN', tokenId };
  }
  return { kind: 'SUBJECT', subject: subject!, ...(input.issuedBefore ? { issuedBefore: input.issuedBefore } : {}) };
};

const MAX_PAGE = 100;

@Resolver()
export class TokenRevocationResolver {
  @Authorized<TokenRole>('admin')
  @Mutation(() => TokenRevocationPayload, {
    description:
      'Revoke one bearer token (by its id) or every token of a subject issued before a time. Takes effect at once on this server and within ' +
      'REVOCATION_POLL_MS on the others, for HTTP requests and open WebSocket subscriptions alike (they close with code 4403). Admins only; recorded with who, when and why.',
  })
  async revokeTokens(@Arg('input') input: RevokeTokensInput, @Ctx() context: TokenContext): Promise<TokenRevocationPayload> {
    const actor = requireActor(context);
    const result = await attempt(() => context.services.revocations.revoke(requestOf(input), { id: actor.id, role: actor.role }, input.reason));
    return Object.assign(new TokenRevocationPayload(), result.ok ? { errors: [], revocation: asType(result.value) } : { errors: result.errors, revocation: null });
  }

  @Authorized<TokenRole>('admin', 'auditor')
  @Query(() => [TokenRevocationType], { description: 'Every token revocation, newest first: what, who, when, why. Admins and auditors.' })
  async tokenRevocations(
    @Ctx() context: TokenContext,
    @Arg('first', () => Int, { defaultValue: 20, description: `At most ${MAX_PAGE}.` }) first = 20,
  ): Promise<TokenRevocationType[]> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
      throw new DomainError('VALIDATION_FAILED', `first must be between 1 and ${MAX_PAGE}; got ${first}.`, { field: 'first' });
    }
    return (await context.services.revocations.list(first)).map(asType);
  }
}
