import type { LifecycleCommands } from '../../application/lifecycleCommands';
import type { Pseudonyms } from '../../audit/pseudonyms';
import type { GlobalPosition } from '../../eventstore/eventStore';
import type { UserState } from '../../domain';
import type { LifecycleReadModel } from '../../../projections/lifecycle/lifecycle.types';
import type { MatchingReadModel } from '../../../projections/matching/matching.types';
import type { AutoMatchingService } from '../../application/autoMatching';
import type { SqlManagerReportQueries } from '../../../projections/managerReport/managerReport.queries';
import type { OutboxEntry, OutboxFilter } from '../../notifications';
import { DomainError } from '../../domain/shared/decider';
import type { HealthServices } from '../health.type';
import type { InitiativeServices } from '../initiatives/services';
import { requireActor, type GraphQLContext } from '../context';
import type { TokenRole } from '../auth';
import type { ReadAuditServices } from '../readAudit';
import { fieldVisible, PARTICIPANTS, READS_EVERYTHING, visibility } from '../../domain/access/policy';
import { viewerOf } from '../access';

/** What the lifecycle resolvers need from the application (built in the composition root). */
export interface LifecycleServices extends HealthServices, InitiativeServices, ReadAuditServices {
  readonly commands: LifecycleCommands;
  /** The installation's pseudonyms for analysts' reads (null when events live in KurrentDB). */
  readonly pseudonyms: Pseudonyms | null;
  readonly readModel: LifecycleReadModel;
  readonly matching: MatchingReadModel;
  readonly autoMatching: AutoMatchingService;
  readonly managerReports: Pick<SqlManagerReportQueries, 'report' | 'managers'>;
  /** The notification outbox, newest first. */
  outbox(filter: OutboxFilter): Promise<readonly OutboxEntry[]>;
  /** Resolves once the read models include everything appended so far; false on timeout. */
  catchUpProjections(): Promise<boolean>;
  /** Resolves once the read models include `position` (read-your-writes); false on timeout. */
  waitForProjections(position: GlobalPosition): Promise<boolean>;
  /** The user's state folded from their events up to `at` (inclusive), and how many events that was. */
  userAsOf(userId: string, at: Date): Promise<{ readonly state: UserState; readonly eventCount: number }>;
}

export type Context = GraphQLContext<LifecycleServices>;

/** Roles that read every participant's profile and history. */
export const READ_EVERYONE: TokenRole[] = [...READS_EVERYTHING];

/**
 * The users a listing may name for the caller: `all`, or just their own. It narrows the query; the
 * access policy still decides what of each user the caller sees.
 */
export const readableUsers = (context: Context): 'all' | readonly string[] => {
  const actor = requireActor(context);
  if ((READS_EVERYTHING as readonly string[]).includes(actor.role)) return 'all';
  if ((PARTICIPANTS as readonly string[]).includes(actor.role)) return actor.userId ? [actor.userId] : [];
  throw new DomainError(
    'FORBIDDEN',
    `Participants' profiles are read by admins, auditors and analysts, and by mentors and mentees for themselves; your token has role ${actor.role}.`,
  );
};

/**
 * FORBIDDEN unless the policy shows the caller this user's `field` (default: the user at all).
 * Root fields that stand for a field of a user (`userHistory` for `history`) name it, so they
 * answer exactly what the nested path answers.
 */
export const assertCanReadUser = async (context: Context, userId: string, field?: string): Promise<void> => {
  readableUsers(context);
  const seen = visibility(await viewerOf(context), 'user', { userId });
  if (!seen.visible || (field !== undefined && !fieldVisible(seen, field))) {
    throw new DomainError('FORBIDDEN', 'Mentors and mentees can read only their own profile and history, and their partner\'s name.', { userId });
  }
};
