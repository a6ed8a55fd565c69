import type { ReadAuditServices } from '../readAudit';
import type { InitiativeCommands } from '../../application/initiativeCommands';
import type { GlobalPosition } from '../../eventstore/eventStore';
import type { InitiativeReadModel } from '../../../projections/registrations/registrations.queries';
import type { GraphQLContext } from '../context';

/** What the initiatives resolvers need from the application (built in the composition root). */
export interface InitiativeServices {
  readonly initiatives: InitiativeCommands;
  readonly initiativeReadModel: InitiativeReadModel;
  /** Resolves once the read models include `position` (read-your-writes); false on timeout. */
  waitForProjections(position: GlobalPosition): Promise<boolean>;
}

export type InitiativeContext = GraphQLContext<InitiativeServices & ReadAuditServices>;
