import { MatchPayloadResolver, MatchResolver } from './match.resolver';
import { PersonaPayloadResolver, PersonaResolver } from './persona.resolver';
import { ProgramPayloadResolver, ProgramResolver } from './program.resolver';
import { UserPayloadResolver, UserResolver } from './user.resolver';

export const lifecycleResolvers = [
  ProgramResolver,
  ProgramPayloadResolver,
  UserResolver,
  UserPayloadResolver,
  PersonaResolver,
  PersonaPayloadResolver,
  MatchResolver,
  MatchPayloadResolver,
] as const;

export type { LifecycleServices } from './services';
