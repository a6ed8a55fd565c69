import { Field, ObjectType } from 'type-graphql';

/** What the services report about themselves; `HealthResolver` and the HTTP `/health` route show it. */
export interface HealthReport {
  /** `ok` when every dependency answered; anything else means a dependency is struggling. */
  readonly status: string;
  /** Name of the event-store adapter in use. */
  readonly eventStore: string;
  readonly projectionsLag?: readonly ProjectionLagReport[];
}

export interface ProjectionLagReport {
  readonly projection: string;
  /** Last global position the projection has processed (`major.minor`), `null` before its first event. */
  readonly checkpoint: string | null;
  readonly caughtUp: boolean;
}

/** The services `HealthResolver` needs; the application's services object provides it. */
export interface HealthServices {
  health(): Promise<HealthReport>;
}

@ObjectType('ProjectionLag', { description: 'How far one read model is behind the event log.' })
export class ProjectionLagType implements ProjectionLagReport {
  @Field({ description: 'Name of the projection.' })
  projection!: string;

  @Field(() => String, { nullable: true, description: 'Last global position processed (`major.minor`); null before the first event.' })
  checkpoint!: string | null;

  @Field({ description: 'Whether the projection has processed every event currently in the log.' })
  caughtUp!: boolean;
}

@ObjectType('Health', { description: 'Whether the service and its dependencies are up. Readable without a token.' })
export class HealthType implements HealthReport {
  @Field({ description: '"ok" when every dependency answered.' })
  status!: string;

  @Field({ description: 'Name of the event-store adapter in use (e.g. postgres, pglite, kurrentdb).' })
  eventStore!: string;

  @Field(() => [ProjectionLagType], { nullable: true, description: 'Each projection\'s progress, when the services report it.' })
  projectionsLag?: ProjectionLagType[];
}
