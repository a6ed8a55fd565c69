import type { SqlEventLog } from '../../audit/eventLog';
import type { ReadAuditLog } from '../../audit/readAudit';
import type { GraphQLContext } from '../context';
import type { LifecycleServices } from '../lifecycle/services';

/** What the audit resolvers need besides the lifecycle services (built in the composition root). */
export interface AuditServices {
  /** The SQL event log; null when events live in KurrentDB (the log browser reads the SQL store only). */
  readonly eventLog: SqlEventLog | null;
  /** Who read what (in the read-model database, so with KurrentDB too). */
  readonly readLog: ReadAuditLog;
}

export type AuditContext = GraphQLContext<LifecycleServices & AuditServices>;
