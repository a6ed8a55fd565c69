import { AUDIT_INDEX_MIGRATIONS } from './audit/eventLog';
import { PSEUDONYM_KEY_MIGRATIONS } from './audit/pseudonyms';
import { READ_AUDIT_MIGRATIONS } from './audit/readAudit';
import { REVOCATION_MIGRATIONS } from './auth/revocations';
import { EVENT_STORE_MIGRATIONS } from './eventstore/sqlEventStore';
import { SETTINGS_MIGRATIONS } from './identity/emailStreams';
import { projectionMigrations, type Projection } from './projectionEngine/projection';
import { CHECKPOINT_MIGRATIONS } from './projectionEngine/runner';
import type { MigrationSet } from './sql/migrations';

/**
 * Every migration list the server applies to its SQL database, by component. Each list lives beside
 * the code that owns its tables (add a migration at the end of the list there); this only says which
 * lists a deployment has, for readiness and `mentoring-events migrate`.
 */
export const serverMigrationSets = (options: {
  /** The event log is in this database (the SQL event store), not in KurrentDB. */
  readonly logInDatabase: boolean;
  /** The read models the server runs. */
  readonly projections: readonly Projection[];
}): readonly MigrationSet[] => [
  ...(options.logInDatabase ? [EVENT_STORE_MIGRATIONS] : []),
  SETTINGS_MIGRATIONS,
  PSEUDONYM_KEY_MIGRATIONS,
  READ_AUDIT_MIGRATIONS,
  REVOCATION_MIGRATIONS,
  CHECKPOINT_MIGRATIONS,
  ...options.projections.map(projectionMigrations),
  // Built in the background on PostgreSQL: pending for a while after a first start on a long log.
  ...(options.logInDatabase ? [AUDIT_INDEX_MIGRATIONS] : []),
];

/** The component whose migrations may still be pending once the server listens (see `migrateAuditIndexes`). */
export const BACKGROUND_COMPONENT = AUDIT_INDEX_MIGRATIONS.component;
