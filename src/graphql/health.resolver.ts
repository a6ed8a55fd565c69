import { Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from './context';
import { HealthType, type HealthReport, type HealthServices } from './health.type';

/** Public on purpose: load balancers and people checking a deployment have no token. */
@Resolver()
export class HealthResolver {
  @Query(() => HealthType, { description: 'Whether the service and its dependencies are up. Needs no token.' })
  async health(@Ctx() context: GraphQLContext<HealthServices>): Promise<HealthReport> {
    return context.services.health();
  }
}
