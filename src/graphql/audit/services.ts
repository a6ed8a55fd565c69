import type { SqlEventLog } from '../../audit/eventLog';
import type { GraphQLContext } from '../context';
import type { LifecycleServices } from '../lifecycle/services';

/** What the audit resolvers need besides the lifecycle services (built in the composition root). */
export interface AuditServices {
  /** The SQL event log; null when events live in KurrentDB (the log browser reads the SQL store only). */
  readonly eventLog: SqlEventLog | null;
}

export type AuditContext = GraphQLContext<LifecycleServices & AuditServices>;
