import { IsOptional, Length } from '../validators';
import { Arg, Authorized, Ctx, Field, ID, InputType, Int, ObjectType, Query, Resolver, registerEnumType } from 'type-graphql';
import { READ_KINDS, type ReadFilter, type ReadKind, type ReadRecord } from '../../audit/readAudit';
import { DomainError } from '../../domain/shared/decider';
import { ActorType, PageInfoType } from '../lifecycle/history.type';
import { recordRead } from '../readAudit';
import type { AuditContext } from './services';

const READ_KIND_ENUM = Object.fromEntries(READ_KINDS.map((kind) => [kind, kind])) as { readonly [K in ReadKind]: K };

registerEnumType(READ_KIND_ENUM, {
  name: 'PersonalDataReadKind',
  description: 'What kind of personal data a staff member read.',
  valuesConfig: {
    USER_RECORD: {
      description:
        "A user's profile or persona (`user`, a node of `users`, `persona`, `Persona.user`, `Persona.partner`, `Match.mentor`/`mentee`, a mutation payload's `user`, " +
        'and each person named by a row of `unmatchedMentees`, `availableMentors`, `suggestMentors`, `programMatches`, `matchRequests`, `notifications`).',
    },
    USER_HISTORY: { description: "A page of a user's history timeline (`userHistory`, `User.history`)." },
    USER_STATE: { description: 'A user or persona as of a moment, or between two (`userAsOf`, `stateAsOf`, `stateDiff`).' },
    USER_EVENTS: { description: "Events of a user's stream (`eventLog`, `eventChain`): one read per stream an answer showed." },
    REPORT_ROW: { description: "A manager-report row: an employee's participation as a mentor." },
    REGISTRATION: { description: "A volunteer's registration to an initiative (`registration`, each of `registrations`)." },
    EXPORT: { description: "A download of many people's data at once; `objectId` says what it covered." },
    READ_LOG: { description: 'A look at this log itself (`personalDataReads`).' },
    RAW_PERSONAL_DATA: {
      description:
        "An analyst's read of names, e-mails or free text without pseudonyms, allowed by the `personal-data:raw` permission " +
        '(`objectId`: what was read raw, e.g. `User.email` of a user, `GET /exports/matches.csv?...`).',
    },
    READS_LOST: {
      description: 'Reads that were not recorded because the recorder\'s buffer was full; `objectId` says how many. Written by the system.',
    },
  },
});

@InputType('PersonalDataReadFilterInput', { description: 'Which reads to list; every field given must match (AND).' })
export class PersonalDataReadFilterInput {
  @Field(() => ID, { nullable: true, description: 'Reads of this person\'s data (their user id).' })
  @IsOptional()
  @Length(1, 300)
  subjectUserId?: string;

  @Field(() => String, { nullable: true, description: 'Reads by this actor (the token subject).' })
  @IsOptional()
  @Length(1, 300)
  actorId?: string;

  @Field(() => Date, { nullable: true, description: 'Reads at or after this moment.' })
  @IsOptional()
  from?: Date;

  @Field(() => Date, { nullable: true, description: 'Reads before this moment (exclusive, so adjacent ranges never overlap).' })
  @IsOptional()
  to?: Date;
}

@ObjectType('PersonalDataRead', { description: "One staff member's read of a person's data: who, what, when, through which request." })
export class PersonalDataReadType {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'When it was read, ISO-8601 (the server\'s clock).' })
  readAt!: string;

  @Field(() => ActorType, { description: 'Who read it, in which role.' })
  actor!: ActorType;

  @Field(() => READ_KIND_ENUM, { description: 'What kind of data it was.' })
  kind!: ReadKind;

  @Field({ description: 'What was read: a user id, a stream id (`user-<id>`, `persona-<id>`), or an export with its parameters.' })
  objectId!: string;

  @Field(() => ID, { nullable: true, description: 'Whose data it is; null for an export of many people.' })
  subjectUserId!: string | null;

  @Field({ description: 'The query, field or HTTP route that read it, e.g. `Query.userHistory`, `GET /exports/matches.csv`.' })
  via!: string;

  @Field(() => String, { nullable: true, description: 'The HTTP request that read it (as in the server\'s logs).' })
  requestId!: string | null;

  @Field(() => String, { nullable: true, description: 'The request\'s correlation id (as in event metadata and logs).' })
  correlationId!: string | null;
}

@ObjectType('PersonalDataReadEdge')
export class PersonalDataReadEdgeType {
  @Field(() => PersonalDataReadType)
  node!: PersonalDataReadType;

  @Field({ description: 'Pass as `after` to read on from this read.' })
  cursor!: string;
}

@ObjectType('PersonalDataReadConnection', { description: 'Recorded reads of personal data, newest first.' })
export class PersonalDataReadConnectionType {
  @Field(() => [PersonalDataReadEdgeType])
  edges!: PersonalDataReadEdgeType[];

  @Field(() => PageInfoType)
  pageInfo!: PageInfoType;
}

const MAX_PAGE = 100;

const asRead = (record: ReadRecord): PersonalDataReadType =>
  Object.assign(new PersonalDataReadType(), {
    id: record.id,
    readAt: record.readAt,
    actor: Object.assign(new ActorType(), { id: record.actorId, role: record.actorRole }),
    kind: record.kind,
    objectId: record.objectId,
    subjectUserId: record.subjectUserId,
    via: record.via,
    requestId: record.requestId,
    correlationId: record.correlationId,
  });

const toFilter = (input: PersonalDataReadFilterInput | undefined | null): ReadFilter => {
  if (!input) return {};
  for (const field of ['from', 'to'] as const) {
    if (input[field] && Number.isNaN(input[field].getTime())) {
      throw new DomainError('VALIDATION_FAILED', `filter.${field} must be an ISO-8601 date-time.`, { field: `filter.${field}` });
    }
  }
  return {
    ...(input.subjectUserId ? { subjectUserId: input.subjectUserId } : {}),
    ...(input.actorId ? { actorId: input.actorId } : {}),
    ...(input.from ? { from: input.from.toISOString() } : {}),
    ...(input.to ? { to: input.to.toISOString() } : {}),
  };
};

/** What a look at the read log covered, for its own READ_LOG entry. */
const describeFilter = (filter: ReadFilter): string => {
  const parts = Object.entries(filter).map(([key, value]) => `${key}=${String(value)}`);
  return parts.length ? `personalDataReads?${parts.join('&')}` : 'personalDataReads (all)';
};

/** Who read what: the auditors' view of the staff's reads of personal data. */
@Resolver()
export class ReadAuditResolver {
  // Auditors only: admins, coordinators, analysts and managers are the readers this log watches.
  @Authorized('auditor')
  @Query(() => PersonalDataReadConnectionType, {
    description:
      "Who read what: staff (admin, coordinator, auditor, analyst, manager) reads of a person's record, history or events, and exports, " +
      'newest first, filtered. Participants reading themselves are not recorded. Auditors only; each call is itself recorded (READ_LOG).',
  })
  async personalDataReads(
    @Ctx() context: AuditContext,
    @Arg('filter', () => PersonalDataReadFilterInput, { nullable: true }) filter?: PersonalDataReadFilterInput,
    @Arg('first', () => Int, { defaultValue: 20, description: `At most ${MAX_PAGE}.` }) first = 20,
    @Arg('after', () => String, { nullable: true, description: 'The cursor of the last read of the previous page.' }) after?: string,
  ): Promise<PersonalDataReadConnectionType> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
      throw new DomainError('VALIDATION_FAILED', `first must be between 1 and ${MAX_PAGE}; got ${first}.`, { field: 'first' });
    }
    const readFilter = toFilter(filter);
    const log = context.services.readLog;
    // Reads still in the recorder's buffer belong in the answer: an auditor must not miss the last second.
    await log.flush();
    const page = await log.list(readFilter, { first, ...(after ? { after } : {}) });
    recordRead(context, { kind: 'READ_LOG', objectId: describeFilter(readFilter), subjectUserId: readFilter.subjectUserId ?? null, via: 'Query.personalDataReads' });
    return Object.assign(new PersonalDataReadConnectionType(), {
      edges: page.edges.map((edge) => Object.assign(new PersonalDataReadEdgeType(), { node: asRead(edge.node), cursor: edge.cursor })),
      pageInfo: Object.assign(new PageInfoType(), {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: after !== undefined && after !== null,
        startCursor: page.edges[0]?.cursor ?? null,
        endCursor: page.edges.at(-1)?.cursor ?? null,
      }),
    });
  }
}
