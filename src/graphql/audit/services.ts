import type { EventLogReader } from '../../audit/eventLog';
import type { ReadAuditLog } from '../../audit/readAudit';
import type { GraphQLContext } from '../context';
import type { LifecycleServices } from '../lifecycle/services';

/** What the audit resolvers need besides the lifecycle services (built in the composition root). */
export interface AuditServices {
  /**
   * The event log as auditors read it: the SQL store's tables, or with KurrentDB the index a projection
   * keeps (`IndexedEventLog`). Null only where a composition has no log to browse (tests).
   */
  readonly eventLog: EventLogReader | null;
  /** Who read what (in the read-model database, so with KurrentDB too). */
  readonly readLog: ReadAuditLog;
}

export type AuditContext = GraphQLContext<LifecycleServices & AuditServices>;
