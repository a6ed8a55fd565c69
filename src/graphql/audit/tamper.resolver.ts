import { Arg, Authorized, Ctx, Field, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { DomainError } from '../../domain/shared/decider';
import type { AuditContext } from './services';

@ObjectType('ChainProblem', { description: 'An event altered or removed since it was written.' })
export class ChainProblemType {
  @Field({ description: 'ALTERED, CHAIN_BROKEN, MISSING or HEAD_MISMATCH.' })
  kind!: string;

  @Field()
  streamId!: string;

  @Field(() => Int)
  revision!: number;

  @Field(() => String, { nullable: true })
  eventId!: string | null;

  @Field()
  detail!: string;
}

@ObjectType('EventLogVerification', { description: 'The result of recomputing the hash chains of the event log.' })
export class EventLogVerificationType {
  @Field({ description: 'True when every chain is intact: no event was altered or removed.' })
  intact!: boolean;

  @Field(() => Int)
  streamsChecked!: number;

  @Field(() => Int)
  eventsChecked!: number;

  @Field(() => Int)
  problemCount!: number;

  @Field(() => [ChainProblemType], { description: 'The first problems found (up to 1,000), in stream and revision order.' })
  problems!: ChainProblemType[];
}

@Resolver()
export class TamperEvidenceResolver {
  @Authorized('admin', 'auditor')
  @Query(() => EventLogVerificationType, {
    description:
      'Tamper evidence: recomputes each stream\'s hash chain (every event hashes its content and the previous event\'s hash) and reports ' +
      'any event altered or removed. The whole log, or one stream. Also `npm run events -- verify`.',
  })
  async verifyEventLog(@Ctx() context: AuditContext, @Arg('streamId', () => String, { nullable: true }) streamId?: string) {
    const log = context.services.eventLog;
    if (!log?.verify) {
      throw new DomainError('RULE_VIOLATED', 'This server keeps its events in KurrentDB; hash chains are kept by the PostgreSQL or embedded store only.');
    }
    const report = await log.verify(streamId ? { streamId } : {});
    return Object.assign(new EventLogVerificationType(), report, {
      problems: report.problems.map((problem) => Object.assign(new ChainProblemType(), problem)),
    });
  }
}
