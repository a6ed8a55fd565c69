import { Arg, Authorized, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Resolver, registerEnumType } from 'type-graphql';
import { Length } from '../validators';
import type { BulkRegistration, BulkRowResult, BulkRowStatus } from '../../application/bulkRegistration';
import { formatPosition } from '../../eventstore/eventStore';
import type { ErrorCode } from '../../domain/shared/decider';
import { attempt, UserError } from '../errors';
import type { GraphQLContext } from '../context';
import { CommandInput } from '../lifecycle/inputs';
import { commandContextFor } from '../lifecycle/support';

/** What the import resolvers need from the application (built in the composition root). */
export interface ImportServices {
  readonly bulkRegistration: BulkRegistration;
}

type Context = GraphQLContext<ImportServices>;

const BULK_ROW_STATUS = { CREATED: 'CREATED', ALREADY_REGISTERED: 'ALREADY_REGISTERED', REFUSED: 'REFUSED' } as const satisfies {
  [K in BulkRowStatus]: K;
};
registerEnumType(BULK_ROW_STATUS, {
  name: 'BulkRegistrationStatus',
  description: 'CREATED: registered now. ALREADY_REGISTERED: the address already belongs to a user (an earlier upload of the same rows, or anyone): nothing was written. REFUSED: see `error`; nothing was written.',
});

/**
 * One person. Plain strings on purpose: each row is checked on its own and a bad one is a REFUSED
 * row in the answer, not a refusal of the whole call.
 */
@InputType('RegisterUsersRowInput', { description: 'One person to register; the same fields as registerUser, checked row by row.' })
export class RegisterUsersRowInput {
  @Field()
  email!: string;

  @Field()
  name!: string;

  @Field({ description: 'MENTOR or MENTEE.' })
  role!: string;

  @Field(() => String, { nullable: true })
  company?: string | null;

  @Field(() => String, { nullable: true, description: 'With managerEmail, or neither.' })
  managerName?: string | null;

  @Field(() => String, { nullable: true })
  managerEmail?: string | null;
}

@InputType('RegisterUsersInput', { description: 'Many people for one program; each row is registered (or refused) on its own.' })
export class RegisterUsersInput extends CommandInput {
  @Field(() => ID)
  @Length(1, 100)
  programId!: string;

  @Field(() => [RegisterUsersRowInput], { description: 'At most IMPORT_MAX_ROWS rows (the same cap as the CSV upload).' })
  users!: RegisterUsersRowInput[];
}

@ObjectType('BulkRegistrationResult', { description: 'What happened to one row.' })
export class BulkRegistrationResultType {
  @Field(() => Int, { description: 'The row, counted from 1 in the order given (in a CSV upload: the line of the record, the header being 1).' })
  row!: number;

  @Field(() => BULK_ROW_STATUS)
  status!: BulkRowStatus;

  @Field(() => ID, { nullable: true, description: 'The new user, or the user who already has the address; null when refused.' })
  userId!: string | null;

  @Field(() => UserError, { nullable: true, description: 'Why the row was refused.' })
  error!: UserError | null;
}

@ObjectType('RegisterUsersPayload')
export class RegisterUsersPayload {
  @Field(() => [UserError], { description: 'Why the whole call was refused (no such program, too many rows); nothing was written then.' })
  errors!: UserError[];

  @Field(() => [BulkRegistrationResultType], { description: 'One result per row, in row order.' })
  results!: BulkRegistrationResultType[];

  @Field(() => Int)
  created!: number;

  @Field(() => Int)
  alreadyRegistered!: number;

  @Field(() => Int)
  refused!: number;

  @Field(() => String, { nullable: true, description: 'The highest position written; use it as X-Consistent-With.' })
  position!: string | null;
}

export const resultType = (result: BulkRowResult): BulkRegistrationResultType =>
  Object.assign(new BulkRegistrationResultType(), {
    row: result.row,
    status: result.status,
    userId: result.userId,
    error: result.error
      ? Object.assign(new UserError(), { code: result.error.code as ErrorCode, message: result.error.message, field: result.error.field, details: null })
      : null,
  });

@Resolver()
export class BulkRegistrationResolver {
  @Authorized('admin', 'coordinator')
  @Mutation(() => RegisterUsersPayload, {
    description:
      'Register many people in one program (admins and coordinators). Each row is one registerUser: validated on its own, ' +
      'registered, or reported ALREADY_REGISTERED when its address is taken, so sending the same rows again registers nobody twice. ' +
      'With an idempotencyKey, row n is registered under `<key>:row-<n>`. For files, and progress while they run, use POST /imports/users.csv.',
  })
  async registerUsers(@Arg('input') input: RegisterUsersInput, @Ctx() context: Context): Promise<RegisterUsersPayload> {
    const results: BulkRowResult[] = [];
    const outcome = await attempt(() =>
      context.services.bulkRegistration.register(
        commandContextFor(context as never, input),
        input.programId,
        input.users.map((user, index) => ({ ...user, row: index + 1 })),
        (result) => {
          results.push(result);
        },
      ),
    );
    const payload = new RegisterUsersPayload();
    if (!outcome.ok) return Object.assign(payload, { errors: outcome.errors, results: [], created: 0, alreadyRegistered: 0, refused: 0, position: null });
    const summary = outcome.value;
    return Object.assign(payload, {
      errors: [],
      results: results.sort((a, b) => a.row - b.row).map(resultType),
      created: summary.created,
      alreadyRegistered: summary.alreadyRegistered,
      refused: summary.refused,
      position: summary.position ? formatPosition(summary.position) : null,
    });
  }
}
