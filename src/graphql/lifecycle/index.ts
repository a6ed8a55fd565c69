import { MatchPayloadResolver, MatchResolver } from './match.resolver';
import { PersonaPayloadResolver, PersonaResolver } from './persona.resolver';
import { ProgramPayloadResolver, ProgramResolver } from './program.resolver';
import { UserPayloadResolver, UserResolver } from './user.resolver';
import { ProfileResolver } from './profile.resolver';
import { MatchingResolver } from '../matching/matching.resolver';
import { ManagerReportResolver } from '../reports/managerReport.resolver';
import {
  AutoMatchingResolver,
  MatchExplanationResolver,
  ProgramAutoMatchingResolver,
  UserProfileResolver,
} from '../autoMatching/autoMatching.resolver';
import { MatchingQueriesResolver, ProgramTemplatesResolver } from '../matching/matchingQueries.resolver';

export const lifecycleResolvers = [
  ProgramResolver,
  ProgramPayloadResolver,
  UserResolver,
  UserPayloadResolver,
  ProfileResolver,
  PersonaResolver,
  PersonaPayloadResolver,
  MatchResolver,
  MatchPayloadResolver,
  MatchingResolver,
  MatchingQueriesResolver,
  ProgramTemplatesResolver,
  AutoMatchingResolver,
  ProgramAutoMatchingResolver,
  MatchExplanationResolver,
  UserProfileResolver,
  ManagerReportResolver,
] as const;

export type { LifecycleServices } from './services';
